import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ApiHandler, ApiRequest, ApiResponse, Context } from './http.ts';
import { header, isRecord, lagging, parseFilter, safeDecode, str } from './http.ts';
import { authenticate } from './identity.ts';
import { passwordRefusal, policyJson } from './policy.ts';
import type { App, KeyCredential, LockConfiguration, Password, ServicePrincipal } from './store.ts';

const DAY_MS = 86_400_000;
// application-addpassword.md: "If not provided, the default value is two years".
const DEFAULT_PASSWORD_LIFETIME_MS = 2 * 365 * DAY_MS;

interface Detail {
  code: string;
  message?: string;
  target?: string;
}

export function graphError(status: number, code: string, message: string, details?: Detail[]): ApiResponse {
  const error: Record<string, unknown> = {
    code,
    message,
    innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': randomUUID(), 'client-request-id': randomUUID() },
  };
  if (details) error['details'] = details;
  return { status, body: { error } };
}

function notFound(key: string): ApiResponse {
  return graphError(404, 'Request_ResourceNotFound', `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
}

function badSegment(segment: string): ApiResponse {
  return graphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

function methodNotAllowed(): ApiResponse {
  return graphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.');
}

function invalidBody(): ApiResponse {
  return graphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
}

/** Real secrets look like `abc8Q~` followed by 34 characters: 40 in all. */
function newSecretText(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-';
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(40);
  const pick = (set: string, i: number): string => set[(bytes[i] ?? 0) % set.length] ?? 'a';
  let out = pick(letters, 0) + pick(letters, 1) + pick(letters, 2) + String((bytes[3] ?? 0) % 10) + 'Q~';
  for (let i = 6; i < 40; i++) out += pick(alphabet, i);
  return out;
}

function passwordJson(p: Password, withSecret = false): Record<string, unknown> {
  return {
    customKeyIdentifier: null,
    displayName: p.displayName,
    endDateTime: p.endDateTime,
    hint: p.hint,
    keyId: p.keyId,
    secretText: withSecret ? p.secretText : null,
    startDateTime: p.startDateTime,
  };
}

function appJson(app: App, ctx: Context): Record<string, unknown> {
  return {
    id: app.id,
    deletedDateTime: null,
    appId: app.appId,
    uniqueName: app.uniqueName,
    createdDateTime: new Date(app.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
    displayName: app.displayName,
    notes: app.notes,
    publisherDomain: ctx.store.tenant.domain,
    signInAudience: app.signInAudience,
    tags: app.tags,
    servicePrincipalLockConfiguration: app.servicePrincipalLockConfiguration,
    keyCredentials: [],
    passwordCredentials: app.passwordCredentials.map((p) => passwordJson(p)),
  };
}

function spJson(sp: ServicePrincipal, ctx: Context): Record<string, unknown> {
  return {
    id: sp.id,
    deletedDateTime: null,
    accountEnabled: sp.accountEnabled,
    appDisplayName: sp.displayName,
    appId: sp.appId,
    appOwnerOrganizationId: ctx.store.tenant.id,
    displayName: sp.displayName,
    servicePrincipalNames: [sp.appId],
    servicePrincipalType: sp.servicePrincipalType,
    signInAudience: 'AzureADMyOrg',
    tags: [],
    keyCredentials: sp.keyCredentials.map((k) => ({ customKeyIdentifier: null, key: null, ...k })),
    passwordCredentials: sp.passwordCredentials.map((p) => passwordJson(p)),
  };
}

/**
 * `$select`: only the named properties (and the annotations); a name the type does not have is a 400.
 * Names match case-insensitively and come back as the type spells them.
 */
function project(req: ApiRequest, type: string, json: Record<string, unknown>): Record<string, unknown> | ApiResponse {
  const select = req.query.get('$select');
  if (select === null) return json;
  const out: Record<string, unknown> = {};
  for (const name of select
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)) {
    const key = Object.keys(json).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) return graphError(400, 'BadRequest', `Could not find a property named '${name}' on type 'microsoft.graph.${type}'.`);
    out[key] = json[key];
  }
  return out;
}

function isProjection(value: Record<string, unknown> | ApiResponse): value is ApiResponse {
  return typeof value['status'] === 'number' && 'body' in value;
}

/** A collection answer, each item projected by `$select`. */
function collection(req: ApiRequest, ctx: Context, set: string, type: string, items: Array<Record<string, unknown>>): ApiResponse {
  const value: Array<Record<string, unknown>> = [];
  for (const item of items) {
    const projected = project(req, type, item);
    if (isProjection(projected)) return projected;
    value.push(projected);
  }
  return { status: 200, body: { '@odata.context': context(ctx, set), value } };
}

/** A single entity answer, projected by `$select`. */
function single(req: ApiRequest, ctx: Context, set: string, type: string, json: Record<string, unknown>): ApiResponse {
  const projected = project(req, type, json);
  return isProjection(projected) ? projected : entity(ctx, set, projected);
}

function context(ctx: Context, fragment: string): string {
  return `${ctx.urls.graph}/v1.0/$metadata#${fragment}`;
}

function entity(ctx: Context, set: string, json: Record<string, unknown>, status = 200): ApiResponse {
  return { status, body: { '@odata.context': context(ctx, `${set}/$entity`), ...json } };
}

type Key = { kind: 'id'; value: string } | { kind: 'alt'; name: string; value: string };

function keyText(key: Key): string {
  return key.kind === 'id' ? key.value : `${key.name}='${key.value}'`;
}

function findApp(ctx: Context, key: Key): App | undefined {
  if (key.kind === 'id') return ctx.store.appById(key.value);
  if (key.name.toLowerCase() === 'appid') return ctx.store.appByAppId(key.value);
  if (key.name.toLowerCase() === 'uniquename') return ctx.store.appsByUniqueName(key.value)[0];
  return undefined;
}

function findSp(ctx: Context, key: Key): ServicePrincipal | undefined {
  if (key.kind === 'id') return ctx.store.spById(key.value);
  if (key.name.toLowerCase() === 'appid') return ctx.store.spByAppId(key.value);
  return undefined;
}

function filterList<T>(items: T[], req: ApiRequest, fields: Record<string, (item: T) => string | null>): T[] | ApiResponse {
  const filter = req.query.get('$filter');
  if (filter === null) return items;
  const clauses = parseFilter(filter);
  if (!clauses) return graphError(400, 'Request_UnsupportedQuery', 'Unsupported Query.');
  for (const clause of clauses) {
    if (!Object.keys(fields).some((f) => f.toLowerCase() === clause.field.toLowerCase())) {
      return graphError(
        400,
        'Request_UnsupportedQuery',
        `Unsupported or invalid query filter clause specified for property '${clause.field}' of resource 'Application'.`,
      );
    }
  }
  // Each clause's getter and value once, not once per item: a fleet's tenant holds thousands.
  const tests = clauses.map((clause) => ({
    getter: Object.entries(fields).find(([f]) => f.toLowerCase() === clause.field.toLowerCase())?.[1],
    value: clause.value.toLowerCase(),
  }));
  return items.filter((item) => tests.every(({ getter, value }) => getter?.(item)?.toLowerCase() === value));
}

function applyAppFields(app: App, body: Record<string, unknown>): ApiResponse | undefined {
  if ('passwordCredentials' in body) {
    return graphError(400, 'Request_BadRequest', "Property 'passwordCredentials' can not be set through PATCH; use addPassword.");
  }
  const uniqueName = str(body['uniqueName']);
  // application-upsert.md / application resource: uniqueName can only be set on create and is immutable.
  if (uniqueName !== undefined && app.uniqueName !== null && uniqueName.toLowerCase() !== app.uniqueName.toLowerCase()) {
    return graphError(400, 'Request_BadRequest', "Property 'uniqueName' is read-only and cannot be set.");
  }
  const displayName = str(body['displayName']);
  if (displayName !== undefined) app.displayName = displayName;
  const audience = str(body['signInAudience']);
  if (audience !== undefined) app.signInAudience = audience;
  if ('notes' in body) {
    if (body['notes'] !== null && typeof body['notes'] !== 'string') return invalidProperty('notes');
    app.notes = str(body['notes']) ?? null;
  }
  if ('tags' in body) {
    const tags = body['tags'];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return invalidProperty('tags');
    app.tags = tags;
  }
  if ('servicePrincipalLockConfiguration' in body) {
    const lock = lockConfiguration(body['servicePrincipalLockConfiguration']);
    if (lock === undefined) return invalidProperty('servicePrincipalLockConfiguration');
    app.servicePrincipalLockConfiguration = lock;
  }
  return undefined;
}

function invalidProperty(name: string): ApiResponse {
  return graphError(400, 'Request_BadRequest', `Invalid value specified for property '${name}' of resource 'Application'.`);
}

const LOCK_FLAGS = ['isEnabled', 'allProperties', 'credentialsWithUsageVerify', 'credentialsWithUsageSign', 'identifierUris', 'tokenEncryptionKeyId'] as const;

/** A complex value replaces the old one whole; flags left out are false. undefined: not a valid lock. */
function lockConfiguration(value: unknown): LockConfiguration | null | undefined {
  if (value === null) return null;
  if (!isRecord(value)) return undefined;
  const lock = Object.fromEntries(LOCK_FLAGS.map((flag) => [flag, value[flag] ?? false])) as Record<(typeof LOCK_FLAGS)[number], unknown>;
  return LOCK_FLAGS.every((flag) => typeof lock[flag] === 'boolean') ? (lock as unknown as LockConfiguration) : undefined;
}

function createApp(ctx: Context, body: Record<string, unknown>, uniqueName: string | null): ApiResponse {
  if (!ctx.store.graphAppRegistrationAllowed) {
    return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  const displayName = str(body['displayName']);
  if (!displayName) {
    return graphError(400, 'Request_BadRequest', "Property 'displayName' is required.");
  }
  if (uniqueName !== null && ctx.store.appsByUniqueName(uniqueName).length > 0) {
    return graphError(400, 'Request_MultipleObjectsWithSameKeyValue', `Another object with the same value for property uniqueName already exists.`);
  }
  const app: App = {
    id: randomUUID(),
    appId: randomUUID(),
    uniqueName,
    displayName,
    signInAudience: 'AzureADMyOrg',
    notes: null,
    tags: [],
    servicePrincipalLockConfiguration: null,
    passwordCredentials: [],
    createdAt: ctx.now(),
  };
  const problem = applyAppFields(app, { ...body, uniqueName: undefined });
  if (problem) return problem;
  ctx.store.applications.push(app);
  return entity(ctx, 'applications', appJson(app, ctx), 201);
}

/** The lifetime addPassword asks for: application-addpassword.md's defaults when a date is not given. */
function lifetime(input: Record<string, unknown>, now: number): { start: number; end: number } | ApiResponse {
  const start = str(input['startDateTime']) !== undefined ? Date.parse(str(input['startDateTime']) ?? '') : now;
  const end = str(input['endDateTime']) !== undefined ? Date.parse(str(input['endDateTime']) ?? '') : start + DEFAULT_PASSWORD_LIFETIME_MS;
  if (Number.isNaN(start) || Number.isNaN(end)) {
    return graphError(400, 'Request_BadRequest', "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
  }
  if (end <= start) return graphError(400, 'Request_BadRequest', 'Key credential end date is invalid.');
  return { start, end };
}

function addPassword(ctx: Context, app: App, body: Record<string, unknown>): ApiResponse {
  const { appManagementPolicy: policy } = ctx.store;
  const made = newPassword(ctx, body, (start, end) => passwordRefusal(policy, policy.applicationRestrictions, app.createdAt, start, end));
  if ('status' in made) return made;
  app.passwordCredentials.push(made);
  return passwordAnswer(ctx, made);
}

/** A password from addPassword's body, unless its lifetime is invalid or `refusal` names a policy against it. */
function newPassword(
  ctx: Context,
  body: Record<string, unknown>,
  refusal: (start: number, end: number) => { code: string; message: string } | undefined,
): Password | ApiResponse {
  const input = isRecord(body['passwordCredential']) ? body['passwordCredential'] : {};
  const now = ctx.now();
  const span = lifetime(input, now);
  if ('status' in span) return span;
  const { start, end } = span;
  const refused = refusal(start, end);
  if (refused) return graphError(400, refused.code, refused.message);
  const secretText = newSecretText();
  return {
    keyId: randomUUID(),
    displayName: str(input['displayName']) ?? null,
    startDateTime: new Date(start).toISOString().replace(/\.\d+Z$/, 'Z'),
    endDateTime: new Date(end).toISOString().replace(/\.\d+Z$/, 'Z'),
    hint: secretText.slice(0, 3),
    secretText,
    createdAt: now,
  };
}

function passwordAnswer(ctx: Context, password: Password): ApiResponse {
  return { status: 200, body: { '@odata.context': context(ctx, 'microsoft.graph.passwordCredential'), ...passwordJson(password, true) } };
}

/**
 * Whether the app's lock (serviceprincipallockconfiguration.md) forbids changing its service principal's
 * credentials of `usage`: a password's usage is Verify; allProperties locks every credential.
 */
function credentialsLocked(app: App | undefined, usage: 'Sign' | 'Verify'): boolean {
  const lock = app?.servicePrincipalLockConfiguration;
  if (!lock?.isEnabled) return false;
  return lock.allProperties || (usage === 'Verify' ? lock.credentialsWithUsageVerify : lock.credentialsWithUsageSign);
}

/**
 * The error Graph answers for a locked property. The API reference does not list it; this code and
 * message are what Graph returns to servicePrincipal-addpassword under a lock, as quoted in Entra ID
 * troubleshooting write-ups ("CannotUpdateLockedServicePrincipalProperty: Property passwordCredentials is invalid.").
 */
function locked(property: 'passwordCredentials' | 'keyCredentials'): ApiResponse {
  return graphError(400, 'CannotUpdateLockedServicePrincipalProperty', `Property ${property} is invalid.`);
}

/** servicePrincipal-addpassword.md; the tenant policy's servicePrincipalRestrictions bind it. */
function spAddPassword(ctx: Context, sp: ServicePrincipal, body: Record<string, unknown>): ApiResponse {
  if (credentialsLocked(ctx.store.appByAppId(sp.appId), 'Verify')) return locked('passwordCredentials');
  const { appManagementPolicy: policy } = ctx.store;
  const made = newPassword(ctx, body, (start, end) => passwordRefusal(policy, policy.servicePrincipalRestrictions, sp.createdAt, start, end));
  if ('status' in made) return made;
  sp.passwordCredentials.push(made);
  return passwordAnswer(ctx, made);
}

/** servicePrincipal-addkey.md, without checking the proof-of-possession JWT or the certificate itself. */
function spAddKey(ctx: Context, sp: ServicePrincipal, body: Record<string, unknown>): ApiResponse {
  const input = isRecord(body['keyCredential']) ? body['keyCredential'] : {};
  const usage = str(input['usage']);
  const type = str(input['type']);
  if ((usage !== 'Sign' && usage !== 'Verify') || !type || !str(input['key'])) {
    return graphError(400, 'Request_BadRequest', "Invalid value specified for property 'keyCredential' of resource 'ServicePrincipal'.");
  }
  if (credentialsLocked(ctx.store.appByAppId(sp.appId), usage)) return locked('keyCredentials');
  const span = lifetime(input, ctx.now());
  if ('status' in span) return span;
  const key: KeyCredential = {
    keyId: randomUUID(),
    displayName: str(input['displayName']) ?? null,
    type,
    usage,
    startDateTime: new Date(span.start).toISOString().replace(/\.\d+Z$/, 'Z'),
    endDateTime: new Date(span.end).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  sp.keyCredentials.push(key);
  return { status: 200, body: { '@odata.context': context(ctx, 'microsoft.graph.keyCredential'), customKeyIdentifier: null, key: null, ...key } };
}

function removePassword(app: App, body: Record<string, unknown>): ApiResponse {
  const keyId = str(body['keyId']);
  const index = app.passwordCredentials.findIndex((p) => p.keyId.toLowerCase() === keyId?.toLowerCase());
  if (index < 0) {
    return graphError(400, 'Request_BadRequest', `No password credential found with keyId ${keyId ?? ''}.`);
  }
  app.passwordCredentials.splice(index, 1);
  return { status: 204 };
}

function applications(req: ApiRequest, ctx: Context, key: Key | undefined, action: string | undefined): ApiResponse {
  const { store } = ctx;
  const body = isRecord(req.body) ? req.body : {};
  if (!key) {
    if (action) return badSegment(action);
    if (req.method === 'GET') {
      const items = filterList(store.applications, req, {
        id: (a) => a.id,
        appId: (a) => a.appId,
        uniqueName: (a) => a.uniqueName,
        displayName: (a) => a.displayName,
      });
      if (!Array.isArray(items)) return items;
      return collection(
        req,
        ctx,
        'applications',
        'application',
        items.map((a) => appJson(a, ctx)),
      );
    }
    if (req.method === 'POST') return createApp(ctx, body, str(body['uniqueName']) ?? null);
    return methodNotAllowed();
  }
  const app = findApp(ctx, key);
  if (action) {
    if (req.method !== 'POST') return methodNotAllowed();
    if (action !== 'addPassword' && action !== 'removePassword') return badSegment(action);
    // Replication lag: an object created moments ago answers 404 by id (microsoftgraph/msgraph-sdk-java#2575).
    if (!app || lagging(ctx, 'app', app.id, app.createdAt)) return notFound(keyText(key));
    return action === 'addPassword' ? addPassword(ctx, app, body) : removePassword(app, body);
  }
  switch (req.method) {
    case 'GET':
      if (!app || (key.kind === 'id' && lagging(ctx, 'app', app.id, app.createdAt))) return notFound(keyText(key));
      return single(req, ctx, 'applications', 'application', appJson(app, ctx));
    case 'PATCH': {
      if (app) {
        // application-upsert.md: an existing app is updated and the answer is 204 without a body.
        const problem = applyAppFields(app, body);
        return problem ?? { status: 204 };
      }
      const createIfMissing = /create-if-missing/i.test(header(req, 'prefer') ?? '');
      if (!createIfMissing || key.kind !== 'alt' || key.name.toLowerCase() !== 'uniquename') return notFound(keyText(key));
      return createApp(ctx, body, key.value);
    }
    case 'DELETE': {
      if (!app) return notFound(keyText(key));
      store.applications.splice(store.applications.indexOf(app), 1);
      // Deleting an application also deletes its service principal in the home tenant.
      const sp = store.spByAppId(app.appId);
      if (sp) store.servicePrincipals.splice(store.servicePrincipals.indexOf(sp), 1);
      return { status: 204 };
    }
    default:
      return methodNotAllowed();
  }
}

function createSp(ctx: Context, appId: string | undefined, body: Record<string, unknown>): ApiResponse {
  const { store } = ctx;
  const app = appId === undefined ? undefined : store.appByAppId(appId);
  if (!appId) return graphError(400, 'Request_BadRequest', "Property 'appId' is required.");
  // hashicorp/terraform-provider-azuread service_principal_resource.go retries both of these while the app replicates.
  if (app && lagging(ctx, 'spLocalTenant', app.id, app.createdAt)) {
    return graphError(
      403,
      'Authorization_RequestDenied',
      'When using this permission, the backing application of the service principal being created must in the local tenant',
    );
  }
  if (!app || lagging(ctx, 'spNoBackingApp', app.id, app.createdAt)) {
    return graphError(400, 'Request_BadRequest', `The appId '${appId}' of the service principal does not reference a valid application object.`, [
      {
        code: 'NoBackingApplicationObject',
        message: `The appId '${appId}' of the service principal does not reference a valid application object.`,
        target: 'appId',
      },
    ]);
  }
  if (store.spByAppId(appId)) {
    return graphError(
      409,
      'Request_MultipleObjectsWithSameKeyValue',
      `The service principal cannot be created, updated, or restored because the service principal name ${appId} is already in use.`,
    );
  }
  const sp: ServicePrincipal = {
    id: randomUUID(),
    appId: app.appId,
    displayName: app.displayName,
    servicePrincipalType: 'Application',
    accountEnabled: typeof body['accountEnabled'] === 'boolean' ? body['accountEnabled'] : true,
    passwordCredentials: [],
    keyCredentials: [],
    createdAt: ctx.now(),
  };
  store.servicePrincipals.push(sp);
  return entity(ctx, 'servicePrincipals', spJson(sp, ctx), 201);
}

function servicePrincipals(req: ApiRequest, ctx: Context, key: Key | undefined, action: string | undefined): ApiResponse {
  const { store } = ctx;
  const body = isRecord(req.body) ? req.body : {};
  if (action) {
    if (!key || (action !== 'addPassword' && action !== 'addKey')) return badSegment(action);
    if (req.method !== 'POST') return methodNotAllowed();
    const sp = findSp(ctx, key);
    if (!sp) return notFound(keyText(key));
    return action === 'addPassword' ? spAddPassword(ctx, sp, body) : spAddKey(ctx, sp, body);
  }
  if (!key) {
    if (req.method === 'GET') {
      const items = filterList(store.servicePrincipals, req, {
        id: (s) => s.id,
        appId: (s) => s.appId,
        displayName: (s) => s.displayName,
      });
      if (!Array.isArray(items)) return items;
      return collection(
        req,
        ctx,
        'servicePrincipals',
        'servicePrincipal',
        items.map((s) => spJson(s, ctx)),
      );
    }
    if (req.method === 'POST') return createSp(ctx, str(body['appId']), body);
    return methodNotAllowed();
  }
  const sp = findSp(ctx, key);
  switch (req.method) {
    case 'GET':
      return sp ? single(req, ctx, 'servicePrincipals', 'servicePrincipal', spJson(sp, ctx)) : notFound(keyText(key));
    case 'PATCH': {
      if (sp) {
        // serviceprincipal-upsert.md: 204 without a body when it existed.
        if (typeof body['accountEnabled'] === 'boolean') sp.accountEnabled = body['accountEnabled'];
        return { status: 204 };
      }
      const createIfMissing = /create-if-missing/i.test(header(req, 'prefer') ?? '');
      if (!createIfMissing || key.kind !== 'alt' || key.name.toLowerCase() !== 'appid') return notFound(keyText(key));
      return createSp(ctx, key.value, body);
    }
    case 'DELETE':
      if (!sp) return notFound(keyText(key));
      store.servicePrincipals.splice(store.servicePrincipals.indexOf(sp), 1);
      return { status: 204 };
    default:
      return methodNotAllowed();
  }
}

function organization(req: ApiRequest, ctx: Context): ApiResponse {
  if (req.method !== 'GET') return methodNotAllowed();
  const { tenant } = ctx.store;
  return {
    status: 200,
    body: {
      '@odata.context': context(ctx, 'organization'),
      value: [
        {
          id: tenant.id,
          displayName: tenant.displayName,
          tenantType: 'AAD',
          verifiedDomains: [{ capabilities: 'Email, OfficeCommunicationsOnline', isDefault: true, isInitial: true, name: tenant.domain, type: 'Managed' }],
        },
      ],
    },
  };
}

/** tenantappmanagementpolicy-get.md: needs Policy.Read.All; the answer is the policy even when it is off. */
function defaultAppManagementPolicy(req: ApiRequest, ctx: Context): ApiResponse {
  if (req.method !== 'GET') return methodNotAllowed();
  if (!ctx.store.policyReadAllowed) return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  return { status: 200, body: policyJson(ctx.store.appManagementPolicy, ctx.urls.graph, ctx.store.tenant.id) };
}

// `applications(uniqueName='x')` may arrive percent-encoded (quotes, parens) or not; match on the decoded path.
const ENTITY_PATH =
  /^\/(?:v1\.0|beta)\/(applications|servicePrincipals)(?:\((\w+)='((?:[^']|'')*)'\)|\('([^']*)'\)|\/([^/()]+))?(?:\/(?:microsoft\.graph\.)?(\w+))?\/?$/i;

function route(req: ApiRequest, ctx: Context): ApiResponse {
  const auth = authenticate(req, ctx, ctx.urls.graph);
  if (!auth.ok) return graphError(401, 'InvalidAuthenticationToken', auth.message);
  if (req.invalidBody) return invalidBody();
  const path = safeDecode(req.pathname);
  if (/^\/(?:v1\.0|beta)\/organization\/?$/i.test(path)) return organization(req, ctx);
  if (/^\/(?:v1\.0|beta)\/policies\/defaultAppManagementPolicy\/?$/i.test(path)) return defaultAppManagementPolicy(req, ctx);
  const match = ENTITY_PATH.exec(path);
  if (!match?.[1]) {
    const segments = path.split('/').filter(Boolean);
    const segment = /^(?:v1\.0|beta)$/i.test(segments[0] ?? '') ? (segments[1] ?? '') : (segments[0] ?? '');
    return badSegment(segment);
  }
  const [, set = '', altName, altValue, quotedId, id, action] = match;
  let key: Key | undefined;
  if (altName !== undefined && altValue !== undefined) key = { kind: 'alt', name: altName, value: altValue.replaceAll("''", "'") };
  else if (quotedId !== undefined) key = { kind: 'id', value: quotedId };
  else if (id !== undefined) key = { kind: 'id', value: id };
  return set.toLowerCase() === 'applications' ? applications(req, ctx, key, action) : servicePrincipals(req, ctx, key, action);
}

/** Real Graph's error innerError repeats the response's request-id and client-request-id headers. */
function stamped(req: ApiRequest, response: ApiResponse): ApiResponse {
  const error = isRecord(response.body) ? response.body['error'] : undefined;
  if (!isRecord(error) || !isRecord(error['innerError'])) return response;
  error['innerError'] = { ...error['innerError'], 'request-id': req.ids['request-id'], 'client-request-id': req.ids['client-request-id'] };
  return response;
}

export const graphApi: ApiHandler = {
  handle(req, ctx) {
    return stamped(req, route(req, ctx));
  },
  faultBody(status, req) {
    const code = status === 429 ? 'TooManyRequests' : (STATUS_CODES[status] ?? 'UnknownError').replace(/\s+/g, '');
    const message = status === 429 ? 'Too many requests.' : `Injected fault (HTTP ${status}).`;
    return stamped(req, graphError(status, code, message)).body;
  },
  ids(req) {
    return { 'request-id': randomUUID(), 'client-request-id': header(req, 'client-request-id') ?? randomUUID() };
  },
  headers(req) {
    return {
      ...req.ids,
      'x-ms-ags-diagnostic': JSON.stringify({ ServerInfo: { DataCenter: 'Emulator', Slice: 'E', Ring: '1', ScaleUnit: '000', RoleInstance: 'EMU' } }),
    };
  },
};
