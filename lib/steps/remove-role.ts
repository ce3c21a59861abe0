import type { Context } from '../context.ts';
import { ApiError } from '../errors.ts';
import { CONTRIBUTOR_ROLE_ID, roleAssignmentName } from './role.ts';
import type { Step } from './step.ts';

const ROLE_ASSIGNMENTS = '/providers/Microsoft.Authorization/roleAssignments/';

/**
 * The assignment this tool made: the recorded id, or, when a run stopped inside the role step, the
 * deterministic name it PUTs. An assignment that existed before the tool ran is not ours to remove.
 */
export function ownRoleAssignment(ctx: Context): { scope: string; name: string; id: string } | undefined {
  const { roleAssignmentId, roleAssignmentPreexisting, subscriptionId, servicePrincipalId } = ctx.outputs;
  if (roleAssignmentPreexisting === 'true') return undefined;
  if (roleAssignmentId) {
    const at = roleAssignmentId.toLowerCase().indexOf(ROLE_ASSIGNMENTS.toLowerCase());
    return { scope: roleAssignmentId.slice(0, at), name: roleAssignmentId.slice(at + ROLE_ASSIGNMENTS.length), id: roleAssignmentId };
  }
  if (!subscriptionId || !servicePrincipalId) return undefined;
  const scope = `/subscriptions/${subscriptionId}`;
  const name = roleAssignmentName(scope, servicePrincipalId, CONTRIBUTOR_ROLE_ID);
  return { scope, name, id: `${scope}${ROLE_ASSIGNMENTS}${name}` };
}

/** Removes the Contributor assignment this tool made on the subscription, by its id; nothing else. */
export const removeRole: Step = {
  id: 'remove-role',
  title: 'Remove the role assignment',
  async run(ctx) {
    const own = ownRoleAssignment(ctx);
    if (!own) {
      const reason = ctx.outputs.roleAssignmentPreexisting === 'true'
        ? `left ${ctx.outputs.roleAssignmentId || 'the Contributor assignment'}: it existed before this tool ran`
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
