import type { SpotAccount, SpotApi } from '../clients/spot.ts';
import { ApiError, OnboardError } from '../core/errors.ts';

/** The accounts the token can see; a rejected token or a non-admin token is explained. */
export async function listSpotAccounts(spot: SpotApi): Promise<SpotAccount[]> {
  try {
    return await spot.listAccounts();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      throw error.withHint(
        'Create a new token in the Spot console (Settings → API → Permanent Tokens) and export it as SPOTINST_TOKEN.',
        'The Spot API rejected SPOTINST_TOKEN (401): the token is invalid or expired.',
      );
    }
    if (error instanceof ApiError && error.status === 403) {
      throw error.withHint(
        'Use a token of an Organization Admin: only they can list and link accounts.',
        'The Spot API refused to list accounts (403): the token is not an Organization Admin token.',
      );
    }
    throw error;
  }
}

/** The token works and can see the account: checked before anything changes in Azure. */
export async function findSpotAccount(spot: SpotApi, accountId: string): Promise<SpotAccount> {
  const accounts = await listSpotAccounts(spot);
  const account = accounts.find((a) => a.accountId === accountId);
  if (!account) {
    const visible = accounts.map((a) => `${a.accountId} (${a.name})`).join(', ') || 'none';
    throw new OnboardError(
      'not-found',
      `Spot account ${accountId} is not in the organization of this token. Accounts it can see: ${visible}.`,
      'Pass one of those with --account-id, or use a token of the organization that owns the account.',
    );
  }
  return account;
}

/** Spot's API does not de-duplicate names, and display names repeat ("Pay-As-You-Go"): the id keeps a created account's name unique. */
export function accountNameFor(subscription: { subscriptionId: string; subscriptionName: string }): string {
  return `${subscription.subscriptionName} (${subscription.subscriptionId})`;
}

/**
 * The accounts of one listing, found by id, by the subscription linked to them (Spot sets
 * `providerExternalId` when credentials are linked) and, among unlinked ones, by name, each in constant
 * time: a fleet looks up thousands of subscriptions in thousands of accounts. The first of duplicates wins.
 */
export class SpotAccountIndex {
  readonly #byId = new Map<string, SpotAccount>();
  readonly #byLinkedSubscription = new Map<string, SpotAccount>();
  readonly #unlinkedByName = new Map<string, SpotAccount>();

  constructor(accounts: SpotAccount[]) {
    for (const account of accounts) this.add(account);
  }

  add(account: SpotAccount): void {
    if (!this.#byId.has(account.accountId)) this.#byId.set(account.accountId, account);
    const linked = account.providerExternalId?.toLowerCase();
    if (linked) {
      if (!this.#byLinkedSubscription.has(linked)) this.#byLinkedSubscription.set(linked, account);
    } else if (!this.#unlinkedByName.has(account.name)) this.#unlinkedByName.set(account.name, account);
  }

  byId(accountId: string): SpotAccount | undefined {
    return this.#byId.get(accountId);
  }

  linkedTo(subscriptionId: string): SpotAccount | undefined {
    return this.#byLinkedSubscription.get(subscriptionId.toLowerCase());
  }

  unlinkedNamed(name: string): SpotAccount | undefined {
    return this.#unlinkedByName.get(name);
  }
}
