import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { cliEnv, runCli, workdir } from './cli.ts';
import { assertOnboarded, PROVISION_JSON_FIELDS } from './onboarded.ts';

const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator();
});
test.after(() => emulator.close());

function provision(cwd: string, args: string[] = [], extra: Record<string, string | undefined> = {}) {
  return runCli('provision.ts', args, { env: cliEnv(emulator, extra), cwd });
}

/** Everything the tool made, read from the emulator (the caller's own role assignment excluded). */
function made() {
  const { store } = emulator;
  const principalIds = new Set(store.servicePrincipals.map((sp) => sp.id));
  return {
    apps: store.applications,
    sps: store.servicePrincipals,
    assignments: store.roleAssignments.filter((a) => principalIds.has(a.principalId)),
    credentials: store.spot.credentials.get(emulator.env.SPOTINST_ACCOUNT!),
  };
}

function allSecrets(): string[] {
  return emulator.store.applications.flatMap((a) => a.passwordCredentials.map((p) => p.secretText));
}

test('a fresh run makes exactly one of everything and links Spot to it', async () => {
  const cwd = workdir();
  const run = await provision(cwd, ['--verbose']);
  assert.is(run.code, 0, run.stderr);
  const { apps, sps, assignments, credentials } = made();
  assert.is(apps.length, 1);
  const app = apps[0]!;
  assert.is(app.uniqueName, `spot-azure-onboard-${emulator.env.SPOTINST_ACCOUNT}`);
  assert.is(sps.length, 1);
  assert.is(sps[0]!.appId, app.appId);
  assert.is(app.passwordCredentials.length, 1);
  const password = app.passwordCredentials[0]!;
  assert.is(password.displayName, 'spot-azure-onboard');
  const months = (Date.parse(password.endDateTime) - Date.now()) / (30.44 * 86_400_000);
  assert.ok(months > 11.5 && months < 12.5, `secret lifetime ${months} months`);
  assert.is(assignments.length, 1);
  const assignment = assignments[0]!;
  assert.ok(assignment.roleDefinitionId.endsWith(CONTRIBUTOR));
  assert.is(assignment.scope, `/subscriptions/${emulator.env.AZURE_SUBSCRIPTION_ID}`);
  assert.is(assignment.principalType, 'ServicePrincipal');
  assert.is(assignment.principalId, sps[0]!.id);
  assert.ok(credentials);
  assert.is(credentials!.clientId, app.appId);
  assert.is(credentials!.tenantId, emulator.store.tenant.id);
  assert.is(credentials!.subscriptionId, emulator.env.AZURE_SUBSCRIPTION_ID);
  assert.is(credentials!.clientSecret, password.secretText);
  assert.is(credentials!.expirationDate, password.endDateTime);

  assert.match(run.stdout, `appId ${app.appId}`);
  assert.match(run.stdout, 'secret expires');
  for (const secret of [password.secretText, emulator.env.SPOTINST_TOKEN!, emulator.env.AZURE_CLIENT_SECRET!]) {
    assert.not.ok(run.stdout.includes(secret) || run.stderr.includes(secret), 'a secret was printed');
  }

  const dir = join(cwd, '.spot-azure-onboard');
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    assert.is(statSync(path).mode & 0o777, 0o600, `${file} mode`);
    assert.not.ok(readFileSync(path, 'utf8').includes(password.secretText), `${file} holds the secret`);
  }
  const state = JSON.parse(readFileSync(join(dir, `${emulator.env.SPOTINST_ACCOUNT}.json`), 'utf8'));
  assert.is(state.version, 1);
  assert.is(state.secret, undefined);
  assert.equal(Object.keys(state.steps), ['tenant', 'subscription', 'app', 'service-principal', 'secret', 'role', 'link']);

  emulator.resetCounters();
  const again = await provision(cwd);
  assert.is(again.code, 0, again.stderr);
  assert.equal(emulator.mutating(), [], 'the second run changed something');
  assert.is(made().apps[0]!.passwordCredentials.length, 1);
  assert.match(again.stdout, 'already done');
});

