import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { armApi } from './arm.ts';
import { certPath, loadCert } from './cert.ts';
import { graphApi } from './graph.ts';
import type { Api, ApiHandler, ApiRequest, ApiResponse, Context, LagSettings, Urls } from './http.ts';
import { NO_LAG } from './http.ts';
import { identityApi } from './identity.ts';
import type { TenantAppManagementPolicy } from './policy.ts';
import { OPEN_POLICY } from './policy.ts';
import { spotApi } from './spot.ts';
import type { RoleName, SpotAccount, Subscription, SubscriptionState } from './store.ts';
import { digits, hex, Store } from './store.ts';

export { certPath, ensureCert, keyPath } from './cert.ts';
export type { Api, LagSettings, Urls } from './http.ts';
export type * from './policy.ts';
export type * from './store.ts';
export { BUILT_IN_ROLES, roleGuidOf, Store } from './store.ts';

export interface SubscriptionSeed {
  subscriptionId?: string;
  displayName?: string;
  state?: SubscriptionState;
  /** The caller's role on this subscription; null: no access at all. Defaults to `EmulatorOptions.callerRole`. */
  callerRole?: RoleName | null;
}

export interface EmulatorOptions {
  tenantId: string;
  tenantDisplayName: string;
  /** A count, or explicit seeds. Default: one enabled 'Dev subscription'. */
  subscriptions: number | SubscriptionSeed[];
  /** The caller's role on every subscription unless a seed says otherwise; null: no access. Default 'Owner'. */
  callerRole: RoleName | null;
  /** The caller's own service principal (what EnvironmentCredential signs in as). */
  callerClientId: string;
  callerClientSecret: string;
  /** A count, or explicit seeds. Default: one account named 'default'. */
  accounts: number | Array<Partial<SpotAccount>>;
  spotToken: string;
  /** false: creating an application answers 403 Authorization_RequestDenied. */
  graphAppRegistrationAllowed: boolean;
  /** The tenant's default app management policy, in Graph's shape; addPassword enforces it. Default: off. */
  appManagementPolicy: TenantAppManagementPolicy;
  /** false: the caller lacks Policy.Read.All, so GET /policies/defaultAppManagementPolicy answers 403. */
  policyReadAllowed: boolean;
  lag: Partial<LagSettings>;
  latencyMs: number;
  /** Clock for createdAt, lag windows and expiry. */
  now: () => number;
}

export interface RequestRecord {
  /** 1-based, over all APIs, in arrival order; restarts after resetCounters(). */
  seq: number;
  api: Api;
  method: string;
  /** Path and query as sent, `//` collapsed. */
  path: string;
  /** 0 while in flight and for reset or unapplied hung requests; an applied hung request shows the status it was withheld. */
  status: number;
  at: number;
  /** Parsed JSON (or form) body with clientSecret / secretText / client_secret values replaced by '***'. */
  body?: unknown;
  /**
   * The ids the answer carried (also an injected fault's), to match an audit log line with this request:
   * Graph `request-id`, `client-request-id`; ARM `x-ms-request-id`, `x-ms-correlation-request-id`;
   * identity `x-ms-request-id`, `client-request-id`; Spot the envelope's `request.id`. Set once the
   * request is read, so also on requests never answered.
   */
  ids?: Record<string, string>;
}

export interface FaultRule {
  api?: Api;
  method?: string;
  /** Tested against RequestRecord.path (path and query). */
  path?: RegExp;
  /** Default 1. */
  times?: number;
  /** Default 500. */
  status?: number;
  /** Default: the API's own error shape for `status`. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
}

export interface HangMatch {
  seq?: number;
  when?: (r: { api: Api; method: string; path: string }) => boolean;
  /** true: handle the request (its effects reach the store) but withhold the response. */
  apply: boolean;
}

export interface Faults {
  add(rule: FaultRule): void;
  clear(): void;
  /** Resolves when the matching request arrives (after it was applied, if `apply`); it is never answered. */
  hang(match: HangMatch): Promise<RequestRecord>;
}

