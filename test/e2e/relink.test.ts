// One Spot account, one subscription, one live record: a run that would move an account to another
// subscription stops before any change, unless --relink asks for the move, which then leaves nothing of
// the tool's on the old subscription and marks the old record superseded.
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILT_IN_ROLES, type Emulator, withEmulator } from '../emulator/server.ts';
import { type CliRun, cliEnv, linkedWorkdir, runCli } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

const output = (run: CliRun) => `--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`;
const cli = (e: Emulator, script: string, cwd: string, args: string[]) => runCli(script, args, { env: cliEnv(e), cwd });
const account = (e: Emulator) => e.env.SPOTINST_ACCOUNT!;
const [S1, S2] = [0, 1];
const subscription = (e: Emulator, i: number) => e.store.subscriptions[i]!.subscriptionId;
const toolAssignmentsOn = (e: Emulator, i: number) => {
  const app = e.store.applications.find((a) => a.uniqueName === `spot-azure-onboard-${account(e)}`)!;
  const sp = e.store.servicePrincipals.find((s) => s.appId === app.appId)!;
  return e.store.roleAssignments.filter((a) => a.principalId === sp.id && a.scope === `/subscriptions/${subscription(e, i)}`);
};
const TWO = { subscriptions: [{ displayName: 'Production' }, { displayName: 'Staging' }] };

test('an account linked to S1, asked for S2 from another state file: stops with zero changes; --relink moves it', async () => {
  await withEmulator(TWO, async (e) => {
    const cwd = await linkedWorkdir(e);
    const moved = join('.spot-azure-onboard', 'moved.json');
    const args = ['--subscription', subscription(e, S2), '--state', moved, '--yes'];

    e.resetCounters();
    const refused = await cli(e, 'provision.ts', cwd, args);
    assert.is(refused.code, 1, output(refused));
    assert.match(refused.stderr, `Spot account ${account(e)} is linked to subscription ${subscription(e, S1)}`);
    assert.match(refused.stderr, `this run asks for subscription ${subscription(e, S2)}`);
    assert.match(refused.stderr, '--relink');
    assert.equal(e.mutating(), [], 'a changing request was sent');
    assert.is(e.store.spot.credentials.get(account(e))!.subscriptionId, subscription(e, S1));

    e.resetCounters();
    const plan = await cli(e, 'provision.ts', cwd, [...args, '--relink', '--dry-run']);
    assert.is(plan.code, 0, output(plan));
    assert.match(plan.stdout, `the account moves from subscription ${subscription(e, S1)} (--relink)`);
    assert.match(
      plan.stdout,
      new RegExp(`remove the tool's role assignment \\S+ on /subscriptions/${subscription(e, S1)}; mark \\S+${account(e)}\\.json superseded`),
    );
    assert.equal(e.mutating(), [], 'the dry run changed something');

    const run = await cli(e, 'provision.ts', cwd, [...args, '--relink']);
    assert.is(run.code, 0, output(run));
    assert.match(run.stdout, `released subscription ${subscription(e, S1)}`);
    assertOnboarded(e, account(e), subscription(e, S2), 'after --relink');
    assert.equal(toolAssignmentsOn(e, S1), [], "a role assignment of the tool's is left on S1");
    assert.is(e.store.spot.credentials.get(account(e))!.subscriptionId, subscription(e, S2));

    const old = JSON.parse(readFileSync(join(cwd, '.spot-azure-onboard', `${account(e)}.json`), 'utf8'));
    assert.is(old.superseded?.subscriptionId, subscription(e, S2), 'the old record is marked superseded');
    const status = await cli(e, 'status.ts', cwd, ['--state', moved]);
    assert.is(status.code, 0, output(status));
    const all = await cli(e, 'status.ts', cwd, ['--all', '--json']);
    assert.is(all.code, 0, output(all));
    assert.equal(
      JSON.parse(all.stdout).links.map((l: { statePath: string }) => l.statePath),
      [join(cwd, moved)],
      'one live record for the account',
    );

    e.resetCounters();
    const stale = await cli(e, 'rotate-secret.ts', cwd, ['--state', join('.spot-azure-onboard', `${account(e)}.json`), '--yes']);
    assert.is(stale.code, 1, output(stale));
    assert.match(stale.stderr, `is history: on `);
    assert.match(stale.stderr, `--state ${join(cwd, moved)}`);
    assert.equal(e.requests, [], 'the superseded record reached out');
  });
});

