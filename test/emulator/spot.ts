import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ApiHandler, ApiRequest, ApiResponse, Context } from './http.ts';
import { bearer, isRecord, lagging, str } from './http.ts';
import { checkClientCredentials } from './identity.ts';
import type { SpotAccount } from './store.ts';
import { digits, hex } from './store.ts';

interface SpotError {
  code: string;
  message: string;
  field?: string;
}

function requestPart(req: ApiRequest): Record<string, unknown> {
  const query = req.query.toString();
  return {
    id: req.ids['request.id'],
    url: req.pathname + (query ? `?${query}` : ''),
    method: req.method,
    timestamp: new Date().toISOString(),
  };
}

function statusMessage(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export function spotEnvelope(req: ApiRequest, status: number, extra: { kind?: string; items?: unknown[]; errors?: SpotError[] } = {}): ApiResponse {
  const response: Record<string, unknown> = { status: { code: status, message: statusMessage(status) } };
  if (extra.kind !== undefined) response['kind'] = extra.kind;
  if (extra.items !== undefined) {
    response['items'] = extra.items;
    response['count'] = extra.items.length;
  }
  if (extra.errors !== undefined) response['errors'] = extra.errors;
  return { status, body: { request: requestPart(req), response } };
}

function errors(req: ApiRequest, status: number, ...list: SpotError[]): ApiResponse {
  return spotEnvelope(req, status, { errors: list });
}

function cantValidate(req: ApiRequest, detail: string): ApiResponse {
  // Spot does not document this code; what matters is that the message carries Entra's own error text.
  return errors(req, 400, { code: 'CANT_VALIDATE_CREDENTIALS', message: `Failed to validate credentials: ${detail}` });
}

/**
 * Whether Azure RBAC, as Spot sees it, lets `principalId` read `scope`: some assignment covers it and
 * has replicated (articles/role-based-access-control/troubleshooting.md: a new assignment can take minutes to take effect).
 * With no covering assignment at all, never.
 */
function rbacCaughtUp(ctx: Context, principalId: string, scope: string): boolean {
  const covering = ctx.store.coveringAssignments(principalId, scope);
  return covering.some((a) => !lagging(ctx, 'spotRbac', a.id, a.createdAt));
}

/**
 * Spot checks new credentials by reading the subscription's virtual machines; Azure's AuthorizationFailed
 * text is Azure RBAC's (MicrosoftDocs/azure-docs articles/role-based-access-control/troubleshooting.md). The envelope's code for it is
 * undocumented (spotinst/openapi lists none): 'AuthorizationFailed', Azure's own code, is a guess.
 */
function rbacRefusal(req: ApiRequest, clientId: string, principalId: string, scope: string): ApiResponse {
  return errors(req, 400, {
    code: 'AuthorizationFailed',
    message: `The client '${clientId}' with object id '${principalId}' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  });
}

const CREDENTIAL_FIELDS = ['clientId', 'clientSecret', 'tenantId', 'subscriptionId', 'expirationDate'] as const;

type Credentials = Record<(typeof CREDENTIAL_FIELDS)[number], string>;

/** What Spot does with the credentials: sign in as the app and look at the subscription. */
function validate(req: ApiRequest, ctx: Context): { credentials: Credentials } | ApiResponse {
  const body = isRecord(req.body) ? req.body : {};
  const missing = CREDENTIAL_FIELDS.filter((f) => !str(body[f]));
  if (missing.length > 0) {
    return errors(req, 400, ...missing.map((field) => ({ code: 'VALIDATION_ERROR', message: `${field} is required`, field })));
  }
  const credentials = Object.fromEntries(CREDENTIAL_FIELDS.map((f) => [f, str(body[f]) ?? ''])) as Credentials;
  if (Number.isNaN(Date.parse(credentials.expirationDate))) {
    return errors(req, 400, { code: 'VALIDATION_ERROR', message: 'expirationDate must be a valid ISO 8601 date', field: 'expirationDate' });
  }
  const { store } = ctx;
  const signIn = checkClientCredentials(ctx, credentials.tenantId, credentials.clientId, credentials.clientSecret);
  if (!signIn.ok) return cantValidate(req, signIn.description);
  const subscriptionId = credentials.subscriptionId;
  const subscription = store.subscription(subscriptionId);
  const scope = `/subscriptions/${subscriptionId}`;
  if (!subscription) return cantValidate(req, `SubscriptionNotFound: The subscription '${subscriptionId}' could not be found.`);
  if (!rbacCaughtUp(ctx, signIn.principalId, scope)) {
    return rbacRefusal(req, credentials.clientId, signIn.principalId, scope);
  }
  return { credentials };
}

function accountFor(req: ApiRequest, ctx: Context): SpotAccount | ApiResponse {
  const accountId = req.query.get('accountId');
  if (!accountId) return errors(req, 400, { code: 'VALIDATION_ERROR', message: 'accountId is required', field: 'accountId' });
  const account = ctx.store.account(accountId);
  if (!account) return errors(req, 400, { code: 'ACCOUNT_NOT_FOUND', message: `Account ${accountId} not found` });
  return account;
}

function isResponse(value: unknown): value is ApiResponse {
  return isRecord(value) && typeof value['status'] === 'number';
}

function route(req: ApiRequest, ctx: Context): ApiResponse {
  const { store } = ctx;
  const path = req.pathname.replace(/\/+$/, '');
  if (path === '/setup/account') {
    if (req.method === 'GET') {
      return spotEnvelope(req, 200, { kind: 'spotinst:setup:account', items: store.spot.accounts.map((a) => ({ ...a })) });
    }
    if (req.method === 'POST') {
      const input = isRecord(req.body) && isRecord(req.body['account']) ? req.body['account'] : undefined;
      const name = str(input?.['name']);
      if (!name) return errors(req, 400, { code: 'VALIDATION_ERROR', message: 'account.name is required', field: 'account.name' });
      const organizationId = store.spot.accounts[0]?.organizationId ?? '606079' + digits(6);
      // Spot does not de-duplicate account names; the answer names the id `id`, not `accountId`.
      const account: SpotAccount = { accountId: 'act-' + hex(4), name, organizationId, providerExternalId: null, cloudProvider: null };
      store.spot.accounts.push(account);
      return spotEnvelope(req, 200, { kind: 'spotinst:setup:account', items: [{ id: account.accountId, name, organizationId }] });
    }
  }
  const accountPath = /^\/setup\/account\/([^/]+)$/.exec(path);
  if (accountPath?.[1] && req.method === 'DELETE') {
    const account = store.account(accountPath[1]);
    if (!account) return errors(req, 400, { code: 'ACCOUNT_NOT_FOUND', message: `Account ${accountPath[1]} not found` });
    store.spot.accounts.splice(store.spot.accounts.indexOf(account), 1);
    store.spot.credentials.delete(account.accountId);
    return spotEnvelope(req, 200);
  }
  if (path === '/azure/setup/credentials' && (req.method === 'POST' || req.method === 'GET')) {
    const account = accountFor(req, ctx);
    if (isResponse(account)) return account;
    if (req.method === 'GET') {
      const saved = store.spot.credentials.get(account.accountId);
      const items = saved
        ? [
            {
              clientId: saved.clientId,
              clientSecret: '****',
              tenantId: saved.tenantId,
              subscriptionId: saved.subscriptionId,
              expirationDate: saved.expirationDate,
            },
          ]
        : [];
      return spotEnvelope(req, 200, { kind: 'spotinst:azure:setup:credentials', items });
    }
    const result = validate(req, ctx);
    if (isResponse(result)) return result;
    // Re-posting replaces the saved credentials: that is how a secret is rotated.
    store.spot.credentials.set(account.accountId, { ...result.credentials, updatedAt: ctx.now() });
    account.cloudProvider = 'AZURE';
    account.providerExternalId = result.credentials.subscriptionId;
    return spotEnvelope(req, 200);
  }
  if (path === '/azure/setup/credentials/validation' && req.method === 'POST') {
    const account = accountFor(req, ctx);
    if (isResponse(account)) return account;
    const result = validate(req, ctx);
    return isResponse(result) ? result : spotEnvelope(req, 200);
  }
  return errors(req, 404, { code: 'NOT_FOUND', message: 'Route not found' });
}

export const spotApi: ApiHandler = {
  handle(req, ctx) {
    if (bearer(req) !== ctx.store.spot.token) return spotEnvelope(req, 401);
    if (req.invalidBody) return errors(req, 400, { code: 'VALIDATION_ERROR', message: 'Request body is not valid JSON' });
    return route(req, ctx);
  },
  faultBody(status, req) {
    const code = status === 429 ? 'TOO_MANY_REQUESTS' : (STATUS_CODES[status] ?? 'ERROR').toUpperCase().replace(/\W+/g, '_');
    return spotEnvelope(req, status, { errors: [{ code, message: status === 429 ? 'Rate limit exceeded' : `Injected fault (HTTP ${status})` }] }).body;
  },
  // Spot's answers carry the id only in the envelope's request.id (spotinst/openapi), e.g. 'a1b2c3d4-e5f6'.
  ids() {
    return { 'request.id': randomBytes(4).toString('hex') + '-' + randomBytes(2).toString('hex') };
  },
  headers() {
    return {};
  },
};
