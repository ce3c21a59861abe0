import { createHash } from 'node:crypto';
import { ApiError } from '../errors.ts';
import { principalNotFound } from '../lag.ts';
import { retryOnLag } from '../retry.ts';
import { need, type Step, type StepResult } from './step.ts';

/** Built-in Contributor (Azure built-in roles reference). */
export const CONTRIBUTOR_ROLE_ID = 'b24988ac-6180-42a0-ab88-20f7382dd24c';

/** The assignment's name: a UUID fixed by scope, principal and role, so a re-run PUTs the same assignment. */
export function roleAssignmentName(scope: string, principalId: string, roleId: string): string {
  const hex = createHash('sha256').update(`${scope.toLowerCase()}|${principalId.toLowerCase()}|${roleId.toLowerCase()}`).digest('hex');
  // Shaped as an RFC 4122 name-based UUID (version 5 bits, variant 10) so ARM accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** Role definition ids compare by their trailing GUID: ARM may answer with or without the subscription prefix. */
export function sameRole(a: string, b: string): boolean {
  const guid = (id: string) => id.split('/').pop()!.toLowerCase();
  return guid(a) === guid(b);
}

/** Grant the service principal Contributor on the subscription. */
export const role: Step = {
  id: 'role',
  title: 'Assign Contributor on the subscription',
  async run(ctx): Promise<StepResult> {
    const arm = await ctx.clients.arm();
    const subscriptionId = need(ctx, 'subscriptionId');
    const principalId = need(ctx, 'servicePrincipalId');
    const scope = `/subscriptions/${subscriptionId}`;
    const roleDefinitionId = `${scope}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR_ROLE_ID}`;
    const name = roleAssignmentName(scope, principalId, CONTRIBUTOR_ROLE_ID);
    try {
      const assignment = await retryOnLag(this.id, ctx.lagSchedule, principalNotFound,
        () => arm.createRoleAssignment(scope, name, { roleDefinitionId, principalId }), { sleep: ctx.sleep, report: ctx.report });
      return { outputs: { roleAssignmentId: assignment.id }, summary: `Contributor assigned on ${scope} (${assignment.name})` };
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.code === 'RoleAssignmentExists') {
        // The same principal and role under another name (made by hand or another tool): already done.
        const existing = (await arm.listRoleAssignments(scope, principalId)).find((a) => sameRole(a.roleDefinitionId, CONTRIBUTOR_ROLE_ID));
        return { outputs: { roleAssignmentId: existing?.id ?? '', roleAssignmentPreexisting: 'true' }, summary: `Contributor was already assigned on ${scope}` };
      }
      if (error instanceof ApiError && error.status === 403) {
        throw error.withHint('Ask for Owner or User Access Administrator on the subscription (Contributor cannot assign roles), then run again.');
      }
      throw error;
    }
  },
};
