import type { IncomingHttpHeaders } from 'node:http';
import type { Store } from './store.ts';

export type Api = 'identity' | 'graph' | 'arm' | 'spot';

/**
 * Replication lag, two ways per kind: `…Ms`, a window from the object's creation (wall clock), and
 * `…Refusals`, the number of requests of that kind refused for each new object (deterministic). A
 * request is refused while either one holds, with the same documented error.
 */
export interface LagSettings {
  /** After an app is created: GET /applications/{id}, addPassword and removePassword answer 404. */
  appMs: number;
  /** Per app: the first N of GET /applications/{id}, addPassword and removePassword answer 404. */
  appRefusals: number;
  /** After an app is created: creating its service principal answers 400 NoBackingApplicationObject. */
  spNoBackingAppMs: number;
  /** Per app: the first N attempts to create its service principal answer 400 NoBackingApplicationObject. */
  spNoBackingAppRefusals: number;
  /** After an app is created: creating its service principal answers 403 "…must in the local tenant". */
  spLocalTenantMs: number;
  /** Per app: the first N attempts to create its service principal answer 403 "…must in the local tenant". */
  spLocalTenantRefusals: number;
  /** After a service principal is created: assigning it a role answers 400 PrincipalNotFound. */
  principalMs: number;
  /** Per service principal: the first N role assignments to it answer 400 PrincipalNotFound. */
  principalRefusals: number;
  /** After a password is added: the token endpoint and Spot reject it with AADSTS7000215. */
  secretAcceptMs: number;
  /** Per password: the first N sign-ins with it (token endpoint or Spot) are rejected with AADSTS7000215. */
  secretAcceptRefusals: number;
  /** After a role assignment is made: Spot refuses credentials of its principal on its scope with AuthorizationFailed. */
  spotRbacMs: number;
  /** Per role assignment: Spot refuses the first N credential posts of its principal on its scope with AuthorizationFailed. */
  spotRbacRefusals: number;
}

export type LagKind = 'app' | 'spNoBackingApp' | 'spLocalTenant' | 'principal' | 'secretAccept' | 'spotRbac';

export const NO_LAG: LagSettings = {
  appMs: 0,
  appRefusals: 0,
  spNoBackingAppMs: 0,
  spNoBackingAppRefusals: 0,
  spLocalTenantMs: 0,
  spLocalTenantRefusals: 0,
  principalMs: 0,
  principalRefusals: 0,
  secretAcceptMs: 0,
  secretAcceptRefusals: 0,
  spotRbacMs: 0,
  spotRbacRefusals: 0,
};

export interface Urls {
  identity: string;
  graph: string;
  arm: string;
  spot: string;
}

export interface ApiRequest {
  method: string;
  /** Path without the query, `//` collapsed, not percent-decoded. */
  pathname: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON (or form, for identity) body; undefined when empty. */
  body: unknown;
  /** The body was present but was not valid JSON. */
  invalidBody: boolean;
  /** The ids this API's answer carries (ApiHandler.ids), chosen once per request. */
  ids: RequestIds;
}

/** Graph: request-id, client-request-id; ARM: x-ms-request-id, x-ms-correlation-request-id; Spot: request.id. */
export type RequestIds = Record<string, string>;

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Context {
  store: Store;
  lag: LagSettings;
  /** Count-based lag: refusals given so far, by `${kind}:${objectId}`. */
  refusals: Map<string, number>;
  urls: Urls;
  now(): number;
}

/**
 * Whether lag of `kind` still hides object `objectId` (created at `createdAt`) from this request.
 * Answering yes through the count variant uses up one of that object's refusals.
 */
export function lagging(ctx: Context, kind: LagKind, objectId: string, createdAt: number): boolean {
  if (ctx.now() - createdAt < ctx.lag[`${kind}Ms` as const]) return true;
  const key = `${kind}:${objectId.toLowerCase()}`;
  const refused = ctx.refusals.get(key) ?? 0;
  if (refused >= ctx.lag[`${kind}Refusals` as const]) return false;
  ctx.refusals.set(key, refused + 1);
  return true;
}

export interface ApiHandler {
  handle(req: ApiRequest, ctx: Context): ApiResponse;
  /** The body an injected fault answers with when the test gives none, in this API's error shape. */
  faultBody(status: number, req: ApiRequest, ctx: Context): unknown;
  /** The ids an answer to `req` carries, in its headers or body; an id the client sent is echoed. */
  ids(req: Omit<ApiRequest, 'ids'>): RequestIds;
  /** Headers every response of this API carries (with req.ids). */
  headers(req: ApiRequest): Record<string, string>;
}

export function header(req: Pick<ApiRequest, 'headers'>, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function bearer(req: ApiRequest): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header(req, 'authorization') ?? '');
  return match?.[1];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(text: string): boolean {
  return GUID.test(text);
}

/** OData string literal in a $filter or key: quotes are doubled inside. */
export function parseFilter(filter: string): Array<{ field: string; value: string }> | undefined {
  // Clause by clause, so an ' and ' inside a quoted value does not split it.
  const clause = /\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*(?:and\s+|$)/iy;
  const parsed: Array<{ field: string; value: string }> = [];
  while (clause.lastIndex < filter.length) {
    const match = clause.exec(filter);
    if (!match?.[1] || match[2] === undefined) return undefined;
    parsed.push({ field: match[1], value: match[2].replaceAll("''", "'") });
  }
  if (parsed.length === 0) return undefined;
  return parsed;
}
