// `npm test`: prepare the emulator's certificate, then run every test file in one uvu process that
// trusts it, and close with the "N passed, N failed" line CI counts. No test run is a failure.
import { spawn } from 'node:child_process';
import { certEnv } from './cert-env.mjs';

const env = certEnv();
const pattern = process.argv[2] ?? '\\.test\\.ts$';
const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', pattern, '--no-color'], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const count = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  const failed = total - passed - count('Skipped');
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  if (total === 0) process.stderr.write('No test ran: check the file pattern.\n');
  process.exit(code !== 0 || failed > 0 || total === 0 ? 1 : 0);
});
