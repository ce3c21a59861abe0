import type { CustomRole } from '../clients/arm.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError } from '../core/errors.ts';
import { deterministicGuid, GUID } from './ids.ts';
import { subscriptionScope } from './role-assignments.ts';
import { SPOT_MINIMAL_ACTIONS } from './spot-minimal-role.ts';

/** Built-in Contributor (Azure built-in roles reference). */
export const CONTRIBUTOR_ROLE_ID = 'b24988ac-6180-42a0-ab88-20f7382dd24c';

/** The `--role` value that asks for a custom role holding only what Spot needs. */
export const SPOT_MINIMAL = 'spot-minimal';

const ROLE_DEFINITIONS = '/providers/Microsoft.Authorization/roleDefinitions/';

/** The role the service principal gets on one subscription, as the assignment names it. */
export interface ResolvedRole {
  /** The role definition's GUID. */
  guid: string;
  roleName: string;
  /** /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid} */
  definitionId: string;
  /** spot-minimal on a subscription that does not hold it yet: the role step creates it first. */
  toCreate?: CustomRole;
}

/** Custom role names are unique in the whole tenant, so each subscription's spot-minimal role carries its id. */
export function spotMinimalRoleName(subscriptionId: string): string {
  return `Spot Elastigroup and Ocean (spot-azure-onboard ${subscriptionId})`;
}

const resolved = new WeakMap<Context, { subscriptionId: string; role: Promise<ResolvedRole> }>();

/**
 * The role `--role` names, on the subscription: Contributor by its fixed id; spot-minimal found by its
 * role name or, when missing, described for the role step to create; a GUID or role definition id by
 * GET; any other text by exact role name (`$filter=roleName eq '…'`). Resolved once per run: preflight,
 * the role step and a dry-run plan share the answer. Reads only.
 */
export function resolveRoleDefinition(ctx: Context, subscriptionId: string): Promise<ResolvedRole> {
  const known = resolved.get(ctx);
  if (known?.subscriptionId === subscriptionId) return known.role;
  const role = lookUp(ctx, subscriptionId);
  resolved.set(ctx, { subscriptionId, role });
  role.catch(() => resolved.delete(ctx));
  return role;
}

async function lookUp(ctx: Context, subscriptionId: string): Promise<ResolvedRole> {
  const scope = subscriptionScope(subscriptionId);
  const at = (guid: string, roleName: string, toCreate?: CustomRole): ResolvedRole => ({
    guid,
    roleName,
    definitionId: `${scope}${ROLE_DEFINITIONS}${guid}`,
    ...(toCreate ? { toCreate } : {}),
  });
  // A --role change an earlier run began, and no --role now: that run's target.
  const wanted = ctx.config.roleExplicit ? ctx.config.role : (ctx.state.roleChange?.roleDefinitionId ?? ctx.config.role);
  // Built-in role ids are the same in every subscription and cloud: no lookup needed for the default.
  if (wanted.toLowerCase() === 'contributor') return at(CONTRIBUTOR_ROLE_ID, 'Contributor');
  const arm = await ctx.clients.arm();

  if (wanted.toLowerCase() === SPOT_MINIMAL) {
    const roleName = spotMinimalRoleName(subscriptionId);
    const [found] = await arm.findRoleDefinitions(scope, roleName);
    if (found) return at(found.name, roleName);
    return at(deterministicGuid(SPOT_MINIMAL, scope), roleName, {
      roleName,
      description: 'What Spot needs to run Elastigroup and Ocean on this subscription (Spot-Azure-Full-Permission.json); made by spot-azure-onboard.',
      actions: [...SPOT_MINIMAL_ACTIONS],
      assignableScopes: [scope],
    });
  }

  const guid = guidOf(wanted);
  if (guid) {
    const found = await arm.getRoleDefinition(scope, guid);
    if (!found) {
      throw new OnboardError(
        'not-found',
        `Role definition ${guid} (--role) does not exist, or cannot be assigned on subscription ${subscriptionId}.`,
        `List the roles you can assign there (az role definition list --scope ${scope} --query "[].{name:roleName, id:name}" -o table) and pass a name or id from it.`,
      );
    }
    return at(found.name || guid, found.roleName);
  }
  const [found] = await arm.findRoleDefinitions(scope, wanted);
  if (!found) {
    throw new OnboardError(
      'not-found',
      `No role named "${wanted}" (--role) can be assigned on subscription ${subscriptionId}.`,
      `Role names are matched exactly, spaces and case included; list them with az role definition list --scope ${scope} --query "[].roleName" -o tsv, or pass --role spot-minimal for a custom role holding only what Spot needs.`,
    );
  }
  return at(found.name, found.roleName);
}

