import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SPOT_MINIMAL_ACTIONS } from '../../lib/domain/spot-minimal-role.ts';
import { BUILT_IN_ROLES, type Emulator, roleGuidOf, startEmulator } from '../emulator/server.ts';
import { cliEnv, runCli, workdir } from './cli.ts';

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator();
});
test.after(() => emulator.close());

function provision(cwd: string, args: string[]) {
  return runCli('provision.ts', args, { env: cliEnv(emulator), cwd });
}

/** The assignments held by service principals this tool made (the caller's own excluded). */
function madeAssignments() {
  const principals = new Set(emulator.store.servicePrincipals.map((sp) => sp.id));
  return emulator.store.roleAssignments.filter((a) => principals.has(a.principalId));
}

const customRoles = () => emulator.store.roleDefinitions.filter((d) => d.roleType === 'CustomRole');

test("--role spot-minimal twice: one custom role with Spot's actions, one assignment of it", async () => {
  const cwd = workdir();
  const first = await provision(cwd, ['--role', 'spot-minimal']);
  assert.is(first.code, 0, first.stderr);
  const [definition, ...more] = customRoles();
  assert.ok(definition, 'no custom role was created');
  assert.is(more.length, 0);
  const subscription = `/subscriptions/${emulator.env.AZURE_SUBSCRIPTION_ID}`;
  assert.equal(definition!.assignableScopes, [subscription]);
  const actions = definition!.permissions.flatMap((p) => p.actions);
  assert.equal([...actions].sort(), [...SPOT_MINIMAL_ACTIONS].sort());
  assert.is(new Set(actions.map((a) => a.toLowerCase())).size, actions.length, 'duplicate actions');
  assert.ok(actions.includes('Microsoft.Compute/virtualMachineScaleSets/*'));
  const [assignment, ...others] = madeAssignments();
  assert.is(others.length, 0);
  assert.is(roleGuidOf(assignment!.roleDefinitionId), definition!.id);
  assert.is(assignment!.scope, subscription);

  // A second run in a fresh directory (no state): the role is found by name, the assignment by its fixed name.
  emulator.resetCounters();
  const second = await provision(workdir(), ['--role', 'spot-minimal']);
  assert.is(second.code, 0, second.stderr);
  assert.is(customRoles().length, 1);
  assert.is(madeAssignments().length, 1);
  assert.not.ok(
    emulator.mutating().some((r) => /roleDefinitions/i.test(r.path)),
    'the role definition was written again',
  );
});

test('--role Reader assigns the built-in role found by name, and status checks that role', async () => {
  const before = madeAssignments().length;
  const cwd = workdir();
  const run = await provision(cwd, ['--role', 'Reader', '--account-id', emulator.env.SPOTINST_ACCOUNT!, '--json']);
  assert.is(run.code, 0, run.stderr);
  assert.ok(
    emulator.requests.some((r) => r.method === 'GET' && decodeURIComponent(r.path).includes("roleName eq 'Reader'")),
    'no lookup by name',
  );
  const assignments = madeAssignments();
  assert.is(assignments.length, before + 1);
  const reader = assignments.find((a) => roleGuidOf(a.roleDefinitionId) === BUILT_IN_ROLES.Reader.id);
  assert.ok(reader, 'Reader was not assigned');
  const status = await runCli('status.ts', [], { env: cliEnv(emulator), cwd });
  assert.is(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /role assignment\s+ok\s+Reader on \/subscriptions\//);
});

test('an unknown role name stops the run before any change, with a way to list the roles', async () => {
  const cwd = workdir();
  const other = await startEmulator();
  try {
    const run = await runCli('provision.ts', ['--role', 'Contributer'], { env: cliEnv(other), cwd });
    assert.is(run.code, 1);
    assert.match(run.stderr, 'No role named "Contributer" (--role) can be assigned on subscription');
    assert.match(run.stderr, 'az role definition list');
    assert.equal(other.mutating(), []);
  } finally {
    await other.close();
  }
});

test('spot-minimal needs the right to create role definitions, checked before any change', async () => {
  const other = await startEmulator({ callerRole: null });
  try {
    const subscription = other.store.subscriptions[0]!.subscriptionId;
    // Role assignments only: a custom role with roleAssignments/write but not roleDefinitions/write.
    other.store.roleDefinitions.push({
      id: '11111111-1111-4111-8111-111111111111',
      roleName: 'Assigner',
      description: '',
      roleType: 'CustomRole',
      createdAt: Date.now(),
      permissions: [{ actions: ['*/read', 'Microsoft.Authorization/roleAssignments/write'], notActions: [], dataActions: [], notDataActions: [] }],
      assignableScopes: [`/subscriptions/${subscription}`],
    });
    other.store.roleAssignments.push({
      id: `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleAssignments/22222222-2222-4222-8222-222222222222`,
      name: '22222222-2222-4222-8222-222222222222',
      scope: `/subscriptions/${subscription}`,
      roleDefinitionId: `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/11111111-1111-4111-8111-111111111111`,
      principalId: other.store.caller.objectId,
      principalType: 'ServicePrincipal',
      createdBy: other.store.caller.objectId,
      createdAt: Date.now(),
    });
    const run = await runCli('provision.ts', ['--role', 'spot-minimal'], { env: cliEnv(other), cwd: workdir() });
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, 'You may not create the spot-minimal custom role');
    assert.match(run.stderr, 'Microsoft.Authorization/roleDefinitions/write');
    assert.equal(other.mutating(), []);
  } finally {
    await other.close();
  }
});

test.run();
