// Generates the emulator's certificate if needed and returns the environment that trusts it.
// NODE_EXTRA_CA_CERTS is read once at start-up, so it must be set on the process that runs the tests
// or the benchmark, and on every CLI they spawn.
import { spawnSync } from 'node:child_process';

export function certEnv() {
  const cert = spawnSync(process.execPath, ['--import', 'tsx', 'test/emulator/cert.ts'], { encoding: 'utf8' });
  if (cert.status !== 0) {
    process.stderr.write(`Could not prepare the test certificate (is openssl installed?):\n${cert.stderr}`);
    process.exit(1);
  }
  return { ...process.env, NODE_EXTRA_CA_CERTS: cert.stdout.trim() };
}
