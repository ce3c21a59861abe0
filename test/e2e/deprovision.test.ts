import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { cliEnv, runCli, startCli, whileRunning, workdir } from './cli.ts';

let emulator: Emulator;
/** Both accounts' state files live here, as they would in one admin's working directory. */
let cwd: string;
test.before(async () => {
  emulator = await startEmulator({ accounts: 2 });
  cwd = workdir();
});
test.after(() => emulator.close());

/** The two Spot accounts; deprovisioning the first must leave the second's link alone. */
const first = () => emulator.store.spot.accounts[0]!.accountId;
const second = () => emulator.store.spot.accounts[1]!.accountId;
const run = (script: string, cwd: string, args: string[], accountId: string) =>
  runCli(script, args, { env: cliEnv(emulator, { SPOTINST_ACCOUNT: accountId }), cwd });
const stateOf = (cwd: string, accountId: string) => JSON.parse(readFileSync(join(cwd, '.spot-azure-onboard', `${accountId}.json`), 'utf8'));

/** Everything in the emulator that deprovisioning one account must not touch, as comparable text. */
function snapshot(except: { appId?: string; spId?: string; assignmentId?: string } = {}) {
  const { store } = emulator;
  return JSON.stringify({
    apps: store.applications.filter((a) => a.appId !== except.appId),
    sps: store.servicePrincipals.filter((s) => s.id !== except.spId),
    assignments: store.roleAssignments.filter((a) => a.id !== except.assignmentId),
    accounts: store.spot.accounts,
  });
}

test('removes exactly what the state records, leaves everything else, and a re-run is a no-op', async () => {
  const accountA = first();
  const accountB = second();
  for (const accountId of [accountA, accountB]) {
    const provisioned = await run('provision.ts', cwd, [], accountId);
    assert.is(provisioned.code, 0, provisioned.stderr);
  }
  // Made by hand: a secret on the other account's app, and another role assignment on the subscription.
  const { store } = emulator;
  const appB = store.applications.find((a) => a.uniqueName === `spot-azure-onboard-${accountB}`)!;
  appB.passwordCredentials.push({
    ...appB.passwordCredentials[0]!,
    keyId: '11111111-2222-3333-4444-555555555555',
    displayName: 'added by hand',
    secretText: 'hand-made-secret-value-123',
  });
  store.addAssignment({
    scope: `/subscriptions/${emulator.env.AZURE_SUBSCRIPTION_ID}`,
    subscriptionId: emulator.env.AZURE_SUBSCRIPTION_ID!,
    role: 'Reader',
    principalId: '99999999-8888-7777-6666-555555555555',
    now: Date.now(),
  });

  const recorded = stateOf(cwd, accountA).steps;
  const ids = {
    appId: recorded.app.outputs.appId as string,
    spId: recorded['service-principal'].outputs.servicePrincipalId as string,
    assignmentId: recorded.role.outputs.roleAssignmentId as string,
  };
  const untouched = snapshot(ids);

  const removed = await run('deprovision.ts', cwd, ['--yes', '--json'], accountA);
  assert.is(removed.code, 0, removed.stderr);
  assert.not.ok(
    store.applications.some((a) => a.appId === ids.appId),
    'the application is still there',
  );
  assert.not.ok(
    store.servicePrincipals.some((s) => s.id === ids.spId),
    'the service principal is still there',
  );
  assert.not.ok(
    store.roleAssignments.some((a) => a.id === ids.assignmentId),
    'the role assignment is still there',
  );
  assert.is(snapshot(), untouched, 'something not recorded for this account changed');
  assert.ok(
    store.spot.accounts.some((a) => a.accountId === accountA),
    'the Spot account was deleted without --delete-spot-account',
  );

  const result = JSON.parse(removed.stdout);
  assert.equal(
    result.objects.map((o: { kind: string; result: string }) => `${o.kind}: ${o.result}`),
    ['role assignment: removed', 'service principal: removed', 'application: removed', 'spot account: kept'],
  );
  assert.match(removed.stderr, `application "Spot ${accountA}" (appId ${ids.appId}`, 'the objects are named before removal');
  const state = stateOf(cwd, accountA);
  assert.type(state.deprovisioned, 'string');
  assert.is(state.secret, undefined);

  emulator.resetCounters();
  const again = await run('deprovision.ts', cwd, ['--yes'], accountA);
  assert.is(again.code, 0, again.stderr);
  assert.equal(emulator.requests, [], 'the re-run sent requests');
  assert.is(stateOf(cwd, accountA).deprovisioned, state.deprovisioned);

  const reprovision = await run('provision.ts', cwd, [], accountA);
  assert.is(reprovision.code, 1);
  assert.match(reprovision.stderr, 'was deprovisioned on');
  assert.match(reprovision.stderr, 'move that file away');
  const status = await run('status.ts', cwd, [], accountA);
  assert.is(status.code, 1);
  assert.match(status.stdout, /^state\s+error\s+deprovisioned on/m);
});

