// A company tenant: an app management policy that caps or forbids client secrets, a caller who may not
// read that policy, applications that describe and lock themselves, and a Spot API that stumbles.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type RequestRecord, type TenantAppManagementPolicy, withEmulator } from '../emulator/server.ts';
import { type CliRun, cliEnv, linkedWorkdir, runCli, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

const DAY_MS = 86_400_000;
const TOOL_TAG = 'spot-azure-onboard';
const TOOL_SECRET_NAME = 'spot-azure-onboard';
const POLICY_NAME = 'Default app management tenant policy';

/** passwordLifetime at most P180D, for every app created since 2020: a new app falls under it, and so does one made before the policy was turned on. */
const SECRETS_UP_TO_180_DAYS: TenantAppManagementPolicy = {
  isEnabled: true,
  applicationRestrictions: {
    passwordCredentials: [
      { restrictionType: 'passwordLifetime', state: 'enabled', maxLifetime: 'P180D', restrictForAppsCreatedAfterDateTime: '2020-01-01T00:00:00Z' },
    ],
  },
};

const NO_SECRETS: TenantAppManagementPolicy = {
  isEnabled: true,
  applicationRestrictions: { passwordCredentials: [{ restrictionType: 'passwordAddition', state: 'enabled' }] },
};

/** Runs a script to its exit (bounded by runCli). */
function cli(e: Emulator, script: string, args: string[], cwd: string): Promise<CliRun> {
  return runCli(script, args, { env: cliEnv(e), cwd });
}

const provision = (e: Emulator, cwd: string, args: string[] = []) => cli(e, 'provision.ts', args, cwd);
const rotate = (e: Emulator, cwd: string, args: string[] = []) => cli(e, 'rotate-secret.ts', args, cwd);
const account = (e: Emulator) => e.env.SPOTINST_ACCOUNT!;
const onboarded = (e: Emulator, label: string) => assertOnboarded(e, account(e), e.env.AZURE_SUBSCRIPTION_ID!, label);
const theApp = (e: Emulator) => e.store.applications.find((a) => a.uniqueName === `spot-azure-onboard-${account(e)}`)!;
const toolSecret = (e: Emulator) => theApp(e).passwordCredentials.find((p) => p.displayName === TOOL_SECRET_NAME)!;
const credentialPosts = (e: Emulator): RequestRecord[] =>
  e.requests.filter((r) => r.api === 'spot' && r.method === 'POST' && /^\/azure\/setup\/credentials(\?|$)/.test(r.path));
const lines = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line));
const output = (run: CliRun) => `--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`;

/** `end` lies more than 170 days and at most 180 days after the run: `before` and `after` bracket it. */
function assertWithin180Days(end: string, before: number, after: number, label: string): void {
  const at = Date.parse(end);
  assert.ok(at <= after + 180 * DAY_MS, `${label}: ${end} is more than 180 days away`);
  assert.ok(at > before + 170 * DAY_MS, `${label}: ${end} is 170 days away or less`);
}

test('under a tenant policy capping secrets at P180D, a default run fits the secret under it and says so', async () => {
  await withEmulator({ appManagementPolicy: SECRETS_UP_TO_180_DAYS }, async (e) => {
    const before = Date.now();
    const run = await provision(e, workdir(), ['--yes']);
    const after = Date.now();
    assert.is(run.code, 0, output(run));
    onboarded(e, 'P180D policy');
    const secret = toolSecret(e);
    assertWithin180Days(secret.endDateTime, before, after, 'the secret on the application');
    const linked = e.store.spot.credentials.get(account(e))!;
    assertWithin180Days(linked.expirationDate, before, after, "Spot's expirationDate");
    assert.is(linked.expirationDate, secret.endDateTime, 'Spot is told the end date the secret has');

    const summary = run.stdout.slice(run.stdout.indexOf('Done:'));
    assert.ok(summary.startsWith('Done:'), `no summary:\n${run.stdout}`);
    assert.match(summary, `secret expires ${secret.endDateTime.slice(0, 10)}`);
    assert.match(summary, "(180 days, the longest the tenant's app management policy allows (maxLifetime P180D))");
  });
});

