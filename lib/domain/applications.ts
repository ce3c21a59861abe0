import type { Application, ApplicationShape } from '../clients/graph.ts';
import { ApiError } from '../core/errors.ts';

/** The application's immutable alternate key: derived from the Spot account, so every run finds the same app. */
export function uniqueNameFor(accountId: string): string {
  return `spot-azure-onboard-${accountId}`;
}

export function appNameFor(accountId: string, appName: string | undefined): string {
  return appName ?? `Spot ${accountId}`;
}

/** A tag every application of this tool carries, beside its Spot account id: how a directory search finds them. */
const TOOL_TAG = 'spot-azure-onboard';

/**
 * What the application says about itself, for whoever finds it in the directory, and the app instance
 * property lock: nobody can add a credential to its service principal, so the client secret on the
 * application (which Spot holds) is its only credential (Graph resources/serviceprincipallockconfiguration.md).
 */
export function applicationShape(accountId: string, displayName: string): ApplicationShape {
  return {
    displayName,
    notes:
      `Lets Spot (spot.io) manage Azure resources for Spot account ${accountId}. Created by spot-azure-onboard, ` +
      `which gave Spot this application's client secret and assigned its role on the linked subscription. ` +
      `Remove it with spot-azure-onboard's scripts/deprovision.ts --account-id ${accountId} (this deletes the role assignment, ` +
      'the service principal and this application).',
    tags: [TOOL_TAG, accountId],
    servicePrincipalLockConfiguration: {
      isEnabled: true,
      allProperties: true,
      credentialsWithUsageVerify: true,
      credentialsWithUsageSign: true,
      tokenEncryptionKeyId: true,
    },
  };
}

/** The fields of `wanted` that the application does not have yet: what a re-run updates. */
export function shapeDifferences(found: Application, wanted: ApplicationShape): Partial<ApplicationShape> {
  const differ: Partial<ApplicationShape> = {};
  if (found.displayName !== wanted.displayName) differ.displayName = wanted.displayName;
  if ((found.notes ?? '') !== wanted.notes) differ.notes = wanted.notes;
  if (wanted.tags.some((tag) => !found.tags?.includes(tag))) differ.tags = [...new Set([...(found.tags ?? []), ...wanted.tags])];
  const lock = found.servicePrincipalLockConfiguration;
  const wantedLock = wanted.servicePrincipalLockConfiguration;
  if (!lock || (Object.keys(wantedLock) as (keyof typeof wantedLock)[]).some((k) => lock[k] !== wantedLock[k])) {
    differ.servicePrincipalLockConfiguration = wantedLock;
  }
  return differ;
}

/** Runs a Graph delete; an object that is already gone is what we wanted. */
export async function deleteGraphObject(remove: () => Promise<void>): Promise<'removed' | 'already gone'> {
  try {
    await remove();
    return 'removed';
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return 'already gone';
    if (error instanceof ApiError && error.status === 403) {
      throw error.withHint('Deleting it needs the rights that created it: run as the same user, or as an Application Administrator, then run again.');
    }
    throw error;
  }
}