test('--relink by a caller who may not remove role assignments on the old subscription stops before any change', async () => {
  await withEmulator(TWO, async (e) => {
    const cwd = await linkedWorkdir(e);
    // The caller is only Reader on S1 now.
    const callerOnS1 = e.store.roleAssignments.find((a) => a.principalId === e.store.caller.objectId && a.scope === `/subscriptions/${subscription(e, S1)}`)!;
    callerOnS1.roleDefinitionId = callerOnS1.roleDefinitionId.replace(/[^/]+$/, BUILT_IN_ROLES.Reader.id);
    e.resetCounters();
    const run = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S2), '--relink', '--yes']);
    assert.is(run.code, 1, output(run));
    assert.match(run.stderr, `You may not remove role assignments on subscription ${subscription(e, S1)}`);
    assert.equal(e.mutating(), [], 'a changing request was sent');
    assert.is(e.store.spot.credentials.get(account(e))!.subscriptionId, subscription(e, S1));
  });
});

test('the same state file asked for another subscription: stops, and --relink moves the link it records', async () => {
  await withEmulator(TWO, async (e) => {
    const cwd = await linkedWorkdir(e);
    e.resetCounters();
    const refused = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S2), '--yes']);
    assert.is(refused.code, 1, output(refused));
    assert.match(refused.stderr, `is linked to subscription ${subscription(e, S1)} (the state file`);
    assert.equal(e.mutating(), []);

    const run = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S2), '--relink', '--yes']);
    assert.is(run.code, 0, output(run));
    assertOnboarded(e, account(e), subscription(e, S2), 'after --relink');
    assert.equal(toolAssignmentsOn(e, S1), []);
    const state = JSON.parse(readFileSync(join(cwd, '.spot-azure-onboard', `${account(e)}.json`), 'utf8'));
    assert.is(state.subscriptionId, subscription(e, S2));
    assert.is(state.relinkFrom, undefined, 'the move is finished');
    const status = await cli(e, 'status.ts', cwd, []);
    assert.is(status.code, 0, output(status));

    e.resetCounters();
    const again = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S2), '--yes']);
    assert.is(again.code, 0, output(again));
    assert.equal(e.mutating(), [], 'a re-run after the move changed something');
  });
});

test('Spot holding another application for the same subscription: the plan and the summary name the clientId replaced', async () => {
  await withEmulator({}, async (e) => {
    const other = { clientId: '11111111-2222-3333-4444-555555555555', tenantId: e.env.AZURE_TENANT_ID!, subscriptionId: subscription(e, S1) };
    e.store.spot.credentials.set(account(e), { ...other, clientSecret: 'someone-elses-secret', expirationDate: '2027-01-01T00:00:00Z', updatedAt: Date.now() });
    // As Spot does when it is given credentials: the account now names that subscription.
    e.store.spot.accounts.find((a) => a.accountId === account(e))!.providerExternalId = other.subscriptionId;
    const cwd = (await import('./cli.ts')).workdir();
    const plan = await cli(e, 'provision.ts', cwd, ['--dry-run']);
    assert.is(plan.code, 0, output(plan));
    assert.match(plan.stdout, `replacing the credentials of clientId ${other.clientId}`);
    const run = await cli(e, 'provision.ts', cwd, ['--yes']);
    assert.is(run.code, 0, output(run));
    assert.match(run.stdout, `replaced the credentials of clientId ${other.clientId}`);
  });
});

