import type { KyInstance } from 'ky';
import { ApiError, kindForStatus } from '../core/errors.ts';

export interface SpotAccount {
  accountId: string;
  name: string;
  organizationId?: string;
  providerExternalId?: string | null;
  cloudProvider?: string | null;
}

export interface AzureCredentials {
  clientId: string;
  clientSecret: string;
  tenantId: string;
  subscriptionId: string;
  /** The secret's end date, so Spot can warn before it expires. */
  expirationDate: string;
}

export type LinkedCredentials = Omit<AzureCredentials, 'clientSecret' | 'expirationDate'> & { expirationDate?: string };

/** The Spot API calls the steps make; every failure comes out as an ApiError('spot'). */
export interface SpotApi {
  listAccounts(): Promise<SpotAccount[]>;
  createAccount(name: string): Promise<SpotAccount>;
  deleteAccount(accountId: string): Promise<void>;
  setAzureCredentials(accountId: string, credentials: AzureCredentials): Promise<void>;
  getAzureCredentials(accountId: string): Promise<LinkedCredentials | undefined>;
}

interface Envelope<T> {
  response?: { status?: { code?: number; message?: string }; items?: T[]; errors?: { code?: string; message?: string; field?: string }[] };
}

export interface SpotClientOptions {
  baseUrl: string;
  token: string;
  /** Retries for throttling and transient failures; tests shorten them. */
  retryLimit?: number;
}

export async function createSpotApi({ baseUrl, token, retryLimit = 4 }: SpotClientOptions): Promise<SpotApi> {
  const { default: ky } = await import('ky');
  const api: KyInstance = ky.create({
    prefixUrl: baseUrl,
    headers: { Authorization: `Bearer ${token}` },
    timeout: 60_000,
    retry: {
      limit: retryLimit,
      // POST is retried too: setting credentials replaces them, so sending it twice is harmless; account
      // creation opts out below.
      methods: ['get', 'post', 'delete'],
      statusCodes: [429, 502, 503, 504],
      afterStatusCodes: [429, 503],
      maxRetryAfter: 60_000,
      backoffLimit: 5_000,
    },
  });
  const call = async <T>(request: () => Promise<unknown>): Promise<T[]> => {
    try {
      return ((await request()) as Envelope<T>).response?.items ?? [];
    } catch (error) {
      throw await spotError(error);
    }
  };
  const account = (accountId: string) => new URLSearchParams({ accountId });

  return {
    listAccounts: () => call<SpotAccount>(() => api.get('setup/account').json()),
    async createAccount(name) {
      // The create answer names the new account `id`, not `accountId` (spotinst/openapi).
      // No automatic retry: Spot does not de-duplicate account names, so resending after a 502/504 or a
      // reset connection, when the first request may already have created the account, leaves an orphan.
      // Callers look the account up by name before creating one instead (lib/fleet.ts, lib/guide.ts).
      const [created] = await call<{ id: string; name: string; organizationId?: string }>(() =>
        api.post('setup/account', { json: { account: { name } }, retry: 0 }).json(),
      );
      if (!created) throw new ApiError('spot', { kind: 'unavailable', status: 200, message: 'Spot created an account but returned no id.' });
      return { accountId: created.id, name: created.name, organizationId: created.organizationId };
    },
    async deleteAccount(accountId) {
      await call(() => api.delete(`setup/account/${accountId}`).json());
    },
    async setAzureCredentials(accountId, credentials) {
      await call(() => api.post('azure/setup/credentials', { searchParams: account(accountId), json: credentials }).json());
    },
    async getAzureCredentials(accountId) {
      const [linked] = await call<LinkedCredentials>(() => api.get('azure/setup/credentials', { searchParams: account(accountId) }).json());
      return linked;
    },
  };
}

/** Spot's envelope carries `response.errors[{code,message}]`; a 401 carries none. */
async function spotError(error: unknown): Promise<unknown> {
  const response = (error as { response?: Response }).response;
  if (!(response instanceof Response)) {
    const message = error instanceof Error ? error.message : String(error);
    return new ApiError('spot', { kind: 'unavailable', status: 0, message: `The Spot API could not be reached: ${message}` }, { cause: error });
  }
  let errors: { code?: string; message?: string }[] = [];
  try {
    errors = ((await response.json()) as Envelope<unknown>).response?.errors ?? [];
  } catch {
    // Not Spot's envelope (a proxy or gateway page): the status is all there is.
  }
  const described = errors.map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`.trim()).join('; ');
  return new ApiError(
    'spot',
    {
      kind: kindForStatus(response.status),
      status: response.status,
      code: errors[0]?.code,
      message: `The Spot API answered ${response.status}${described ? ` (${described})` : ` ${response.statusText}`}`,
    },
    { cause: error },
  );
}
