import { ApiError, OnboardError } from '../core/errors.ts';
import { retryOnLag } from '../core/retry.ts';
import { principalNotFound } from '../domain/replication-lag.ts';
import { roleAssignmentName, sameRole, subscriptionScope } from '../domain/role-assignments.ts';
import { createRoleDefinitionIfMissing, resolveRoleDefinition } from '../domain/roles.ts';
import { need, type Step } from './step.ts';

/** Grant the service principal the chosen role (Contributor unless --role says otherwise) on the subscription. */
export const role: Step<'role'> = {
  id: 'role',
  title: 'Assign the role on the subscription',
  async plan(ctx) {
    const subscriptionId = need(ctx, 'subscriptionId');
    const scope = subscriptionScope(subscriptionId);
    const chosen = await resolveRoleDefinition(ctx, subscriptionId);
    const principalId = ctx.outputs.servicePrincipalId;
    if (principalId && !chosen.toCreate) {
      const found = await (await ctx.clients.arm()).getRoleAssignment(scope, roleAssignmentName(scope, principalId, chosen.guid));
      if (found) return { action: 'reuse', detail: `${chosen.roleName} assignment ${found.name} on ${scope}`, outputs: { roleAssignmentId: found.id } };
    }
    const first = chosen.toCreate ? ` (after creating the custom role "${chosen.roleName}")` : '';
    return { action: 'create', detail: `assign ${chosen.roleName} on ${scope}${first}` };
  },
  async run(ctx) {
    const arm = await ctx.clients.arm();
    const subscriptionId = need(ctx, 'subscriptionId');
    const principalId = need(ctx, 'servicePrincipalId');
    const scope = subscriptionScope(subscriptionId);
    const chosen = await createRoleDefinitionIfMissing(ctx, await resolveRoleDefinition(ctx, subscriptionId));
    const roleDefinitionId = chosen.definitionId;
    const roleOutputs = { roleDefinitionId, roleName: chosen.roleName };
    const name = roleAssignmentName(scope, principalId, chosen.guid);
    try {
      const assignment = await retryOnLag(
        this.id,
        ctx.lagSchedule,
        principalNotFound,
        () => arm.createRoleAssignment(scope, name, { roleDefinitionId, principalId }),
        { sleep: ctx.sleep, report: ctx.report },
      );
      return { outputs: { roleAssignmentId: assignment.id, ...roleOutputs }, summary: `${chosen.roleName} assigned on ${scope} (${assignment.name})` };
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.code === 'RoleAssignmentExists') {
        // The same principal and role under another name (made by hand or another tool): already done.
        const existing = (await arm.listRoleAssignments(scope, principalId)).find((a) => sameRole(a.roleDefinitionId, chosen.guid));
        if (!existing) {
          throw new OnboardError(
            'conflict',
            `Azure says ${chosen.roleName} is already assigned to service principal ${principalId} on ${scope}, but does not list that assignment yet.`,
            'Run the same command again in a minute; it records the assignment once Azure lists it.',
          );
        }
        return {
          outputs: { roleAssignmentId: existing.id, roleAssignmentPreexisting: 'true', ...roleOutputs },
          summary: `${chosen.roleName} was already assigned on ${scope}`,
        };
      }
      if (error instanceof ApiError && error.status === 403) {
        throw error.withHint('Ask for Owner or User Access Administrator on the subscription (Contributor cannot assign roles), then run again.');
      }
      throw error;
    }
  },
};