test('a record outside the state directory, left behind by a move: rotate-secret refuses it, status says the account was moved', async () => {
  await withEmulator(TWO, async (e) => {
    const cwd = (await import('./cli.ts')).workdir();
    const elsewhere = join('elsewhere', 'old.json');
    const first = await cli(e, 'provision.ts', cwd, ['--state', elsewhere, '--yes']);
    assert.is(first.code, 0, output(first));
    const moved = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S2), '--relink', '--yes']);
    assert.is(moved.code, 0, output(moved));

    e.resetCounters();
    const rotate = await cli(e, 'rotate-secret.ts', cwd, ['--state', elsewhere, '--yes']);
    assert.is(rotate.code, 1, output(rotate));
    assert.match(rotate.stderr, `Spot account ${account(e)} is linked to subscription ${subscription(e, S2)}`);
    assert.match(rotate.stderr, '--relink');
    assert.equal(e.mutating(), [], 'rotating the left-behind record changed something');
    assert.is(e.store.spot.credentials.get(account(e))!.subscriptionId, subscription(e, S2));

    const status = await cli(e, 'status.ts', cwd, ['--state', elsewhere]);
    assert.is(status.code, 1, output(status));
    assert.match(status.stdout, `now serves subscription ${subscription(e, S2)}`);
    assert.not.match(status.stdout, "run rotate-secret.ts to give Spot this link's credentials again");
  });
});

test('two live records of one account: rotate-secret --all touches neither; --state alone wins over SPOTINST_ACCOUNT', async () => {
  await withEmulator({ ...TWO, accounts: 2 }, async (e) => {
    const cwd = await linkedWorkdir(e);
    const dir = join(cwd, '.spot-azure-onboard');
    copyFileSync(join(dir, `${account(e)}.json`), join(dir, 'copy.json'));
    e.resetCounters();
    const rotate = await cli(e, 'rotate-secret.ts', cwd, ['--all', '--yes']);
    assert.is(rotate.code, 1, output(rotate));
    assert.match(rotate.stdout + rotate.stderr, 'is recorded by two live state files');
    assert.equal(e.mutating(), [], 'a changing request was sent');
    rmSync(join(dir, 'copy.json'));

    // A second account, linked to the second subscription; SPOTINST_ACCOUNT still names the first.
    const other = e.store.spot.accounts[1]!.accountId;
    const linked = await cli(e, 'provision.ts', cwd, ['--account-id', other, '--subscription', subscription(e, S2), '--yes']);
    assert.is(linked.code, 0, output(linked));
    const status = await cli(e, 'status.ts', cwd, ['--state', join(dir, `${other}.json`)]);
    assert.is(status.code, 0, output(status));
    assert.match(status.stdout, other);
  });
});

test('the linked subscription named in upper case is the same subscription: no move, nothing removed', async () => {
  await withEmulator(TWO, async (e) => {
    const cwd = await linkedWorkdir(e);
    for (const args of [[], ['--relink']]) {
      e.resetCounters();
      const run = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S1).toUpperCase(), ...args, '--yes']);
      assert.is(run.code, 0, output(run));
      assert.equal(e.mutating(), [], `a re-run ${args.join(' ')} changed something`);
      assertOnboarded(e, account(e), subscription(e, S1), `upper case ${args.join(' ')}`);
    }
  });
});

test('a move that failed midway and then turned back to where it started leaves the tool on that subscription only', async () => {
  await withEmulator(TWO, async (e) => {
    const cwd = await linkedWorkdir(e);
    e.faults.add({ api: 'spot', method: 'POST', path: /^\/azure\/setup\/credentials\?/, status: 400, times: 1 });
    const failed = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S2), '--relink', '--yes']);
    assert.is(failed.code, 1, output(failed));
    assert.is(toolAssignmentsOn(e, S2).length, 1, 'the move had assigned the role on S2');

    const back = await cli(e, 'provision.ts', cwd, ['--subscription', subscription(e, S1), '--relink', '--yes']);
    assert.is(back.code, 0, output(back));
    assertOnboarded(e, account(e), subscription(e, S1), 'after turning back');
    assert.equal(toolAssignmentsOn(e, S2), [], "the tool's role on S2 is left behind");
    assert.is(e.store.spot.credentials.get(account(e))!.subscriptionId, subscription(e, S1));
    const status = await cli(e, 'status.ts', cwd, []);
    assert.is(status.code, 0, output(status));
  });
});

test.run();