test('--json prints one object with the documented fields and no secret', async () => {
  const run = await provision(workdir(), ['--json']);
  assert.is(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  const app = emulator.store.applications[0]!;
  assert.equal(Object.keys(result).sort(), PROVISION_JSON_FIELDS);
  assert.is(result.appId, app.appId);
  assert.is(result.applicationObjectId, app.id);
  assert.is(result.servicePrincipalId, emulator.store.servicePrincipals[0]!.id);
  assert.ok(result.roleAssignmentId.startsWith(`/subscriptions/${emulator.env.AZURE_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleAssignments/`));
  for (const secret of allSecrets()) assert.not.ok(run.stdout.includes(secret) || run.stderr.includes(secret));
});

test('a .env in the working directory supplies the Spot token and the Azure sign-in', async () => {
  const cwd = workdir();
  const names = ['SPOTINST_TOKEN', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID'] as const;
  writeFileSync(join(cwd, '.env'), names.map((n) => `${n}=${emulator.env[n]}`).join('\n'), { mode: 0o600 });
  const unset = Object.fromEntries(names.map((n) => [n, undefined]));
  // An API that echoes the client secret from .env in its error: the message shows *** instead.
  emulator.faults.add({
    api: 'arm',
    method: 'GET',
    status: 400,
    body: { error: { code: 'BadRequest', message: `client secret ${emulator.env.AZURE_CLIENT_SECRET} rejected` } },
  });
  const echoed = await provision(cwd, ['--verbose'], unset);
  assert.is(echoed.code, 1);
  assert.match(echoed.stderr, 'client secret *** rejected');
  assert.not.ok(echoed.stderr.includes(emulator.env.AZURE_CLIENT_SECRET!), 'the secret from .env was printed');
  const run = await provision(cwd, ['--json'], unset);
  assert.is(run.code, 0, run.stderr);
  assert.is(JSON.parse(run.stdout).tenantId, emulator.store.tenant.id);
  assert.not.match(run.stderr, 'readable by every user');
  for (const secret of [emulator.env.SPOTINST_TOKEN!, emulator.env.AZURE_CLIENT_SECRET!]) {
    assert.not.ok(run.stdout.includes(secret) || run.stderr.includes(secret), 'a secret from .env was printed');
  }
});

test('with the state file gone, a re-run finds everything again and leaves one secret of its own', async () => {
  const cwd = workdir();
  const account = emulator.env.SPOTINST_ACCOUNT!;
  assert.is((await provision(cwd)).code, 0);
  const app = emulator.store.applications.find((a) => a.uniqueName === `spot-azure-onboard-${account}`)!;
  app.passwordCredentials.push({
    ...app.passwordCredentials[0]!,
    keyId: crypto.randomUUID(),
    displayName: 'added by hand',
    secretText: 'a-hand-made-secret-1234',
  });
  rmSync(join(cwd, '.spot-azure-onboard'), { recursive: true });
  const again = await provision(cwd);
  assert.is(again.code, 0, again.stderr);
  assertOnboarded(emulator, account, emulator.env.AZURE_SUBSCRIPTION_ID!, 'state removed');
  assert.ok(
    app.passwordCredentials.some((p) => p.displayName === 'added by hand'),
    'a secret the tool did not add was removed',
  );
});

test('an application the state records but someone deleted stops the re-run before any change, instead of making a second one', async () => {
  const cwd = workdir();
  const account = emulator.env.SPOTINST_ACCOUNT!;
  assert.is((await provision(cwd)).code, 0);
  const { applications } = emulator.store;
  applications.splice(
    applications.findIndex((a) => a.uniqueName === `spot-azure-onboard-${account}`),
    1,
  );
  emulator.resetCounters();
  const again = await provision(cwd);
  assert.is(again.code, 1, again.stderr);
  assert.match(again.stderr, 'no longer exists: it was deleted outside this tool');
  assert.match(again.stderr, 'Run deprovision.ts');
  assert.equal(emulator.mutating(), []);
  assert.not.ok(
    applications.some((a) => a.uniqueName === `spot-azure-onboard-${account}`),
    'a second application was made',
  );
});

test.run();
