import { ApiError } from '../core/errors.ts';

/** The application's immutable alternate key: derived from the Spot account, so every run finds the same app. */
export function uniqueNameFor(accountId: string): string {
  return `spot-azure-onboard-${accountId}`;
}

export function appNameFor(accountId: string, appName: string | undefined): string {
  return appName ?? `Spot ${accountId}`;
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