export interface Emulator {
  urls: Urls;
  env: Record<string, string>;
  store: Store;
  requests: RequestRecord[];
  mutating(): RequestRecord[];
  count(api?: Api): number;
  faults: Faults;
  lag: LagSettings;
  latencyMs: number;
  peakInFlight: number;
  resetCounters(): void;
  close(): Promise<void>;
}

const APIS: Record<Api, ApiHandler> = { identity: identityApi, graph: graphApi, arm: armApi, spot: spotApi };

const CONTENT_TYPE: Record<Api, string> = {
  identity: 'application/json; charset=utf-8',
  graph: 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
  arm: 'application/json; charset=utf-8',
  spot: 'application/json; charset=utf-8',
};

const SECRET_KEYS = new Set(['clientsecret', 'secrettext', 'client_secret']);

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k.toLowerCase()) && v != null ? '***' : redact(v)]));
}

/** The ids as sent: a fault's own headers or Spot envelope may carry other values than the ones chosen. */
function idsSent(ids: Record<string, string>, headers: Record<string, string>, body: unknown): Record<string, string> {
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries(ids)) {
    const headerName = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    sent[name] = headerName === undefined ? value : (headers[headerName] ?? value);
  }
  if ('request.id' in ids && typeof body === 'object' && body !== null) {
    const request = (body as { request?: { id?: unknown } }).request;
    if (typeof request?.id === 'string') sent['request.id'] = request.id;
  }
  return sent;
}