test('under a P180D policy, an explicit --secret-expiry 12 stops before any change and names the limit and the ways out', async () => {
  await withEmulator({ appManagementPolicy: SECRETS_UP_TO_180_DAYS }, async (e) => {
    const run = await provision(e, workdir(), ['--secret-expiry', '12']);
    // OnboardError 'invalid-input': exit 1 (2 is kept for options that do not parse).
    assert.is(run.code, 1, output(run));
    assert.match(
      run.stderr,
      `Error: --secret-expiry 12 months is longer than the tenant's app management policy ("${POLICY_NAME}") allows: at most P180D (180 days). ` +
        'Run again with a shorter --secret-expiry (at most 5 months), or leave it out to get the longest the policy allows; ' +
        'an administrator can also exempt this application through an app management policy assigned to it.',
    );
    assert.equal(e.mutating(), [], 'a changing request was sent');
    assert.is(e.store.applications.length, 0);
  });
});

test('a tenant policy forbidding client secrets stops the run before any change and points to an exemption', async () => {
  await withEmulator({ appManagementPolicy: NO_SECRETS }, async (e) => {
    const run = await provision(e, workdir());
    assert.is(run.code, 1, output(run));
    assert.match(
      run.stderr,
      `Error: The tenant's app management policy ("${POLICY_NAME}") forbids client secrets on new applications (passwordAddition restriction), and Spot signs in with one. ` +
        'Ask an administrator for an exemption for this application: an app management policy assigned to it that allows password credentials ' +
        '(Graph: appManagementPolicies, then assign it to the application), then run again.',
    );
    assert.equal(e.mutating(), [], 'a changing request was sent');
    assert.is(e.store.applications.length, 0);
  });
});

