import type { Context } from '../context.ts';
import { ApiError } from '../errors.ts';
import { roleAssignmentName } from './role.ts';
import type { Step } from './step.ts';

const ROLE_ASSIGNMENTS = '/providers/Microsoft.Authorization/roleAssignments/';

/**
 * The assignment this tool made: the recorded id, or, when a run stopped inside the role step, the
 * principal's assignment on the subscription that carries the name the role step gives it (scope,
 * principal and role fix it, whatever the role). An assignment that existed before the tool ran is
 * not ours to remove.
 */
export async function ownRoleAssignment(ctx: Context): Promise<{ scope: string; name: string; id: string } | undefined> {
  const { roleAssignmentId, roleAssignmentPreexisting, subscriptionId, servicePrincipalId } = ctx.outputs;
  if (roleAssignmentPreexisting === 'true') return undefined;
  if (roleAssignmentId) {
    const at = roleAssignmentId.toLowerCase().indexOf(ROLE_ASSIGNMENTS.toLowerCase());
    return { scope: roleAssignmentId.slice(0, at), name: roleAssignmentId.slice(at + ROLE_ASSIGNMENTS.length), id: roleAssignmentId };
  }
  if (!subscriptionId || !servicePrincipalId) return undefined;
  const scope = `/subscriptions/${subscriptionId}`;
  const assignments = await (await ctx.clients.arm()).listRoleAssignments(scope, servicePrincipalId);
  const made = assignments.find((a) => a.name.toLowerCase() === roleAssignmentName(scope, servicePrincipalId, a.roleDefinitionId.split('/').pop()!));
  return made && { scope, name: made.name, id: made.id };
}

/** Removes the role assignment this tool made on the subscription, by its id; nothing else. */
export const removeRole: Step = {
  id: 'remove-role',
  title: 'Remove the role assignment',
  async run(ctx) {
    const own = await ownRoleAssignment(ctx);
    if (!own) {
      const reason = ctx.outputs.roleAssignmentPreexisting === 'true'
        ? `left ${ctx.outputs.roleAssignmentId || `the ${ctx.outputs.roleName ?? 'Contributor'} assignment`}: it existed before this tool ran`
        : 'no role assignment was recorded';
      return { outputs: { roleAssignmentRemoval: 'kept' }, summary: reason };
    }
    const arm = await ctx.clients.arm();
    try {
      await arm.deleteRoleAssignment(own.scope, own.name);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return { outputs: { roleAssignmentRemoval: 'already gone' }, summary: `${own.id} was already gone` };
      if (error instanceof ApiError && error.status === 403) {
        throw error.withHint('Removing a role assignment needs Owner or User Access Administrator on the subscription; ask for it, then run again.');
      }
      throw error;
    }
    return { outputs: { roleAssignmentRemoval: 'removed' }, summary: `removed ${own.id}` };
  },
};
