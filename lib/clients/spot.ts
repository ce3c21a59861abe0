import type { KyInstance } from 'ky';
import { auditing, currentRetry, publishAudit } from '../core/audit.ts';
import { ApiError, kindForStatus } from '../core/errors.ts';
import { spotRequestId } from './request-ids.ts';

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
  request?: { id?: string };
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
  const retryCounts = new WeakMap<Request, number>();
  const api: KyInstance = ky.create({
    prefixUrl: baseUrl,
    fetch: (input, init) => (auditing() ? auditedFetch(input as Request, init, retryCounts) : fetch(input, init)),
    hooks: { beforeRequest: [(request, _options, { retryCount }) => void retryCounts.set(request, retryCount)] },
    headers: { Authorization: `Bearer ${token}` },
    timeout: 60_000,
    retry: {
      limit: retryLimit,
      // POST is retried too: setting credentials replaces them, so sending it twice is harmless; account
      // creation opts out below. 500 is among them because Spot answers it for transient faults of its
      // own that the same call outlives a moment later, and every call retried here is idempotent.
      methods: ['get', 'post', 'delete'],
      statusCodes: [429, 500, 502, 503, 504],
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
      // Callers look the account up by name before creating one instead (lib/commands/provision/fleet.ts, guide.ts).
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

/**
 * One Spot request for the audit log. Spot names its requests in the body (`request.id`), which Node's
 * HTTP diagnostics channels do not show, so the client announces its own; ky hands every send, its
 * retries included, to this fetch, and `retryCounts` holds ky's number for each.
 */
async function auditedFetch(request: Request, init: RequestInit | undefined, retryCounts: WeakMap<Request, number>): Promise<Response> {
  const time = new Date().toISOString();
  const started = performance.now();
  const retry = currentRetry() + (retryCounts.get(request) ?? 0);
  const publish = (status: number, requestIds: Record<string, string>, error?: string) =>
    publishAudit({
      time,
      service: 'spot',
      method: request.method,
      url: request.url,
      status,
      durationMs: Math.round(performance.now() - started),
      retry,
      requestIds,
      ...(error ? { error } : {}),
    });
  try {
    const response = await fetch(request, init);
    const id = spotRequestId(
      await response
        .clone()
        .json()
        .catch(() => undefined),
    );
    publish(response.status, id ? { 'request.id': id } : {});
    return response;
  } catch (error) {
    publish(0, {}, error instanceof Error ? error.message : String(error));
    throw error;
  }
}

/** Spot's envelope carries `response.errors[{code,message}]`; a 401 carries none. */
async function spotError(error: unknown): Promise<unknown> {
  const response = (error as { response?: Response }).response;
  if (!(response instanceof Response)) {
    const message = error instanceof Error ? error.message : String(error);
    return new ApiError('spot', { kind: 'unavailable', status: 0, message: `The Spot API could not be reached: ${message}` }, { cause: error });
  }
  let errors: { code?: string; message?: string }[] = [];
  let requestId: string | undefined;
  try {
    const body = (await response.json()) as Envelope<unknown>;
    errors = body.response?.errors ?? [];
    requestId = spotRequestId(body);
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
      requestIds: requestId ? { 'request.id': requestId } : undefined,
    },
    { cause: error },
  );
}