test('without a terminal and without --yes it removes nothing and exits 2', async () => {
  const accountB = second();
  const before = snapshot();
  emulator.resetCounters();
  const refused = await run('deprovision.ts', cwd, [], accountB);
  assert.is(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, 'Pass --yes');
  assert.equal(emulator.requests, [], 'it sent requests before refusing');
  assert.is(snapshot(), before);
});

test('objects already removed by hand are fine, and --delete-spot-account removes the account too', async () => {
  const accountB = second();
  const { store } = emulator;
  const spId = stateOf(cwd, accountB).steps['service-principal'].outputs.servicePrincipalId;
  store.servicePrincipals.splice(
    store.servicePrincipals.findIndex((s) => s.id === spId),
    1,
  );

  const removed = await run('deprovision.ts', cwd, ['--yes', '--delete-spot-account'], accountB);
  assert.is(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /service principal\s+already gone/);
  assert.match(removed.stdout, '1 client secret(s) not added by this tool: added by hand', 'the hand-made secret on the app is named');
  assert.not.ok(
    store.spot.accounts.some((a) => a.accountId === accountB),
    'the Spot account is still there',
  );
  assert.is(store.applications.length, 0);
  assert.equal(store.roleAssignments.map((a) => a.principalId).sort(), [store.caller.objectId, '99999999-8888-7777-6666-555555555555'].sort());
  assert.type(stateOf(cwd, accountB).deprovisioned, 'string');
});

test('a run killed after Azure made a Reader assignment but before it was recorded: deprovision still finds and removes it', async () => {
  const lone = await startEmulator();
  try {
    const dir = workdir();
    const env = cliEnv(lone);
    const hung = lone.faults.hang({ apply: true, when: (r) => r.api === 'arm' && r.method === 'PUT' && r.path.includes('/roleAssignments/') });
    const crashed = startCli('provision.ts', ['--role', 'Reader'], { env, cwd: dir });
    await whileRunning(crashed, hung, 'reaching the role assignment');
    crashed.child.kill('SIGKILL');
    await crashed.done;
    const sp = lone.store.servicePrincipals[0]!;
    const mine = () => lone.store.roleAssignments.filter((a) => a.principalId === sp.id);
    assert.is(mine().length, 1, 'the assignment was made');
    assert.is(JSON.parse(readFileSync(join(dir, '.spot-azure-onboard', `${lone.env.SPOTINST_ACCOUNT}.json`), 'utf8')).steps.role, undefined);

    const removed = await runCli('deprovision.ts', ['--yes'], { env, cwd: dir });
    assert.is(removed.code, 0, removed.stderr);
    assert.equal(mine(), [], 'the unrecorded Reader assignment is still there');
    assert.is(lone.store.applications.length, 0);
    assert.ok(
      lone.store.roleAssignments.some((a) => a.principalId === lone.store.caller.objectId),
      "the caller's own assignment must stay",
    );
  } finally {
    await lone.close();
  }
});

test('signed in to another tenant, status, rotate-secret and deprovision refuse the state and change nothing', async () => {
  const home = await startEmulator();
  const elsewhere = await startEmulator();
  try {
    const dir = workdir();
    const made = await runCli('provision.ts', [], { env: cliEnv(home), cwd: dir });
    assert.is(made.code, 0, made.stderr);
    const before = JSON.stringify(home.store.applications);
    // The same Spot account and subscription names, but Azure sign-in lands in the other tenant.
    const env = cliEnv(elsewhere, { SPOTINST_ACCOUNT: home.env.SPOTINST_ACCOUNT });
    for (const [script, args] of [
      ['status.ts', []],
      ['rotate-secret.ts', []],
      ['deprovision.ts', ['--yes']],
    ] as const) {
      elsewhere.resetCounters();
      const refused = await runCli(script, [...args], { env, cwd: dir });
      assert.is(refused.code, 1, `${script}: ${refused.stdout}${refused.stderr}`);
      assert.match(refused.stderr, `was made in Azure tenant ${home.store.tenant.id}`);
      assert.equal(elsewhere.mutating(), [], `${script} changed something`);
    }
    assert.is(JSON.stringify(home.store.applications), before);
    assert.is(JSON.parse(readFileSync(join(dir, '.spot-azure-onboard', `${home.env.SPOTINST_ACCOUNT}.json`), 'utf8')).deprovisioned, undefined);
  } finally {
    await home.close();
    await elsewhere.close();
  }
});

test.run();
