import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMANDS } from '../../lib/commands/index.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { cliEnv, runCli, runProgram, workdir } from './cli.ts';
import { assertOnboarded, PROVISION_JSON_FIELDS } from './onboarded.ts';
import { installedBin, installOffline, type Packed, pack, plainEnv } from './package.ts';

// The tarball `npm pack` makes, installed offline into an empty prefix, run as a user would run it.

let emulator: Emulator;
let packed: Packed;
let prefix: string;
test.before(async () => {
  emulator = await startEmulator();
  packed = await pack();
  prefix = await installOffline(packed.tarball);
});
test.after(() => emulator.close());

const installed = (args: string[], cwd = workdir()) => runProgram(installedBin(prefix), args, { env: plainEnv(cliEnv(emulator)), cwd });

test('the tarball holds the bundle, its licenses, the README and the license, and installs nothing else', () => {
  assert.ok(packed.files.includes('dist/spot-azure-onboard.js'));
  assert.ok(packed.files.includes('dist/THIRD-PARTY-LICENSES.txt'));
  for (const file of packed.files) assert.ok(/^(dist\/.+\.(js|txt)|package\.json|README\.md|LICENSE)$/.test(file), `${file} is in the tarball`);
  const manifest = JSON.parse(readFileSync(join(prefix, 'node_modules', 'spot-azure-onboard', 'package.json'), 'utf8'));
  assert.is(manifest.dependencies, undefined, 'a runtime dependency would be fetched');
  assert.equal(readdirSync(join(prefix, 'node_modules')).sort(), ['.bin', '.package-lock.json', 'spot-azure-onboard']);
});

test('every script in scripts/ is a subcommand of the packaged CLI, and no command lacks its script', () => {
  const scripts = readdirSync(new URL('../../scripts/', import.meta.url)).map((file) => file.replace(/\.ts$/, ''));
  assert.equal(COMMANDS.map((command) => command.name).sort(), scripts.sort());
});

test('--version prints the package version; --help lists every command', async () => {
  const version = await installed(['--version']);
  assert.is(version.code, 0, version.stderr);
  assert.is(version.stdout, `${packageJson.version}\n`);
  const help = await installed(['--help']);
  assert.is(help.code, 0, help.stderr);
  for (const command of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${command.name}\\s+${command.summary.slice(0, 20)}`, 'm'));
  const statusHelp = await installed(['status', '--help']);
  assert.match(statusHelp.stdout, '--account-id');
  const unknown = await installed(['stauts']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, 'Unknown command "stauts" (did you mean status?)');
});

test('a fresh provision --json reaches the promised end state, status finds it healthy, and no secret is shown or kept', async () => {
  const cwd = workdir();
  const run = await installed(['provision', '--json'], cwd);
  assert.is(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(Object.keys(result).sort(), PROVISION_JSON_FIELDS);
  assertOnboarded(emulator, emulator.env.SPOTINST_ACCOUNT!, emulator.env.AZURE_SUBSCRIPTION_ID!);
  assert.is(result.appId, emulator.store.applications[0]!.appId);

  const status = await installed(['status', '--json'], cwd);
  assert.is(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { healthy: boolean; checks: { status: string }[] };
  assert.ok(report.healthy);
  assert.ok(report.checks.every((c) => c.status === 'ok'));

  const secrets = [
    ...emulator.store.applications.flatMap((a) => a.passwordCredentials.map((p) => p.secretText)),
    emulator.env.SPOTINST_TOKEN!,
    emulator.env.AZURE_CLIENT_SECRET!,
  ];
  for (const { stdout, stderr } of [run, status])
    for (const secret of secrets) assert.not.ok(stdout.includes(secret) || stderr.includes(secret), 'a secret was printed');
  const dir = join(cwd, '.spot-azure-onboard');
  for (const file of readdirSync(dir)) {
    assert.is(statSync(join(dir, file)).mode & 0o777, 0o600, `${file} mode`);
    for (const secret of secrets) assert.not.ok(readFileSync(join(dir, file), 'utf8').includes(secret), `${file} holds a secret`);
  }
});

test('--dotenv naming a missing file: both entries say so in one paragraph and exit 2; the old --env-file still loads a file', async () => {
  const cwd = workdir();
  // The account comes from the file only: the real environment would win over it.
  const env = cliEnv(emulator, { SPOTINST_ACCOUNT: undefined });
  const entries = {
    script: (args: string[]) => runCli('status.ts', args, { env, cwd }),
    packaged: (args: string[]) => runProgram(installedBin(prefix), ['status', ...args], { env: plainEnv(env), cwd }),
  };
  writeFileSync(join(cwd, 'other.env'), 'SPOTINST_ACCOUNT=act-0123abcd\n', { mode: 0o600 });
  emulator.resetCounters();
  for (const [entry, run] of Object.entries(entries)) {
    const missing = await run(['--dotenv', join(cwd, 'missing.env')]);
    assert.is(missing.code, 2, `${entry}: ${missing.stderr}`);
    assert.match(missing.stderr, `--dotenv ${join(cwd, 'missing.env')} cannot be read (no such file): name a readable file`, entry);
    const old = await run(['--env-file', join(cwd, 'other.env')]);
    assert.is(old.code, 1, `${entry}: ${old.stderr}`);
    assert.match(old.stderr, 'Nothing is recorded for Spot account act-0123abcd', entry);
  }
  assert.equal(emulator.mutating(), []);
});

test.run();