test('a caller who may not read the policy (no Policy.Read.All) is onboarded as before, told so in one line', async () => {
  await withEmulator({ policyReadAllowed: false }, async (e) => {
    const run = await provision(e, workdir());
    assert.is(run.code, 0, output(run));
    onboarded(e, 'without Policy.Read.All');
    const told = lines(run.stdout, /app management policy/);
    assert.is(told.length, 1, `lines about the policy:\n${run.stdout}`);
    assert.match(told[0]!, /ℹ could not read the tenant's app management policy \(it needs Policy\.Read\.All\); going on without it$/);
    assert.not.match(run.stderr, 'app management policy');
    const policyReads = e.requests.filter((r) => r.api === 'graph' && /\/policies\/defaultAppManagementPolicy/i.test(r.path));
    assert.equal(
      policyReads.map((r) => r.status),
      [403],
      'the policy is read once',
    );
  });
});

test('the application describes itself, carries the tool tags and the property lock, and an older app is brought up to that', async () => {
  await withEmulator({}, async (e) => {
    const cwd = workdir();
    const id = account(e);
    const first = await provision(e, cwd);
    assert.is(first.code, 0, output(first));
    const assertShaped = (label: string) => {
      const app = theApp(e);
      assert.ok(app.notes, `${label}: no notes`);
      assert.match(app.notes!, id, `${label}: notes name the Spot account`);
      assert.match(app.notes!, 'spot-azure-onboard', `${label}: notes name the tool`);
      assert.match(app.notes!, `scripts/deprovision.ts --account-id ${id}`, `${label}: notes say how to remove it`);
      assert.ok(app.tags.includes(TOOL_TAG), `${label}: tags ${app.tags}`);
      assert.ok(app.tags.includes(id), `${label}: tags ${app.tags}`);
      assert.is(app.servicePrincipalLockConfiguration?.isEnabled, true, `${label}: lock enabled`);
      assert.is(app.servicePrincipalLockConfiguration?.allProperties, true, `${label}: lock on all properties`);
    };
    assertShaped('fresh run');

    // What an older version left: the same app, with none of it.
    const app = theApp(e);
    app.notes = null;
    app.tags = [];
    app.servicePrincipalLockConfiguration = null;

    e.resetCounters();
    const dryRun = await provision(e, cwd, ['--dry-run']);
    assert.is(dryRun.code, 0, output(dryRun));
    assert.match(dryRun.stdout, /^\s+will update\s+app: application .* set notes, tags, servicePrincipalLockConfiguration$/m);
    assert.equal(e.mutating(), [], 'the dry run changed something');
    assert.is(app.notes, null, 'the dry run set the notes');

    e.resetCounters();
    const upgrade = await provision(e, cwd);
    assert.is(upgrade.code, 0, output(upgrade));
    assertShaped('after the re-run');
    onboarded(e, 'after the re-run');
    assert.equal(
      e.mutating().map((r) => `${r.api} ${r.method} ${r.path}`),
      [`graph PATCH /v1.0/applications/${app.id}`],
      'the re-run sends one update and nothing else',
    );

    e.resetCounters();
    const settled = await provision(e, cwd);
    assert.is(settled.code, 0, output(settled));
    assert.equal(e.mutating(), [], 'a re-run with nothing to change changed something');
  });
});

test('Spot answering 500 once on the credentials call: the same request is sent again and the run succeeds', async () => {
  await withEmulator({}, async (e) => {
    e.faults.add({ api: 'spot', method: 'POST', path: /^\/azure\/setup\/credentials\?/, status: 500, times: 1 });
    const run = await provision(e, workdir());
    assert.is(run.code, 0, output(run));
    onboarded(e, 'after a Spot 500');
    assert.equal(
      credentialPosts(e).map((r) => r.status),
      [500, 200],
      'credentials posts',
    );
  });
});

test('Spot refusing the credentials with AuthorizationFailed until the role takes effect is waited out, visibly', async () => {
  const refusals = 3;
  await withEmulator({ lag: { spotRbacRefusals: refusals } }, async (e) => {
    const run = await provision(e, workdir());
    assert.is(run.code, 0, output(run));
    onboarded(e, 'after RBAC lag');
    const retries = lines(run.stdout, /↻ retrying link \(\d+\/\d+\): waiting for Azure RBAC to apply the new role assignment$/);
    assert.is(retries.length, refusals, `retry lines:\n${run.stdout}`);
    assert.equal(
      credentialPosts(e).map((r) => r.status),
      [...Array<number>(refusals).fill(400), 200],
      'credentials posts',
    );
  });
});

test('rotate-secret under a P180D policy turned on after provisioning fits the new secret, and an explicit 12 months stops before adding one', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    const original = toolSecret(e);
    e.store.appManagementPolicy = structuredClone(SECRETS_UP_TO_180_DAYS);
    const state = () => JSON.parse(readFileSync(join(cwd, '.spot-azure-onboard', `${account(e)}.json`), 'utf8'));

    e.resetCounters();
    const refused = await rotate(e, cwd, ['--secret-expiry', '12']);
    assert.is(refused.code, 1, output(refused));
    assert.match(
      refused.stderr,
      `--secret-expiry 12 months is longer than the tenant's app management policy ("${POLICY_NAME}") allows: at most P180D (180 days).`,
    );
    assert.match(refused.stderr, 'Run again with a shorter --secret-expiry (at most 5 months)');
    assert.equal(e.mutating(), [], 'a changing request was sent');
    assert.equal(
      theApp(e).passwordCredentials.map((p) => p.keyId),
      [original.keyId],
    );
    assert.is(state().rotation, undefined, 'the refused rotation left a rotation record');

    const before = Date.now();
    const rotated = await rotate(e, cwd);
    const after = Date.now();
    assert.is(rotated.code, 0, output(rotated));
    onboarded(e, 'after rotation');
    const current = toolSecret(e);
    assert.is.not(current.keyId, original.keyId, 'the secret was not replaced');
    assertWithin180Days(current.endDateTime, before, after, 'the new secret');
    assert.is(e.store.spot.credentials.get(account(e))!.expirationDate, current.endDateTime);
  });
});

test.run();
