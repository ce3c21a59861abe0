// A re-run asks for what it asks for: another --role or --app-name converges (the plan says "will
// update"), a misspelt role stops before any change, an option that applies later says when, and a
// state made in one cloud refuses another.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILT_IN_ROLES, type Emulator, roleGuidOf, withEmulator } from '../emulator/server.ts';
import { type CliRun, cliEnv, linkedWorkdir, runCli, startCli, whileRunning } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

const output = (run: CliRun) => `--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`;
const provision = (e: Emulator, cwd: string, args: string[]) => runCli('provision.ts', args, { env: cliEnv(e), cwd });
const account = (e: Emulator) => e.env.SPOTINST_ACCOUNT!;
const theApp = (e: Emulator) => e.store.applications.find((a) => a.uniqueName === `spot-azure-onboard-${account(e)}`)!;
const toolAssignments = (e: Emulator) => {
  const sp = e.store.servicePrincipals.find((s) => s.appId === theApp(e).appId)!;
  return e.store.roleAssignments.filter((a) => a.principalId === sp.id);
};
const statePath = (e: Emulator, cwd: string) => join(cwd, '.spot-azure-onboard', `${account(e)}.json`);

test('a re-run with another --role moves the link to it: one assignment of the tool remains, for the new role', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    e.resetCounters();
    const plan = await provision(e, cwd, ['--role', 'Reader', '--dry-run']);
    assert.is(plan.code, 0, output(plan));
    assert.match(
      plan.stdout,
      /will update\s+role: role Contributor → Reader: assign Reader on \/subscriptions\/\S+, then remove the tool's earlier Contributor assignment/,
    );
    assert.equal(e.mutating(), [], 'the dry run changed something');

    const run = await provision(e, cwd, ['--role', 'Reader', '--yes']);
    assert.is(run.code, 0, output(run));
    assert.not.match(run.stdout, /role: already done/);
    assert.match(run.stdout, "removed the tool's earlier Contributor assignment");
    const held = toolAssignments(e);
    assert.equal(
      held.map((a) => roleGuidOf(a.roleDefinitionId)),
      [BUILT_IN_ROLES.Reader.id],
      'exactly one assignment of the tool, for Reader',
    );
    const state = JSON.parse(readFileSync(statePath(e, cwd), 'utf8'));
    assert.is(state.steps.role.outputs.roleName, 'Reader');
    assert.is(state.steps.role.outputs.roleAssignmentId, held[0]!.id);

    // The same role again, and no --role at all: nothing to change, no write.
    for (const args of [['--role', 'Reader'], []]) {
      e.resetCounters();
      const again = await provision(e, cwd, [...args, '--yes']);
      assert.is(again.code, 0, output(again));
      assert.equal(e.mutating(), [], `a re-run with ${args.join(' ') || 'no --role'} changed something`);
      assert.equal(toolAssignments(e).length, 1);
    }
    const status = await runCli('status.ts', ['--account-id', account(e)], { env: cliEnv(e), cwd });
    assert.is(status.code, 0, output(status));
  });
});

test('a role change killed between assigning the new role and removing the old one is finished by the next run, even without --role', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    // The old assignment's DELETE never arrives: the run is killed while it is on its way.
    const hit = e.faults.hang({ apply: false, when: (r) => r.api === 'arm' && r.method === 'DELETE' && /roleAssignments/.test(r.path) });
    const killed = startCli('provision.ts', ['--role', 'Reader', '--yes'], { env: cliEnv(e), cwd });
    await whileRunning(killed, hit, 'reaching the removal of the old assignment');
    killed.child.kill('SIGKILL');
    await killed.done;
    assert.is(toolAssignments(e).length, 2, 'both roles are assigned at the crash');

    const resumed = await provision(e, cwd, ['--yes']);
    assert.is(resumed.code, 0, output(resumed));
    assert.not.match(resumed.stdout, /role: already done/);
    assert.equal(
      toolAssignments(e).map((a) => roleGuidOf(a.roleDefinitionId)),
      [BUILT_IN_ROLES.Reader.id],
      'the change is finished: Reader only',
    );
    const state = JSON.parse(readFileSync(statePath(e, cwd), 'utf8'));
    assert.is(state.roleChange, undefined);
    assert.is(state.steps.role.outputs.roleName, 'Reader');
  });
});

