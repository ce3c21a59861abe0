import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type RequestRecord, startEmulator } from '../emulator/server.ts';
import { cliEnv, linkedWorkdir, runCli, startCli, whileRunning, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

const TOOL_SECRET = 'spot-azure-onboard';
const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

let emulator: Emulator;
let cwd: string;
test.before(async () => {
  emulator = await startEmulator();
  cwd = await linkedWorkdir(emulator);
});
test.after(() => emulator.close());

const account = () => emulator.env.SPOTINST_ACCOUNT!;
const rotate = (args: string[] = []) => runCli('rotate-secret.ts', args, { env: cliEnv(emulator), cwd });
const app = () => emulator.store.applications[0]!;
const ownSecrets = () => app().passwordCredentials.filter((p) => p.displayName === TOOL_SECRET);
const state = () => JSON.parse(readFileSync(join(cwd, '.spot-azure-onboard', `${account()}.json`), 'utf8'));

/** Spot's credentials sign in: their secret is on the application and not expired. */
function assertSpotHoldsLiveSecret(label: string) {
  const held = emulator.store.spot.credentials.get(account())?.clientSecret;
  const secret = app().passwordCredentials.find((p) => p.secretText === held);
  assert.ok(secret, `${label}: Spot holds a secret the application no longer has`);
  assert.ok(Date.parse(secret!.endDateTime) > Date.now(), `${label}: Spot holds an expired secret`);
}

/** The finished state: one tool secret, Spot holding it, the state describing it and holding no secret value. */
function assertRotatedCleanly(label: string) {
  assertOnboarded(emulator, account(), emulator.env.AZURE_SUBSCRIPTION_ID!, label);
  const s = state();
  assert.is(s.steps.secret.outputs.secretKeyId, ownSecrets()[0]!.keyId, `${label}: state names the live secret`);
  assert.is(s.steps.secret.outputs.secretExpiresAt, ownSecrets()[0]!.endDateTime, `${label}: state has its expiry`);
  assert.is(s.secret, undefined, `${label}: state still holds a secret value`);
  assert.is(s.rotation, undefined, `${label}: rotation record left behind`);
  assert.not.ok(
    Object.keys(s.steps).some((id) => id.startsWith('rotate-')),
    `${label}: rotation steps left behind`,
  );
}

test('rotation links a new secret, removes the old one and leaves a secret added by hand alone', async () => {
  const old = ownSecrets()[0]!;
  app().passwordCredentials.push({
    ...old,
    keyId: '11111111-2222-3333-4444-555555555555',
    displayName: 'added by hand',
    secretText: 'hand-made-secret-value-123',
  });
  const run = await rotate(['--json', '--secret-expiry', '6']);
  assert.is(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  const [current] = ownSecrets();
  assert.is(result.secretKeyId, current!.keyId);
  assert.equal(result.replacedKeyIds, [old.keyId]);
  assert.is(result.resumed, false);
  assert.not.ok(
    app().passwordCredentials.some((p) => p.keyId === old.keyId),
    'the old secret is still there',
  );
  assert.ok(
    app().passwordCredentials.some((p) => p.displayName === 'added by hand'),
    'the hand-made secret was removed',
  );
  const months = (Date.parse(current!.endDateTime) - Date.now()) / (30.44 * 86_400_000);
  assert.ok(months > 5.5 && months < 6.5, `new secret lifetime ${months} months`);
  assert.is(emulator.store.spot.credentials.get(account())!.expirationDate, current!.endDateTime);
  assertRotatedCleanly('after rotation');
  for (const secret of [current!.secretText, old.secretText]) assert.not.ok(run.stdout.includes(secret) || run.stderr.includes(secret), 'a secret was printed');
  const dir = join(cwd, '.spot-azure-onboard');
  for (const file of readdirSync(dir)) assert.not.ok(readFileSync(join(dir, file), 'utf8').includes(current!.secretText), `${file} holds the secret`);
  app().passwordCredentials.splice(
    app().passwordCredentials.findIndex((p) => p.displayName === 'added by hand'),
    1,
  );

  emulator.resetCounters();
  const provisionAgain = await runCli('provision.ts', [], { env: cliEnv(emulator), cwd });
  assert.is(provisionAgain.code, 0, provisionAgain.stderr);
  assert.equal(emulator.mutating(), [], 'provision after a rotation changed something');
});

test('killed at any request of a rotation, Spot keeps a live secret and a re-run ends with exactly one', async () => {
  emulator.resetCounters();
  assert.is((await rotate()).code, 0);
  // Sign-in requests change nothing anywhere, and how many MSAL sends varies, so the points are
  // counted over Graph and Spot requests only: each one, and each change both before it is applied
  // and after (its answer lost).
  const reference: RequestRecord[] = emulator.requests.filter((r) => r.api !== 'identity');
  const describe = (r: RequestRecord) => `${r.api} ${r.method} ${r.path.split('?')[0]}`;
  const points = [
    ...reference.map((r, index) => ({ index, apply: true, label: `#${index + 1} ${describe(r)} applied, answer lost` })),
    ...reference.flatMap((r, index) => (MUTATING.has(r.method) ? [{ index, apply: false, label: `#${index + 1} ${describe(r)} never applied` }] : [])),
  ];
  assert.ok(points.length >= 8, `only ${points.length} points`);

  for (const point of points) {
    let seen = -1;
    const hung = emulator.faults.hang({ apply: point.apply, when: (r) => r.api !== 'identity' && ++seen === point.index });
    const crashed = startCli('rotate-secret.ts', [], { env: cliEnv(emulator), cwd });
    await whileRunning(crashed, hung, `${point.label}: reaching the request`);
    crashed.child.kill('SIGKILL');
    await crashed.done;
    assertSpotHoldsLiveSecret(`${point.label}, killed`);

    const again = await rotate();
    assert.is(again.code, 0, `${point.label}: ${again.stderr}`);
    assertSpotHoldsLiveSecret(`${point.label}, re-run`);
    assertRotatedCleanly(`${point.label}, re-run`);
  }
});

test('rotation without a recorded link says where it looked and exits 1', async () => {
  const run = await runCli('rotate-secret.ts', [], { env: cliEnv(emulator), cwd: workdir() });
  assert.is(run.code, 1);
  assert.match(run.stderr, 'Nothing is recorded for Spot account');
});

test('with a rejected Spot token, rotation stops before adding a secret', async () => {
  emulator.resetCounters();
  const before = ownSecrets().map((p) => p.keyId);
  const run = await runCli('rotate-secret.ts', [], { env: cliEnv(emulator, { SPOTINST_TOKEN: 'expired-token-value-1234' }), cwd });
  assert.is(run.code, 1);
  assert.match(run.stderr, 'The Spot API rejected SPOTINST_TOKEN (401)');
  assert.equal(emulator.mutating(), []);
  assert.equal(
    ownSecrets().map((p) => p.keyId),
    before,
  );
});

test.run();
