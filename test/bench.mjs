// `npm run bench`: the benchmark in test/bench.ts, in a process that trusts the emulator's certificate.
import { spawnSync } from 'node:child_process';
import { certEnv } from './cert-env.mjs';

const run = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench.ts', ...process.argv.slice(2)], { env: certEnv(), stdio: 'inherit' });
process.exit(run.status ?? 1);