test('a re-run with a misspelt --role stops before any change and never exits 0', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    e.resetCounters();
    const run = await provision(e, cwd, ['--role', 'No Such Role', '--app-name', 'Renamed meanwhile', '--yes']);
    assert.is(run.code, 1, output(run));
    assert.match(run.stderr, 'No role named "No Such Role" (--role) can be assigned');
    assert.equal(e.mutating(), [], 'a changing request was sent');
    assertOnboarded(e, account(e), e.env.AZURE_SUBSCRIPTION_ID!, 'after the refused re-run');
  });
});

test('a re-run with another --app-name renames the application; the plan says so first', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    e.resetCounters();
    const plan = await provision(e, cwd, ['--app-name', 'Spot production', '--dry-run']);
    assert.is(plan.code, 0, output(plan));
    assert.match(plan.stdout, /will update\s+app: .*: set displayName/);
    assert.equal(e.mutating(), []);
    const run = await provision(e, cwd, ['--app-name', 'Spot production', '--yes']);
    assert.is(run.code, 0, output(run));
    assert.is(theApp(e).displayName, 'Spot production');
    assert.equal(
      e.mutating().map((r) => `${r.api} ${r.method}`),
      ['graph PATCH'],
      'one update of the application and nothing else',
    );
    e.resetCounters();
    const again = await provision(e, cwd, ['--yes']);
    assert.is(again.code, 0, output(again));
    assert.is(theApp(e).displayName, 'Spot production', 'a re-run without --app-name keeps the new name');
    assert.equal(e.mutating(), []);
  });
});

test('--secret-expiry on a linked account applies at the next rotation, which gives the new secret that lifetime', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    const end = JSON.parse(readFileSync(statePath(e, cwd), 'utf8')).steps.secret.outputs.secretExpiresAt as string;
    e.resetCounters();
    const run = await provision(e, cwd, ['--secret-expiry', '3', '--yes']);
    assert.is(run.code, 0, output(run));
    assert.match(
      run.stdout,
      `secret: already done; --secret-expiry 3 applies at the next rotation (rotate-secret.ts gives the new secret that lifetime); the current secret keeps its end date ${end.slice(0, 10)}`,
    );
    assert.equal(e.mutating(), []);
    assert.is(JSON.parse(readFileSync(statePath(e, cwd), 'utf8')).secretExpiryMonths, 3, 'the lifetime is remembered');

    const before = Date.now();
    const rotated = await runCli('rotate-secret.ts', ['--yes'], { env: cliEnv(e), cwd });
    assert.is(rotated.code, 0, output(rotated));
    const newEnd = Date.parse(JSON.parse(readFileSync(statePath(e, cwd), 'utf8')).steps.secret.outputs.secretExpiresAt);
    const days = (newEnd - before) / 86_400_000;
    assert.ok(days > 85 && days < 95, `the rotated secret lives ${days.toFixed(1)} days, not about 3 months`);
  });
});

test('a state made in one cloud refuses a run for another, before any request', async () => {
  await withEmulator({}, async (e) => {
    const cwd = await linkedWorkdir(e);
    const path = statePath(e, cwd);
    const state = JSON.parse(readFileSync(path, 'utf8'));
    assert.is(state.cloud, 'AzurePublicCloud', 'the state records its cloud');
    e.resetCounters();
    const run = await provision(e, cwd, ['--cloud', 'AzureUSGovernment', '--yes']);
    assert.is(run.code, 1, output(run));
    assert.match(run.stderr, `records a link in AzurePublicCloud, but --cloud asks for AzureUSGovernment`);
    assert.equal(e.requests, []);
  });
});

test.run();