/** The role a link records: its definition id and name; links made before --role existed hold Contributor. */
export interface RecordedRole {
  roleDefinitionId?: string;
  roleName?: string;
}

/**
 * Whether --role names the role the link already holds, judged from the text alone (no request): a
 * different spelling of the same role (its id instead of its name) counts as different here, and the
 * role step, which resolves it, then finds nothing to change.
 */
export function asksForRecordedRole(asked: string, recorded: RecordedRole, subscriptionId: string): boolean {
  const wanted = asked.toLowerCase();
  const recordedGuid = recorded.roleDefinitionId?.split('/').pop()?.toLowerCase() ?? CONTRIBUTOR_ROLE_ID;
  const recordedName = recorded.roleName ?? (recorded.roleDefinitionId ? '' : 'Contributor');
  if (wanted === SPOT_MINIMAL) return recordedName === spotMinimalRoleName(subscriptionId);
  if (wanted === 'contributor') return recordedGuid === CONTRIBUTOR_ROLE_ID;
  const guid = guidOf(asked);
  // Names exactly, as the lookup matches them (a different case fails there, so it must not pass here).
  return guid ? guid === recordedGuid : asked === recordedName;
}

/** The recorded role's name for people: links made before --role existed hold Contributor. */
export function recordedRoleName(recorded: RecordedRole): string {
  return recorded.roleName ?? (recorded.roleDefinitionId ? recorded.roleDefinitionId.split('/').pop()! : 'Contributor');
}

/** spot-minimal on a subscription without it: PUT under a fixed GUID, so a repeated or racing run makes one definition. */
export async function createRoleDefinitionIfMissing(ctx: Context, chosen: ResolvedRole): Promise<ResolvedRole> {
  if (!chosen.toCreate) return chosen;
  const arm = await ctx.clients.arm();
  const scope = chosen.toCreate.assignableScopes[0]!;
  try {
    await arm.putRoleDefinition(scope, chosen.guid, chosen.toCreate);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.code === 'RoleDefinitionWithSameNameExists') {
      // Made meanwhile under another GUID (by hand, or a run that lost its answer): use that one.
      const [existing] = await arm.findRoleDefinitions(scope, chosen.roleName);
      if (existing) return { guid: existing.name, roleName: chosen.roleName, definitionId: `${scope}${ROLE_DEFINITIONS}${existing.name}` };
    }
    if (error instanceof ApiError && error.status === 403) {
      throw error.withHint(
        'Creating the spot-minimal custom role needs Microsoft.Authorization/roleDefinitions/write (Owner or User Access Administrator); ask for it, or pass --role with an existing role.',
      );
    }
    throw error;
  }
  ctx.report.info(`created custom role "${chosen.roleName}" (${chosen.guid}) with the ${chosen.toCreate.actions.length} actions Spot needs`);
  return { guid: chosen.guid, roleName: chosen.roleName, definitionId: chosen.definitionId };
}

/** A bare GUID, or the GUID at the end of a role definition id. */
function guidOf(value: string): string | undefined {
  const last = value.split('/').pop() ?? '';
  const isId = value.includes('/') ? value.toLowerCase().includes(ROLE_DEFINITIONS.toLowerCase()) : true;
  return isId && GUID.test(last) ? last.toLowerCase() : undefined;
}