function parseBody(raw: string, contentType: string | undefined): { body: unknown; invalid: boolean } {
  if (raw.trim() === '') return { body: undefined, invalid: false };
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return { body: Object.fromEntries(new URLSearchParams(raw)), invalid: false };
  }
  try {
    return { body: JSON.parse(raw) as unknown, invalid: false };
  } catch {
    return { body: raw, invalid: true };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function seedSubscriptions(option: EmulatorOptions['subscriptions']): SubscriptionSeed[] {
  if (typeof option !== 'number') return option;
  return Array.from({ length: option }, (_, i) => ({ displayName: i === 0 ? 'Dev subscription' : `Subscription ${i + 1}` }));
}

function seedAccounts(option: EmulatorOptions['accounts'], organizationId: string): SpotAccount[] {
  const seeds: Array<Partial<SpotAccount>> =
    typeof option === 'number' ? Array.from({ length: option }, (_, i) => ({ name: i === 0 ? 'default' : `account-${i + 1}` })) : option;
  return seeds.map((seed, i) => ({
    accountId: seed.accountId ?? 'act-' + hex(4),
    name: seed.name ?? (i === 0 ? 'default' : `account-${i + 1}`),
    organizationId: seed.organizationId ?? organizationId,
    providerExternalId: seed.providerExternalId ?? null,
    cloudProvider: seed.cloudProvider ?? null,
  }));
}

function defaults(options: Partial<EmulatorOptions>): EmulatorOptions {
  return {
    tenantId: randomUUID(),
    tenantDisplayName: 'Contoso',
    subscriptions: 1,
    callerRole: 'Owner',
    callerClientId: randomUUID(),
    callerClientSecret: randomBytes(30).toString('base64url'),
    accounts: 1,
    spotToken: randomBytes(32).toString('hex'),
    graphAppRegistrationAllowed: true,
    appManagementPolicy: OPEN_POLICY,
    policyReadAllowed: true,
    lag: {},
    latencyMs: 0,
    now: Date.now,
    ...options,
  };
}

function buildStore(o: EmulatorOptions): Store {
  const now = o.now();
  const store = new Store({
    tenantId: o.tenantId,
    tenantDisplayName: o.tenantDisplayName,
    caller: { clientId: o.callerClientId, clientSecret: o.callerClientSecret, objectId: randomUUID(), displayName: 'onboarding-caller' },
    spotToken: o.spotToken,
    now,
  });
  store.graphAppRegistrationAllowed = o.graphAppRegistrationAllowed;
  store.appManagementPolicy = structuredClone(o.appManagementPolicy);
  store.policyReadAllowed = o.policyReadAllowed;
  for (const seed of seedSubscriptions(o.subscriptions)) {
    const sub: Subscription = {
      subscriptionId: seed.subscriptionId ?? randomUUID(),
      displayName: seed.displayName ?? 'Dev subscription',
      state: seed.state ?? 'Enabled',
    };
    store.subscriptions.push(sub);
    const role = seed.callerRole === undefined ? o.callerRole : seed.callerRole;
    if (role !== null) {
      store.addAssignment({ scope: `/subscriptions/${sub.subscriptionId}`, subscriptionId: sub.subscriptionId, role, principalId: store.caller.objectId, now });
    }
  }
  store.spot.accounts.push(...seedAccounts(o.accounts, '606079' + digits(6)));
  return store;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

export async function startEmulator(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const o = defaults(options);
  const store = buildStore(o);
  const tls = loadCert();
  const servers = { identity: createServer(tls), graph: createServer(tls), arm: createServer(tls), spot: createServer(tls) } satisfies Record<Api, Server>;
  const urls: Urls = { identity: '', graph: '', arm: '', spot: '' };
  const lag: LagSettings = { ...NO_LAG, ...o.lag };
  const ctx: Context = { store, lag, refusals: new Map(), urls, now: o.now };

  const rules: Array<FaultRule & { remaining: number }> = [];
  const hangs: Array<HangMatch & { resolve: (r: RequestRecord) => void }> = [];
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;
  let inFlight = 0;
  let closed = false;

  const emulator: Emulator = {
    urls,
    env: {},
    store,
    requests: [],
    mutating: () =>
      emulator.requests.filter(
        (r) =>
          r.api !== 'identity' &&
          ['POST', 'PATCH', 'PUT', 'DELETE'].includes(r.method) &&
          !(r.api === 'spot' && r.path.startsWith('/azure/setup/credentials/validation')),
      ),
    count: (api) => (api === undefined ? emulator.requests.length : emulator.requests.filter((r) => r.api === api).length),
    faults: {
      add: (rule) => void rules.push({ ...rule, remaining: rule.times ?? 1 }),
      clear: () => void rules.splice(0),
      hang: (match) => new Promise((resolve) => hangs.push({ ...match, resolve })),
    },
    lag,
    latencyMs: o.latencyMs,
    peakInFlight: 0,
    resetCounters() {
      emulator.requests.length = 0;
      emulator.peakInFlight = inFlight;
      seq = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(
        Object.values(servers).map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };

  const delay = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  function send(api: Api, req: ApiRequest, res: ServerResponse, record: RequestRecord, response: ApiResponse): void {
    if (res.destroyed || res.writableEnded) return;
    record.status = response.status;
    const headers: Record<string, string> = { ...APIS[api].headers(req), ...response.headers };
    const hasBody = response.body !== undefined && response.status !== 204;
    const payload = hasBody ? (typeof response.body === 'string' ? response.body : JSON.stringify(response.body)) : '';
    if (hasBody && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = CONTENT_TYPE[api];
    record.ids = idsSent(req.ids, headers, response.body);
    res.writeHead(response.status, headers);
    res.end(payload);
  }

  async function onRequest(api: Api, raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = raw.url ?? '/';
    const queryAt = url.indexOf('?');
    // @azure/arm-authorization sends `//subscriptions/...`: collapse, never resolve against a base URL.
    const pathname = (queryAt < 0 ? url : url.slice(0, queryAt)).replace(/\/{2,}/g, '/');
    const search = queryAt < 0 ? '' : url.slice(queryAt + 1);
    const method = (raw.method ?? 'GET').toUpperCase();
    const record: RequestRecord = { seq: ++seq, api, method, path: pathname + (search ? `?${search}` : ''), status: 0, at: o.now() };
    emulator.requests.push(record);
    const counted = api !== 'identity';
    if (counted) {
      inFlight++;
      emulator.peakInFlight = Math.max(emulator.peakInFlight, inFlight);
      // 'prefinish' comes from res.end() itself, before any of the answer can reach the client. 'finish'
      // waits for the TLS socket's write callback, after which the client may already have sent its next
      // request (counted first on a busy loop: one too many in flight); 'close' comes later still.
      let counting = true;
      const done = () => {
        if (counting) inFlight--;
        counting = false;
      };
      res.once('prefinish', done);
      res.once('close', done);
    }

    const text = await readBody(raw);
    const parsed = parseBody(text, raw.headers['content-type']);
    if (parsed.body !== undefined) record.body = parsed.invalid ? '<invalid JSON>' : redact(parsed.body);
    const unstamped = { method, pathname, query: new URLSearchParams(search), headers: raw.headers, body: parsed.body, invalidBody: parsed.invalid };
    const req: ApiRequest = { ...unstamped, ids: APIS[api].ids(unstamped) };
    record.ids = { ...req.ids };

    const hangIndex = hangs.findIndex(
      (h) => (h.seq !== undefined && h.seq === record.seq) || (h.seq === undefined && h.when?.({ api, method, path: record.path })),
    );
    const hang = hangs[hangIndex];
    if (hang) {
      hangs.splice(hangIndex, 1);
      if (hang.apply) record.status = handle(api, req).status;
      hang.resolve(record);
      return;
    }

    const rule = rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.api === undefined || r.api === api) &&
        (r.method === undefined || r.method.toUpperCase() === method) &&
        (r.path === undefined || new RegExp(r.path.source, r.path.flags.replace('g', '')).test(record.path)),
    );
    if (rule) {
      rule.remaining--;
      if (rule.remaining === 0) rules.splice(rules.indexOf(rule), 1);
      await delay(emulator.latencyMs);
      if (rule.reset) {
        raw.socket.destroy();
        return;
      }
      const status = rule.status ?? 500;
      send(api, req, res, record, { status, headers: rule.headers, body: rule.body ?? APIS[api].faultBody(status, req, ctx) });
      return;
    }

    await delay(emulator.latencyMs);
    if (res.destroyed) return;
    send(api, req, res, record, handle(api, req));
  }

  function handle(api: Api, req: ApiRequest): ApiResponse {
    try {
      return APIS[api].handle(req, ctx);
    } catch (error) {
      return { status: 500, body: { emulatorError: error instanceof Error ? (error.stack ?? error.message) : String(error) } };
    }
  }

  for (const api of Object.keys(servers) as Api[]) {
    servers[api].on('request', (raw: IncomingMessage, res: ServerResponse) => {
      onRequest(api, raw, res).catch((error: unknown) => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`emulator error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      });
    });
    urls[api] = await listen(servers[api]);
  }

  const firstSubscription = store.subscriptions[0];
  const firstAccount = store.spot.accounts[0];
  emulator.env = {
    NODE_EXTRA_CA_CERTS: certPath,
    AZURE_AUTHORITY_HOST: urls.identity,
    AZURE_GRAPH_ENDPOINT: urls.graph,
    AZURE_ARM_ENDPOINT: urls.arm,
    SPOTINST_BASE_URL: urls.spot,
    AZURE_TENANT_ID: store.tenant.id,
    AZURE_CLIENT_ID: store.caller.clientId,
    AZURE_CLIENT_SECRET: store.caller.clientSecret,
    SPOTINST_TOKEN: store.spot.token,
    ...(firstAccount ? { SPOTINST_ACCOUNT: firstAccount.accountId } : {}),
    ...(firstSubscription ? { AZURE_SUBSCRIPTION_ID: firstSubscription.subscriptionId } : {}),
  };
  return emulator;
}

/** An emulator for the length of `body`, closed whatever happens. */
export async function withEmulator<T>(options: Partial<EmulatorOptions>, body: (e: Emulator) => Promise<T>): Promise<T> {
  const emulator = await startEmulator(options);
  try {
    return await body(emulator);
  } finally {
    await emulator.close();
  }
}
