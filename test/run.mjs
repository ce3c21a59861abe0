// `npm test`: prepare the emulator's certificate, then run the test files in uvu processes that trust
// it, one per core (most tests wait on a CLI they spawned, so two processes keep two cores busy), and
// close with the "N passed, N failed" line CI counts. No test run is a failure.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { certEnv } from './cert-env.mjs';

const env = certEnv();
const pattern = new RegExp(process.argv[2] ?? '\\.test\\.ts$');
const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((file) => pattern.test(file))
  .sort();
const shardCount = Math.max(1, Math.min(files.length, availableParallelism()));
// Files dealt out in turn; each process prints its output when it ends, so files never interleave.
const shards = Array.from({ length: shardCount }, (_, i) => files.filter((_, n) => n % shardCount === i));
const literally = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function runShard(shard) {
  const only = `^(${shard.map(literally).join('|')})$`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', only, '--no-color'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

const results = files.length === 0 ? [] : await Promise.all(shards.map(runShard));
const count = (output, label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
let total = 0;
let passed = 0;
let skipped = 0;
for (const { output } of results) {
  process.stdout.write(output);
  total += count(output, 'Total');
  passed += count(output, 'Passed');
  skipped += count(output, 'Skipped');
}
const failed = total - passed - skipped;
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
if (total === 0) process.stderr.write('No test ran: check the file pattern.\n');
process.exit(results.some((r) => r.code !== 0) || failed > 0 || total === 0 ? 1 : 0);
