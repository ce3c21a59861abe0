import type { TokenCredential } from '@azure/identity';
import type { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { ApiError, kindForStatus, UNREACHABLE_HINT, unlessNotFound } from '../core/errors.ts';
import { type RetryEffects, type RetrySchedule, retryOnLag } from '../core/retry.ts';
import type { TenantAppManagementPolicy } from '../domain/secret-policy.ts';
import { requestIdsFromHeaders } from './request-ids.ts';

/** The app instance property lock (Graph resources/serviceprincipallockconfiguration.md). */
export interface ServicePrincipalLock {
  isEnabled: boolean;
  allProperties: boolean;
  credentialsWithUsageVerify: boolean;
  credentialsWithUsageSign: boolean;
  tokenEncryptionKeyId: boolean;
}

/** What this tool sets on its application, beyond the unique name. */
export interface ApplicationShape {
  displayName: string;
  notes: string;
  tags: string[];
  servicePrincipalLockConfiguration: ServicePrincipalLock;
}

export interface Application extends Partial<Omit<ApplicationShape, 'displayName' | 'notes'>> {
  id: string;
  appId: string;
  uniqueName?: string;
  displayName: string;
  notes?: string | null;
  createdDateTime?: string;
  passwordCredentials: PasswordCredential[];
}

export interface PasswordCredential {
  keyId: string;
  displayName: string | null;
  endDateTime: string;
}

export interface NewPassword extends PasswordCredential {
  secretText: string;
}

export interface ServicePrincipal {
  id: string;
  appId: string;
}

/** The Microsoft Graph calls the steps make; every failure comes out as an ApiError('graph'). */
export interface GraphApi {
  tenant(): Promise<{ id: string; displayName: string }>;
  /** Find-or-create by the immutable alternate key uniqueName (application-upsert.md). */
  upsertApplication(uniqueName: string, shape: ApplicationShape): Promise<{ application: Application; created: boolean }>;
  updateApplication(objectId: string, fields: Partial<ApplicationShape>): Promise<void>;
  getApplication(objectId: string): Promise<Application>;
  /** The application with this uniqueName, if any (read-only; for plans). */
  findApplication(uniqueName: string): Promise<Application | undefined>;
  /** The service principal of this appId, if any (read-only; for plans). */
  findServicePrincipal(appId: string): Promise<ServicePrincipal | undefined>;
  addPassword(applicationObjectId: string, displayName: string, endDateTime: string): Promise<NewPassword>;
  removePassword(applicationObjectId: string, keyId: string): Promise<void>;
  /** Find-or-create by appId (serviceprincipal-upsert.md). */
  upsertServicePrincipal(appId: string): Promise<{ servicePrincipal: ServicePrincipal; created: boolean }>;
  getServicePrincipal(objectId: string): Promise<ServicePrincipal>;
  /** The tenant's default app management policy; undefined when the caller may not read it (403: it needs Policy.Read.All). */
  defaultAppManagementPolicy(): Promise<TenantAppManagementPolicy | undefined>;
  deleteApplication(objectId: string): Promise<void>;
  deleteServicePrincipal(objectId: string): Promise<void>;
}

const APP_FIELDS = 'id,appId,uniqueName,displayName,notes,tags,servicePrincipalLockConfiguration,createdDateTime,passwordCredentials';

/**
 * The Graph client's RetryHandler retries only 429/503/504 answers, never a request that got no answer
 * (msgraph-sdk-javascript src/middleware/RetryHandler.ts RETRY_STATUS_CODES). So a reset
 * connection gets two quick retries here — on idempotent calls only: reads, the upserts by alternate
 * key, removePassword and DELETE. Never addPassword: a lost answer may have created a secret; the link
 * step removes such extras once the new secret is in Spot.
 */
const CONNECTION_RETRIES: RetrySchedule = { maxWaitMs: 750, initialDelayMs: 250, maxDelayMs: 500 };

/** Without a reporter (a client built on its own), connection retries happen unseen. */
const UNSEEN: RetryEffects = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  report: { stepStart() {}, stepDone() {}, stepFailed() {}, retrying() {}, info() {}, warn() {} },
};

