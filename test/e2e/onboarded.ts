import * as assert from 'uvu/assert';
import type { Emulator } from '../emulator/server.ts';

/** The fields of provision's --json, sorted: ids and dates, never a secret. */
export const PROVISION_JSON_FIELDS = [
  'accountId',
  'appId',
  'applicationObjectId',
  'roleAssignmentId',
  'secretExpiresAt',
  'secretKeyId',
  'servicePrincipalId',
  'subscriptionId',
  'tenantId',
];

const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const TOOL_SECRET = 'spot-azure-onboard';

/**
 * The promised end state for one Spot account: exactly one application (found by its unique name) with
 * one service principal, one Contributor assignment on the subscription, exactly one secret made by
 * this tool, and Spot holding that secret with matching ids. Secrets made by others are not counted.
 */
export function assertOnboarded(emulator: Emulator, accountId: string, subscriptionId: string, label = ''): void {
  const { store } = emulator;
  const apps = store.applications.filter((a) => a.uniqueName === `spot-azure-onboard-${accountId}`);
  assert.is(apps.length, 1, `${label} applications`);
  const app = apps[0]!;
  const sps = store.servicePrincipals.filter((sp) => sp.appId === app.appId);
  assert.is(sps.length, 1, `${label} service principals`);
  const assignments = store.roleAssignments.filter((a) => a.principalId === sps[0]!.id);
  assert.is(assignments.length, 1, `${label} role assignments`);
  assert.ok(assignments[0]!.roleDefinitionId.endsWith(CONTRIBUTOR), `${label} role is Contributor`);
  assert.is(assignments[0]!.scope, `/subscriptions/${subscriptionId}`, `${label} assignment scope`);
  const own = app.passwordCredentials.filter((p) => p.displayName === TOOL_SECRET);
  assert.is(own.length, 1, `${label} secrets made by the tool`);
  const linked = store.spot.credentials.get(accountId);
  assert.ok(linked, `${label} Spot holds credentials`);
  assert.is(linked!.clientId, app.appId, `${label} Spot clientId`);
  assert.is(linked!.tenantId, store.tenant.id, `${label} Spot tenantId`);
  assert.is(linked!.subscriptionId, subscriptionId, `${label} Spot subscriptionId`);
  assert.is(linked!.clientSecret, own[0]!.secretText, `${label} Spot holds the live secret`);
}
