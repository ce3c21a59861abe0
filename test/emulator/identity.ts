import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { ApiHandler, ApiRequest, ApiResponse, Context } from './http.ts';
import { bearer, header, isRecord, lagging, str } from './http.ts';
import type { IssuedToken, RefreshGrant } from './store.ts';

const TOKEN_LIFETIME_S = 3600;
/** The documented grant type (RFC 8628), and the short one MSAL sends (msal-common GrantType.DEVICE_CODE_GRANT); Entra ID takes both. */
const DEVICE_CODE_GRANTS = ['urn:ietf:params:oauth:grant-type:device_code', 'device_code'];
/** Entra ID's device codes live 15 minutes. */
const DEVICE_CODE_LIFETIME_S = 900;
/** Entra ID answers 5; MSAL waits `interval` seconds between polls, so 1 keeps a test's sign-in short. */
const DEVICE_CODE_INTERVAL_S = 1;
const VERIFICATION_URI = 'https://microsoft.com/devicelogin';
/** Entra ID's user codes are 9 upper-case letters and digits, e.g. FKD7NT2QL. */
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** The Azure CLI's first-party public client: the one client the emulator lets sign in with a device code. */
const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

export type ClientCheck = { ok: true; clientId: string; principalId: string } | { ok: false; status: number; error: string; code: number; description: string };

function fail(status: number, error: string, code: number, description: string): ClientCheck {
  return { ok: false, status, error, code, description: `AADSTS${code}: ${description}` };
}

export function knownTenant(ctx: Context, tenant: string): boolean {
  const t = tenant.toLowerCase();
  return t === ctx.store.tenant.id.toLowerCase() || t === ctx.store.tenant.domain.toLowerCase();
}

/**
 * Client-credentials check shared by the token endpoint and Spot's credential validation:
 * the caller's seeded service principal, or an app created through Graph with a live password.
 */
