import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type Password, startEmulator } from '../emulator/server.ts';
import { cliEnv, linkedWorkdir, runCli, workdir } from './cli.ts';

const DAY_MS = 86_400_000;

let emulator: Emulator;
let cwd: string;
test.before(async () => {
  emulator = await startEmulator();
  cwd = await linkedWorkdir(emulator);
});
test.after(() => emulator.close());

const status = (args: string[] = []) => runCli('status.ts', args, { env: cliEnv(emulator), cwd });

/** The status of each named check, from the --json output. */
async function checks(): Promise<{ code: number | null; by: Record<string, { status: string; detail: string }>; stderr: string }> {
  const run = await status(['--json']);
  const parsed = JSON.parse(run.stdout) as { checks: { check: string; status: string; detail: string }[] };
  return { code: run.code, by: Object.fromEntries(parsed.checks.map((c) => [c.check, c])), stderr: run.stderr };
}

function toolSecret(): Password {
  return emulator.store.applications[0]!.passwordCredentials[0]!;
}

/** Test setup: moves the secret's end date in the emulator, as time passing would. */
async function withSecretEnding(inDays: number, body: () => Promise<void>) {
  const secret = toolSecret();
  const original = secret.endDateTime;
  secret.endDateTime = new Date(Date.now() + inDays * DAY_MS).toISOString();
  try {
    await body();
  } finally {
    secret.endDateTime = original;
  }
}

test('a healthy link prints every check as ok, exits 0 and changes nothing', async () => {
  emulator.resetCounters();
  const run = await status();
  assert.is(run.code, 0, run.stderr);
  for (const name of ['state', 'application', 'secret', 'service principal', 'role assignment', 'spot credentials']) {
    assert.match(run.stdout, new RegExp(`^${name}\\s+ok\\s`, 'm'), `${name} row`);
  }
  assert.match(run.stdout, /^check\s+status\s+detail$/m);
  assert.equal(emulator.mutating(), []);
  const json = await checks();
  assert.is(json.code, 0);
  assert.equal(Object.keys(json.by).sort(), ['application', 'role assignment', 'secret', 'service principal', 'spot credentials', 'state']);
  assert.ok(Object.values(json.by).every((c) => c.status === 'ok'));
});

test('a role assignment removed behind our back is an error, with the command that restores it', async () => {
  const { roleAssignments, servicePrincipals } = emulator.store;
  const index = roleAssignments.findIndex((a) => a.principalId === servicePrincipals[0]!.id);
  const [removed] = roleAssignments.splice(index, 1);
  try {
    const { code, by, stderr } = await checks();
    assert.is(code, 1);
    assert.is(by['role assignment']!.status, 'error');
    assert.match(by['role assignment']!.detail, 'az role assignment create');
    assert.is(by.application!.status, 'ok');
    assert.match(stderr, 'not healthy: role assignment');
  } finally {
    roleAssignments.push(removed!);
  }
});

test("Spot's credentials changed elsewhere are an error naming the field", async () => {
  const saved = emulator.store.spot.credentials.get(emulator.env.SPOTINST_ACCOUNT!)!;
  const original = saved.clientId;
  saved.clientId = '00000000-0000-0000-0000-0000000000aa';
  try {
    const { code, by } = await checks();
    assert.is(code, 1);
    assert.is(by['spot credentials']!.status, 'error');
    assert.match(by['spot credentials']!.detail, 'clientId 00000000-0000-0000-0000-0000000000aa');
    assert.match(by['spot credentials']!.detail, 'rotate-secret.ts');
  } finally {
    saved.clientId = original;
  }
});

test('a secret expiring in 10 days is a warning and still exits 0', async () => {
  await withSecretEnding(10, async () => {
    const { code, by } = await checks();
    assert.is(code, 0);
    assert.is(by.secret!.status, 'warn');
    assert.match(by.secret!.detail, /in (9|10) days/);
  });
});

test('an expired secret is an error', async () => {
  await withSecretEnding(-1, async () => {
    const run = await status();
    assert.is(run.code, 1);
    assert.match(run.stdout, /^secret\s+error\s+client secret .* expired on/m);
  });
});

test('without a state file it says where it looked and exits 1', async () => {
  const run = await runCli('status.ts', [], { env: cliEnv(emulator), cwd: workdir() });
  assert.is(run.code, 1);
  assert.match(run.stderr, 'Nothing is recorded for Spot account');
});

test('an option of another script is refused with exit 2', async () => {
  const run = await status(['--secret-expiry', '3']);
  assert.is(run.code, 2);
  assert.match(run.stderr, 'Unknown option --secret-expiry');
});

test.run();
