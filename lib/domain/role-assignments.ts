import type { ArmApi } from '../clients/arm.ts';
import { unlessNotFound } from '../core/errors.ts';
import { deterministicGuid } from './ids.ts';

const ROLE_ASSIGNMENTS = '/providers/Microsoft.Authorization/roleAssignments/';

export function subscriptionScope(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}`;
}

/** The assignment's name: a UUID fixed by scope, principal and role, so a re-run PUTs the same assignment. */
export function roleAssignmentName(scope: string, principalId: string, roleId: string): string {
  return deterministicGuid(scope, principalId, roleId);
}

/** Role definition ids compare by their trailing GUID: ARM may answer with or without the subscription prefix. */
export function sameRole(a: string, b: string): boolean {
  const guid = (id: string) => id.split('/').pop()!.toLowerCase();
  return guid(a) === guid(b);
}

export interface OwnAssignment {
  scope: string;
  name: string;
  id: string;
}

/**
 * The assignment this tool made: the recorded id, or, when a run stopped inside the role step, the
 * principal's assignment on the subscription that carries the name the role step gives it (scope,
 * principal and role fix it, whatever the role). An assignment that existed before the tool ran is
 * not ours to remove.
 */
export async function ownRoleAssignment(
  arm: () => Promise<ArmApi>,
  recorded: { roleAssignmentId?: string; roleAssignmentPreexisting?: string; subscriptionId?: string; servicePrincipalId?: string },
): Promise<OwnAssignment | undefined> {
  const { roleAssignmentId, roleAssignmentPreexisting, subscriptionId, servicePrincipalId } = recorded;
  if (roleAssignmentPreexisting === 'true') return undefined;
  if (roleAssignmentId) return parseAssignmentId(roleAssignmentId);
  if (!subscriptionId || !servicePrincipalId) return undefined;
  const scope = subscriptionScope(subscriptionId);
  const assignments = await (await arm()).listRoleAssignments(scope, servicePrincipalId);
  const made = assignments.find((a) => a.name.toLowerCase() === roleAssignmentName(scope, servicePrincipalId, a.roleDefinitionId.split('/').pop()!));
  return made && { scope, name: made.name, id: made.id };
}

function parseAssignmentId(id: string): OwnAssignment {
  const at = id.toLowerCase().indexOf(ROLE_ASSIGNMENTS.toLowerCase());
  return { scope: id.slice(0, at), name: id.slice(at + ROLE_ASSIGNMENTS.length), id };
}

/** Removes the assignment of `roleDefinitionId` the role step gives `principalId` at `scope` (its name is fixed by the three), if there. */
export async function removeToolAssignment(arm: ArmApi, scope: string, principalId: string, roleDefinitionId: string): Promise<void> {
  await unlessNotFound(arm.deleteRoleAssignment(scope, roleAssignmentName(scope, principalId, roleDefinitionId.split('/').pop()!)));
}