export async function createGraphApi(credential: TokenCredential, graphEndpoint: string, effects: RetryEffects = UNSEEN): Promise<GraphApi> {
  const { Client, TokenCredentialAuthenticationProvider } = await import('./graph-sdk.ts');
  const { scopes, baseUrl, customHosts } = graphClientSettings(graphEndpoint);
  const client: Client = Client.initWithMiddleware({
    // CAE tokens like the ARM pipeline's, so @azure/identity serves both from one token cache.
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes, getTokenOptions: { enableCae: true } }),
    baseUrl,
    customHosts,
  });
  const once = <T>(request: () => Promise<T>) => request().catch((error: unknown) => Promise.reject(graphError(error)));
  const call = <T>(request: () => Promise<T>) => retryOnLag('graph', CONNECTION_RETRIES, connectionFailed, () => once(request), effects);
  const key = (value: string) => `'${value.replace(/'/g, "''")}'`;

  const getApplication = (path: string) => call(() => client.api(path).version('v1.0').select(APP_FIELDS).get() as Promise<Application>);
  const getServicePrincipal = (path: string) => call(() => client.api(path).version('v1.0').select('id,appId').get() as Promise<ServicePrincipal>);

  return {
    async tenant() {
      const result = (await call(() => client.api('/organization').version('v1.0').select('id,displayName').get())) as {
        value: { id: string; displayName: string }[];
      };
      const organization = result.value[0];
      if (!organization) throw new ApiError('graph', { kind: 'not-found', status: 200, message: 'Graph returned no organization for the signed-in identity.' });
      return organization;
    },
    async upsertApplication(uniqueName, shape) {
      const path = `/applications(uniqueName=${key(uniqueName)})`;
      const created = (await call(() =>
        client
          .api(path)
          .version('v1.0')
          .header('Prefer', 'create-if-missing')
          .patch({ ...shape, signInAudience: 'AzureADMyOrg' }),
      )) as Application | undefined;
      // 201 carries the new object; 204 (it existed, and was updated) carries nothing.
      if (created?.id) return { application: { ...created, passwordCredentials: created.passwordCredentials ?? [] }, created: true };
      return { application: await getApplication(path), created: false };
    },
    async updateApplication(objectId, fields) {
      await call(() => client.api(`/applications/${objectId}`).version('v1.0').patch(fields));
    },
    getApplication: (objectId) => getApplication(`/applications/${objectId}`),
    findApplication: (uniqueName) => unlessNotFound(getApplication(`/applications(uniqueName=${key(uniqueName)})`)),
    findServicePrincipal: (appId) => unlessNotFound(getServicePrincipal(`/servicePrincipals(appId=${key(appId)})`)),
    addPassword: (applicationObjectId, displayName, endDateTime) =>
      once(() => client.api(`/applications/${applicationObjectId}/addPassword`).version('v1.0').post({ passwordCredential: { displayName, endDateTime } })),
    async removePassword(applicationObjectId, keyId) {
      await call(() => client.api(`/applications/${applicationObjectId}/removePassword`).version('v1.0').post({ keyId }));
    },
    async upsertServicePrincipal(appId) {
      const path = `/servicePrincipals(appId=${key(appId)})`;
      const created = (await call(() => client.api(path).version('v1.0').header('Prefer', 'create-if-missing').patch({}))) as ServicePrincipal | undefined;
      if (created?.id) return { servicePrincipal: created, created: true };
      return { servicePrincipal: await getServicePrincipal(path), created: false };
    },
    getServicePrincipal: (objectId) => getServicePrincipal(`/servicePrincipals/${objectId}`),
    // Graph answers a caller without Policy.Read.All with 403, as Authorization_RequestDenied or, for a
    // token that lacks the scope, AccessDenied (Azure/azure-cli issue #23906): either way, unknown.
    defaultAppManagementPolicy: () =>
      call(() => client.api('/policies/defaultAppManagementPolicy').version('v1.0').get() as Promise<TenantAppManagementPolicy>).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 403) return undefined;
        throw error;
      }),
    async deleteApplication(objectId) {
      await call(() => client.api(`/applications/${objectId}`).version('v1.0').delete());
    },
    async deleteServicePrincipal(objectId) {
      await call(() => client.api(`/servicePrincipals/${objectId}`).version('v1.0').delete());
    },
  };
}

/** Where the Graph client sends requests and which token it asks for, for a cloud's Graph endpoint
 * (msgraph-sdk-javascript src/middleware/AuthenticationHandler.ts: hosts that are neither Graph's nor in customHosts get no token). */
export function graphClientSettings(graphEndpoint: string): { scopes: string[]; baseUrl: string; customHosts: Set<string> } {
  return {
    scopes: [`${graphEndpoint}/.default`],
    baseUrl: `${graphEndpoint}/`,
    // The client attaches the token only to hosts it knows; other clouds and the emulator must be listed.
    customHosts: new Set([new URL(graphEndpoint).hostname]),
  };
}

function connectionFailed(error: unknown): string | undefined {
  return error instanceof ApiError && error.api === 'graph' && error.status === 0 ? 'connection to Microsoft Graph failed' : undefined;
}

/** Graph's error body is `{error:{code,message,innerError,details}}`; GraphError keeps the inner object as JSON text. */
function graphError(error: unknown): unknown {
  const graph = error as Partial<GraphError>;
  if (typeof graph.statusCode !== 'number' || graph.statusCode <= 0) {
    // Node's fetch reports every failure to get an answer (reset, refused, DNS, timeout) as a TypeError
    // ("fetch failed", "terminated"); the Graph client wraps it as statusCode -1 with code 'TypeError'.
    // A credential failure also comes as -1, under its own name, and passes through.
    // Only fetch's own wording counts: a TypeError from a bug must surface as a bug, not as "unreachable".
    const networkFailure = (graph.code === 'TypeError' || error instanceof TypeError) && /^(fetch failed|terminated)/i.test(graph.message ?? '');
    if (!networkFailure) return error;
    return new ApiError(
      'graph',
      { kind: 'unavailable', status: 0, message: `Microsoft Graph could not be reached: ${graph.message ?? 'no answer'}.`, hint: UNREACHABLE_HINT },
      { cause: error },
    );
  }
  let detailCodes: string[] = [];
  try {
    const body = typeof graph.body === 'string' ? JSON.parse(graph.body) : graph.body;
    const inner = body?.error ?? body;
    detailCodes = Array.isArray(inner?.details) ? inner.details.map((d: { code?: string }) => String(d.code)) : [];
  } catch {
    // A body that is not JSON (a proxy's HTML page) leaves only the status to go on.
  }
  return new ApiError(
    'graph',
    {
      kind: kindForStatus(graph.statusCode),
      status: graph.statusCode,
      code: graph.code ?? undefined,
      message: `Microsoft Graph answered ${graph.statusCode}${graph.code ? ` ${graph.code}` : ''}: ${graph.message ?? 'no message'}`,
      detailCodes,
      requestIds: requestIdsFromHeaders('graph', (name) => graph.headers?.get(name) ?? (name === 'request-id' ? graph.requestId : undefined)),
    },
    { cause: error },
  );
}
