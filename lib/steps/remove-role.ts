import { ApiError } from '../core/errors.ts';
import { ownRoleAssignment, removeToolAssignment, subscriptionScope } from '../domain/role-assignments.ts';
import type { Step } from './step.ts';

/** Removes the role assignment this tool made on the subscription, by its id; nothing else. */
export const removeRole: Step<'remove-role'> = {
  id: 'remove-role',
  title: 'Remove the role assignment',
  async plan(ctx) {
    const own = await ownRoleAssignment(ctx.clients.arm, ctx.outputs);
    if (!own) return { action: 'keep', detail: 'no role assignment: none was created by this tool' };
    return {
      action: 'remove',
      detail: `role assignment ${own.id} (${ctx.outputs.roleName ?? 'Contributor'} for service principal ${ctx.outputs.servicePrincipalId})`,
    };
  },
  async run(ctx) {
    const begun = ctx.state.roleChange;
    const { servicePrincipalId, subscriptionId } = ctx.outputs;
    // A --role change that never finished may have assigned its target already: that one is the tool's too.
    if (begun && servicePrincipalId && subscriptionId) {
      await removeToolAssignment(await ctx.clients.arm(), subscriptionScope(subscriptionId), servicePrincipalId, begun.roleDefinitionId);
      delete ctx.state.roleChange;
    }
    const own = await ownRoleAssignment(ctx.clients.arm, ctx.outputs);
    if (!own) {
      const reason =
        ctx.outputs.roleAssignmentPreexisting === 'true'
          ? `left ${ctx.outputs.roleAssignmentId || `the ${ctx.outputs.roleName ?? 'Contributor'} assignment`}: it existed before this tool ran`
          : 'no role assignment was recorded';
      return { outputs: { roleAssignmentRemoval: 'kept' }, summary: reason };
    }
    const arm = await ctx.clients.arm();
    try {
      await arm.deleteRoleAssignment(own.scope, own.name);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404)
        return { outputs: { roleAssignmentRemoval: 'already gone' }, summary: `${own.id} was already gone` };
      if (error instanceof ApiError && error.status === 403) {
        throw error.withHint('Removing a role assignment needs Owner or User Access Administrator on the subscription; ask for it, then run again.');
      }
      throw error;
    }
    return { outputs: { roleAssignmentRemoval: 'removed' }, summary: `removed ${own.id}` };
  },
};
