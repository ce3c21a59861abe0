import type { Context } from '../core/context.ts';
import { ApiError, OnboardError, unlessNotFound } from '../core/errors.ts';
import { retryOnLag } from '../core/retry.ts';
import { sameId } from '../domain/ids.ts';
import { principalNotFound } from '../domain/replication-lag.ts';
import { ownRoleAssignment, removeToolAssignment, roleAssignmentName, sameRole, subscriptionScope } from '../domain/role-assignments.ts';
import {
  asksForRecordedRole,
  CONTRIBUTOR_ROLE_ID,
  createRoleDefinitionIfMissing,
  type ResolvedRole,
  recordedRoleName,
  resolveRoleDefinition,
} from '../domain/roles.ts';
import { need, type Step, type StepOutputs } from './step.ts';

/**
 * Grant the service principal the chosen role (Contributor unless --role says otherwise) on the
 * subscription. A re-run whose --role names another role than the link holds moves it: the new role
 * is assigned first, then the tool's own earlier assignment removed (one it found already there is kept).
 */
export const role: Step<'role'> = {
  id: 'role',
  title: 'Assign the role on the subscription',
  isDone: (ctx) => ctx.state.steps.role !== undefined && ctx.state.roleChange === undefined && !roleChangeAsked(ctx),
  async plan(ctx) {
    const subscriptionId = need(ctx, 'subscriptionId');
    const scope = subscriptionScope(subscriptionId);
    const chosen = await resolveRoleDefinition(ctx, subscriptionId);
    const recorded = ctx.state.steps.role?.outputs;
    if (recorded && holdsRole(recorded, chosen)) {
      return { action: 'reuse', detail: `${chosen.roleName} assignment on ${scope}, as asked`, outputs: recorded };
    }
    const principalId = ctx.outputs.servicePrincipalId;
    const first = chosen.toCreate ? ` (after creating the custom role "${chosen.roleName}")` : '';
    const found =
      principalId && !chosen.toCreate
        ? await (await ctx.clients.arm()).getRoleAssignment(scope, roleAssignmentName(scope, principalId, chosen.guid))
        : undefined;
    if (recorded) {
      const assign = found ? `${chosen.roleName} is already assigned (${found.name})` : `assign ${chosen.roleName} on ${scope}${first}`;
      return { action: 'update', detail: `role ${recordedRoleName(recorded)} → ${chosen.roleName}: ${assign}, then ${removalOf(recorded)}` };
    }
    if (found) return { action: 'reuse', detail: `${chosen.roleName} assignment ${found.name} on ${scope}`, outputs: { roleAssignmentId: found.id } };
    return { action: 'create', detail: `assign ${chosen.roleName} on ${scope}${first}` };
  },
  async run(ctx) {
    const subscriptionId = need(ctx, 'subscriptionId');
    const scope = subscriptionScope(subscriptionId);
    const chosen = await resolveRoleDefinition(ctx, subscriptionId);
    const recorded = ctx.state.steps.role?.outputs;
    const begun = ctx.state.roleChange;
    if (recorded && holdsRole(recorded, chosen)) {
      // Back to the recorded role before an earlier change finished: its target's assignment goes.
      if (begun) await dropBegunChange(ctx, scope, chosen, begun);
      delete ctx.state.roleChange;
      return { outputs: recorded, summary: `${chosen.roleName} is assigned on ${scope}, as asked` };
    }
    if (!recorded) return assign(ctx, this.id, chosen);
    // Recorded before the first change, so a run stopped between assigning and removing finishes both.
    ctx.state.roleChange = { roleDefinitionId: chosen.definitionId, roleName: chosen.roleName };
    await ctx.saveState();
    const assigned = await assign(ctx, this.id, chosen);
    if (begun) await dropBegunChange(ctx, scope, chosen, begun);
    const earlier = recordedRoleName(recorded);
    const own = await ownRoleAssignment(() => ctx.clients.arm(), recorded);
    let summary = `${assigned.summary}; kept the earlier ${earlier} assignment, which existed before this tool`;
    if (own && !sameId(own.id, assigned.outputs.roleAssignmentId)) {
      await unlessNotFound((await ctx.clients.arm()).deleteRoleAssignment(own.scope, own.name));
      summary = `${assigned.summary}; removed the tool's earlier ${earlier} assignment (${own.name})`;
    }
    delete ctx.state.roleChange;
    return { ...assigned, summary };
  },
};

/** An earlier run's unfinished change to another role than `chosen`: the assignment it may have made goes. */
async function dropBegunChange(ctx: Context, scope: string, chosen: ResolvedRole, begun: { roleDefinitionId: string }): Promise<void> {
  if (sameRole(begun.roleDefinitionId, chosen.guid)) return;
  await removeToolAssignment(await ctx.clients.arm(), scope, need(ctx, 'servicePrincipalId'), begun.roleDefinitionId);
}

/** --role names another role than the one the state records (judged by text; the step resolves it to be sure). */
function roleChangeAsked(ctx: Context): boolean {
  const recorded = ctx.state.steps.role?.outputs;
  const subscriptionId = ctx.state.subscriptionId;
  return ctx.config.roleExplicit && recorded !== undefined && subscriptionId !== undefined && !asksForRecordedRole(ctx.config.role, recorded, subscriptionId);
}

/** Links made before --role existed record no definition: they hold Contributor. */
function holdsRole(recorded: StepOutputs['role'], chosen: ResolvedRole): boolean {
  return sameRole(recorded.roleDefinitionId ?? CONTRIBUTOR_ROLE_ID, chosen.guid);
}

function removalOf(recorded: StepOutputs['role']): string {
  return recorded.roleAssignmentPreexisting === 'true'
    ? `keep the earlier ${recordedRoleName(recorded)} assignment, which existed before this tool`
    : `remove the tool's earlier ${recordedRoleName(recorded)} assignment`;
}

async function assign(ctx: Context, stepId: string, resolved: ResolvedRole): Promise<{ outputs: StepOutputs['role']; summary: string }> {
  const arm = await ctx.clients.arm();
  const principalId = need(ctx, 'servicePrincipalId');
  const scope = subscriptionScope(need(ctx, 'subscriptionId'));
  const chosen = await createRoleDefinitionIfMissing(ctx, resolved);
  const roleDefinitionId = chosen.definitionId;
  const roleOutputs = { roleDefinitionId, roleName: chosen.roleName };
  const name = roleAssignmentName(scope, principalId, chosen.guid);
  try {
    const assignment = await retryOnLag(
      stepId,
      ctx.lagSchedule,
      principalNotFound,
      () => arm.createRoleAssignment(scope, name, { roleDefinitionId, principalId }),
      {
        sleep: ctx.sleep,
        report: ctx.report,
      },
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
}