export function checkClientCredentials(ctx: Context, tenant: string, clientId: string, secret: string): ClientCheck {
  const { store } = ctx;
  if (!knownTenant(ctx, tenant)) return tenantNotFound(tenant);
  if (clientId.toLowerCase() === store.caller.clientId.toLowerCase()) {
    if (secret !== store.caller.clientSecret) return invalidSecret(clientId);
    return { ok: true, clientId, principalId: store.caller.objectId };
  }
  const app = store.appByAppId(clientId);
  if (!app) return appNotFound(ctx, clientId);
  const now = ctx.now();
  const password = app.passwordCredentials.find((p) => p.secretText === secret);
  // microsoft-graph-docs #17966: a new secret is rejected with AADSTS7000215 for seconds after addPassword.
  if (!password || Date.parse(password.startDateTime) > now || lagging(ctx, 'secretAccept', password.keyId, password.createdAt)) {
    return invalidSecret(clientId);
  }
  if (Date.parse(password.endDateTime) <= now) {
    return fail(
      401,
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    );
  }
  const sp = store.spByAppId(clientId);
  if (!sp) {
    return fail(
      401,
      'invalid_client',
      7000229,
      `The client application ${clientId} is missing service principal in the tenant ${store.tenant.id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
    );
  }
  return { ok: true, clientId, principalId: sp.id };
}

function appNotFound(ctx: Context, clientId: string): ClientCheck & { ok: false } {
  return {
    ok: false,
    status: 400,
    error: 'unauthorized_client',
    code: 700016,
    description: `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${ctx.store.tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  };
}

function tenantNotFound(tenant: string): ClientCheck & { ok: false } {
  return {
    ok: false,
    status: 400,
    error: 'invalid_request',
    code: 90002,
    description: `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  };
}

function invalidSecret(clientId: string): ClientCheck {
  return fail(
    401,
    'invalid_client',
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  );
}

function oauthError(status: number, error: string, code: number, description: string): ApiResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return {
    status,
    body: {
      error,
      error_description: `${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${new Date()
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')}`,
      error_codes: [code],
      timestamp: new Date()
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function jwt(payload: unknown): string {
  return `${b64url({ typ: 'JWT', alg: 'RS256', kid: 'emulator' })}.${b64url(payload)}.${randomBytes(32).toString('base64url')}`;
}

/** JWT-shaped so a client may decode it like a real one; the emulator only looks it up in the store. */
function issueToken(ctx: Context, principal: { clientId: string; principalId: string }, audience: string, idtyp: 'app' | 'user' = 'app'): string {
  const nowS = Math.floor(ctx.now() / 1000);
  const { id: tid } = ctx.store.tenant;
  const payload = {
    aud: audience,
    iss: `https://sts.windows.net/${tid}/`,
    iat: nowS,
    nbf: nowS,
    exp: nowS + TOKEN_LIFETIME_S,
    appid: principal.clientId,
    idtyp,
    oid: principal.principalId,
    sub: principal.principalId,
    tid,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  };
  const token = jwt(payload);
  const record: IssuedToken = { clientId: principal.clientId, principalId: principal.principalId, audience, expiresAt: ctx.now() + TOKEN_LIFETIME_S * 1000 };
  ctx.store.tokens.set(token, record);
  return token;
}

function resourceOf(scope: string): string | undefined {
  if (!scope.endsWith('/.default')) return undefined;
  try {
    return new URL(scope.slice(0, -'/.default'.length)).origin;
  } catch {
    return undefined;
  }
}

function openidConfiguration(ctx: Context, tenant: string): ApiResponse {
  const base = `${ctx.urls.identity}/${tenant}`;
  return {
    status: 200,
    body: {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${ctx.urls.identity}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${ctx.urls.identity}/${ctx.store.tenant.id}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${ctx.urls.graph}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'oid'],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: '127.0.0.1',
      cloud_graph_host_name: '127.0.0.1',
      msgraph_host: new URL(ctx.urls.graph).host,
    },
  };
}

/**
 * The resource a token request asks for: the origin of its `<resource>/.default` scope, which must be
 * the emulated Graph or ARM.
 */
function requestedAudience(ctx: Context, scope: string): { audience: string } | { error: ApiResponse } {
  const resourceScope = scope.split(' ').find((s) => s.endsWith('/.default'));
  const audience = resourceScope === undefined ? undefined : resourceOf(resourceScope);
  if (audience === undefined) {
    return {
      error: oauthError(
        400,
        'invalid_scope',
        1002012,
        `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      ),
    };
  }
  if (audience !== ctx.urls.graph && audience !== ctx.urls.arm) {
    return {
      error: oauthError(
        400,
        'invalid_resource',
        500011,
        `AADSTS500011: The resource principal named ${audience} was not found in the tenant named ${ctx.store.tenant.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      ),
    };
  }
  return { audience };
}

function token(req: ApiRequest, ctx: Context, tenant: string): ApiResponse {
  const form = isRecord(req.body) ? req.body : {};
  const grantType = str(form['grant_type']);
  const clientId = str(form['client_id']);
  const scope = str(form['scope']);
  if (!knownTenant(ctx, tenant)) {
    const { status, error, code, description } = tenantNotFound(tenant);
    return oauthError(status, error, code, description);
  }
  const isDeviceCode = grantType !== undefined && DEVICE_CODE_GRANTS.includes(grantType);
  if (grantType !== 'client_credentials' && grantType !== 'refresh_token' && !isDeviceCode) {
    return oauthError(400, 'unsupported_grant_type', 70003, `AADSTS70003: The app requested an unsupported grant type '${grantType ?? ''}'.`);
  }
  if (!clientId) return oauthError(400, 'invalid_request', 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.");
  if (!scope) return oauthError(400, 'invalid_request', 900144, "AADSTS900144: The request body must contain the following parameter: 'scope'.");
  if (isDeviceCode) return deviceCodeToken(ctx, form, clientId, scope);
  if (grantType === 'refresh_token') return refreshToken(ctx, form, clientId, scope);
  const secret = str(form['client_secret']);
  if (!secret)
    return oauthError(
      401,
      'invalid_client',
      7000218,
      "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  const requested = requestedAudience(ctx, scope);
  if ('error' in requested) return requested.error;
  const check = checkClientCredentials(ctx, tenant, clientId, secret);
  if (!check.ok) return oauthError(check.status, check.error, check.code, check.description);
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_S,
      ext_expires_in: TOKEN_LIFETIME_S,
      access_token: issueToken(ctx, check, requested.audience),
    },
  };
}

/**
 * Microsoft identity platform device code flow, step 1: a device code to poll with, and a user code
 * for the person to enter at the verification page. A test approves it with store.approveDeviceCode.
 */
function deviceCode(req: ApiRequest, ctx: Context, tenant: string): ApiResponse {
  const form = isRecord(req.body) ? req.body : {};
  const clientId = str(form['client_id']);
  if (!knownTenant(ctx, tenant)) {
    const { status, error, code, description } = tenantNotFound(tenant);
    return oauthError(status, error, code, description);
  }
  if (!clientId) return oauthError(400, 'invalid_request', 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.");
  if (!str(form['scope'])) return oauthError(400, 'invalid_request', 900144, "AADSTS900144: The request body must contain the following parameter: 'scope'.");
  if (clientId.toLowerCase() !== AZURE_CLI_CLIENT_ID) {
    const { status, error, code, description } = appNotFound(ctx, clientId);
    return oauthError(status, error, code, description);
  }
  const userCode = Array.from({ length: 9 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join('');
  const issued = {
    deviceCode: randomBytes(32).toString('base64url'),
    userCode,
    clientId,
    expiresAt: ctx.now() + DEVICE_CODE_LIFETIME_S * 1000,
    approved: false,
    redeemed: false,
  };
  ctx.store.deviceCodes.push(issued);
  return {
    status: 200,
    body: {
      user_code: userCode,
      device_code: issued.deviceCode,
      verification_uri: VERIFICATION_URI,
      expires_in: DEVICE_CODE_LIFETIME_S,
      interval: DEVICE_CODE_INTERVAL_S,
      message: `To sign in, use a web browser to open the page ${VERIFICATION_URI} and enter the code ${userCode} to authenticate.`,
    },
  };
}

/** Device code flow, step 2: the client polls; `authorization_pending` until the user has signed in. */
function deviceCodeToken(ctx: Context, form: Record<string, unknown>, clientId: string, scope: string): ApiResponse {
  const code = ctx.store.deviceCodes.find((d) => d.deviceCode === str(form['device_code']) && d.clientId.toLowerCase() === clientId.toLowerCase());
  if (!code || code.redeemed)
    return oauthError(400, 'invalid_grant', 70000, "AADSTS70000: The provided value for the input parameter 'device_code' is not valid.");
  if (code.expiresAt <= ctx.now()) return oauthError(400, 'expired_token', 70019, 'AADSTS70019: Verification code expired.');
  if (!code.approved)
    return oauthError(400, 'authorization_pending', 70016, 'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
  const requested = requestedAudience(ctx, scope);
  if ('error' in requested) return requested.error;
  code.redeemed = true;
  return userTokens(ctx, { clientId: code.clientId, principalId: ctx.store.caller.objectId }, requested.audience, scope);
}

/** A public client's next token, for another resource, from the refresh token of the sign-in. */
function refreshToken(ctx: Context, form: Record<string, unknown>, clientId: string, scope: string): ApiResponse {
  const grant = ctx.store.refreshTokens.get(str(form['refresh_token']) ?? '');
  if (!grant || grant.clientId.toLowerCase() !== clientId.toLowerCase()) {
    return oauthError(400, 'invalid_grant', 9002313, 'AADSTS9002313: Invalid request. Request is malformed or invalid.');
  }
  const requested = requestedAudience(ctx, scope);
  if ('error' in requested) return requested.error;
  return userTokens(ctx, grant, requested.audience, scope);
}

/**
 * A user sign-in's answer: an access token, a refresh token for the next resource, and the id_token
 * and client_info from which MSAL makes the account it signs in silently with afterwards.
 */
function userTokens(ctx: Context, grant: RefreshGrant, audience: string, scope: string): ApiResponse {
  const { tenant, caller } = ctx.store;
  const nowS = Math.floor(ctx.now() / 1000);
  const refresh = randomBytes(48).toString('base64url');
  ctx.store.refreshTokens.set(refresh, grant);
  const idToken = jwt({
    aud: grant.clientId,
    iss: `${ctx.urls.identity}/${tenant.id}/v2.0`,
    iat: nowS,
    nbf: nowS,
    exp: nowS + TOKEN_LIFETIME_S,
    name: caller.displayName,
    oid: grant.principalId,
    preferred_username: `${caller.displayName}@${tenant.domain}`,
    sub: randomBytes(16).toString('base64url'),
    tid: tenant.id,
    ver: '2.0',
  });
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      scope,
      expires_in: TOKEN_LIFETIME_S,
      ext_expires_in: TOKEN_LIFETIME_S,
      access_token: issueToken(ctx, grant, audience, 'user'),
      refresh_token: refresh,
      id_token: idToken,
      client_info: b64url({ uid: grant.principalId, utid: tenant.id }),
    },
  };
}

function route(req: ApiRequest, ctx: Context): ApiResponse {
  const path = req.pathname;
  if (req.method === 'GET' && /^\/common\/discovery\/instance$/i.test(path)) {
    const host = new URL(ctx.urls.identity).host;
    return {
      status: 200,
      body: {
        tenant_discovery_endpoint: `${ctx.urls.identity}/${ctx.store.tenant.id}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      },
    };
  }
  const discovery = /^\/([^/]+)(?:\/v2\.0)?\/\.well-known\/openid-configuration$/i.exec(path);
  if (req.method === 'GET' && discovery?.[1]) {
    const tenant = discovery[1];
    if (!knownTenant(ctx, tenant)) {
      const { code, description } = tenantNotFound(tenant);
      return oauthError(400, 'invalid_tenant', code, description);
    }
    return openidConfiguration(ctx, tenant);
  }
  const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/i.exec(path);
  if (req.method === 'POST' && tokenPath?.[1]) return token(req, ctx, tokenPath[1]);
  const deviceCodePath = /^\/([^/]+)\/oauth2\/v2\.0\/devicecode$/i.exec(path);
  if (req.method === 'POST' && deviceCodePath?.[1]) return deviceCode(req, ctx, deviceCodePath[1]);
  return oauthError(404, 'invalid_request', 900561, `AADSTS900561: The endpoint only accepts ${req.method === 'GET' ? 'POST' : 'GET'} requests. Path: ${path}`);
}

/** Entra ID's error body names the request by its x-ms-request-id (Trace ID) and client-request-id (Correlation ID). */
function stamped(req: ApiRequest, response: ApiResponse): ApiResponse {
  const body = response.body;
  if (!isRecord(body) || typeof body['trace_id'] !== 'string') return response;
  const traceId = req.ids['x-ms-request-id'] ?? body['trace_id'];
  const correlationId = req.ids['client-request-id'] ?? String(body['correlation_id']);
  const description = String(body['error_description'])
    .replace(/Trace ID: [^\r\n]*/, `Trace ID: ${traceId}`)
    .replace(/Correlation ID: [^\r\n]*/, `Correlation ID: ${correlationId}`);
  return { ...response, body: { ...body, error_description: description, trace_id: traceId, correlation_id: correlationId } };
}

export const identityApi: ApiHandler = {
  handle(req, ctx) {
    return stamped(req, route(req, ctx));
  },
  faultBody(status, req) {
    return stamped(req, oauthError(status, status === 429 ? 'temporarily_unavailable' : 'server_error', 50196, `AADSTS50196: Injected fault (HTTP ${status}).`))
      .body;
  },
  ids(req) {
    return { 'x-ms-request-id': randomUUID(), 'client-request-id': header(req, 'client-request-id') ?? randomUUID() };
  },
  headers(req) {
    return { ...req.ids, 'Cache-Control': 'no-store, no-cache' };
  },
};

export type AuthResult = { ok: true; token: IssuedToken } | { ok: false; message: string };

/** The bearer token must be one the identity server issued, unexpired, for this API's origin. */
export function authenticate(req: ApiRequest, ctx: Context, audience: string): AuthResult {
  const value = bearer(req);
  if (!value) return { ok: false, message: 'Access token is empty.' };
  const issued = ctx.store.tokens.get(value);
  if (!issued) return { ok: false, message: 'Access token validation failure. The token was not issued by this emulator.' };
  if (issued.expiresAt <= ctx.now()) return { ok: false, message: 'Lifetime validation failed, the token is expired.' };
  if (issued.audience !== audience)
    return { ok: false, message: `Access token validation failure. Invalid audience '${issued.audience}'; expected '${audience}'.` };
  return { ok: true, token: issued };
}
