import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createArmApi } from '../lib/clients/arm.ts';
import type { Clients } from '../lib/clients/clients.ts';
import { createGraphApi } from '../lib/clients/graph.ts';
import { createSpotApi } from '../lib/clients/spot.ts';
import { PROVISION_STEPS } from '../lib/commands/provision/run.ts';
import { loadConfig } from '../lib/config/config.ts';
import type { Context } from '../lib/core/context.ts';
import { ApiError, OnboardError } from '../lib/core/errors.ts';
import { once } from '../lib/core/once.ts';
import { Redactor } from '../lib/core/redact.ts';
import type { Reporter } from '../lib/core/reporter.ts';
import { runSteps } from '../lib/core/runner.ts';
import { type SessionDeps, withSession } from '../lib/core/session.ts';
import type { State, StateStore } from '../lib/core/state.ts';
import { preflight } from '../lib/steps/preflight.ts';
import type { StepId } from '../lib/steps/step.ts';
import { tenant } from '../lib/steps/tenant.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from './emulator/server.ts';
import { rejects } from './helpers.ts';

// Each step against the real clients and the emulator, walked by the real runner inside a real
// session (lib/core/session.ts), so outputs are recorded and saved exactly as a run does. Running
// twice means a second session: with a fresh state (the first one lost), it must find and reuse what
// the first made; with the same state, it skips what is recorded.

async function withEmulator(options: Partial<EmulatorOptions>, body: (e: Emulator) => Promise<void>): Promise<void> {
  const emulator = await startEmulator(options);
  try {
    await body(emulator);
  } finally {
    await emulator.close();
  }
}

/** A fresh working directory: the session keeps its state in .spot-azure-onboard/ under it. */
const freshDir = () => mkdtempSync(join(tmpdir(), 'onboard-steps-'));

/** What the runner and the steps told the person watching. */
interface Log {
  /** The last summary of each step, as the runner reported it ('already done' for a skipped one). */
  done: Map<string, string>;
  failed: Map<string, string>;
  /** `${id} ${attempt}/${max} ${reason}` */
  retries: string[];
}

function reporterFor(log: Log): Reporter {
  return {
    stepStart: () => {},
    stepDone: (id, summary) => log.done.set(id, summary),
    stepFailed: (id, message) => log.failed.set(id, message),
    info: () => {},
    warn: () => {},
    retrying: (id, n, max, reason) => log.retries.push(`${id} ${n}/${max} ${reason}`),
  };
}

/** The production clients, signed in with the emulator's caller instead of DefaultAzureCredential (which reads process.env). */
function clientsFor(e: Emulator, effects: { sleep: (ms: number) => Promise<void>; report: Reporter }): Clients {
  const credential = new ClientSecretCredential(e.env.AZURE_TENANT_ID!, e.env.AZURE_CLIENT_ID!, e.env.AZURE_CLIENT_SECRET!, {
    authorityHost: e.urls.identity,
    disableInstanceDiscovery: true,
  });
  return {
    credential: async () => credential,
    graph: once(() => createGraphApi(credential, e.urls.graph, effects)),
    arm: once(() => createArmApi(credential, e.urls.arm)),
    spot: once(() => createSpotApi({ baseUrl: e.urls.spot, token: e.env.SPOTINST_TOKEN!, retryLimit: 0 })),
  };
}

// The session takes the default lag schedule (only --max-wait changes it); its waits are cut short
// instead, so each retry still happens, just without the wait.
const quickSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 20)));

interface Session {
  ctx: Context;
  store: StateStore;
  log: Log;
}

/** One run of the tool in `dir`, as provision.ts opens it: its config, its locked state, its context. */
async function session<T>(e: Emulator, dir: string, work: (s: Session) => Promise<T>): Promise<T> {
  const log: Log = { done: new Map(), failed: new Map(), retries: [] };
  const report = reporterFor(log);
  const config = loadConfig({ argv: [], env: e.env, cwd: dir, stdinIsTTY: false });
  const deps: SessionDeps = {
    report,
    redactor: new Redactor(),
    signal: new AbortController().signal,
    clients: clientsFor(e, { sleep: quickSleep, report }),
    sleep: quickSleep,
  };
  return withSession(config, deps, { lock: true }, (ctx, store) => work({ ctx, store, log }));
}

const indexOf = (id: StepId) => PROVISION_STEPS.findIndex((s) => s.id === id);
/** The provisioning walk from its start through step `id`. */
const upTo = (id: StepId) => PROVISION_STEPS.slice(0, indexOf(id) + 1);
/** The rest of the walk after step `id`. */
const after = (id: StepId) => PROVISION_STEPS.slice(indexOf(id) + 1);

/** A session in `dir` that walks the provisioning steps through `last` and returns what it left. */
function provisionUpTo(e: Emulator, dir: string, last: StepId = 'link'): Promise<Session> {
  return session(e, dir, async (s) => {
    await runSteps(s.ctx, upTo(last), s.store);
    return s;
  });
}

/** The state file as the runner saved it. */
const saved = (store: StateStore): State => JSON.parse(readFileSync(store.path, 'utf8')) as State;

test('preflight and tenant only read', () =>
  withEmulator({}, async (e) => {
    await session(e, freshDir(), async ({ ctx, store }) => {
      await runSteps(ctx, [preflight, tenant], store);
      assert.is(ctx.outputs.subscriptionId, e.env.AZURE_SUBSCRIPTION_ID);
      assert.is(ctx.outputs.tenantId, e.store.tenant.id);
      assert.equal(e.mutating(), []);
      // preflight runs on every invocation, so it leaves no record; tenant is recorded like any step.
      const recorded = saved(store);
      assert.is(recorded.steps.preflight, undefined);
      assert.is(recorded.steps.tenant?.outputs.tenantId, e.store.tenant.id);
    });
  }));

test('app: creates the application, then a run that lost its state reuses the one found by its unique name', () =>
  withEmulator({}, async (e) => {
    const first = await provisionUpTo(e, freshDir(), 'app');
    assert.match(first.log.done.get('app')!, 'created');
    const second = await provisionUpTo(e, freshDir(), 'app');
    assert.match(second.log.done.get('app')!, 'reused');
    assert.is(second.ctx.outputs.applicationObjectId, first.ctx.outputs.applicationObjectId);
    assert.is(saved(second.store).steps.app?.outputs.applicationObjectId, first.ctx.outputs.applicationObjectId);
    assert.is(e.store.applications.length, 1);
  }));

test('service-principal: creates, then a run that lost its state reuses it', () =>
  withEmulator({}, async (e) => {
    const first = await provisionUpTo(e, freshDir(), 'service-principal');
    assert.match(first.log.done.get('service-principal')!, 'created');
    const second = await provisionUpTo(e, freshDir(), 'service-principal');
    assert.match(second.log.done.get('service-principal')!, 'reused');
    assert.is(second.ctx.outputs.servicePrincipalId, first.ctx.outputs.servicePrincipalId);
    assert.is(saved(second.store).steps['service-principal']?.outputs.servicePrincipalId, first.ctx.outputs.servicePrincipalId);
    assert.is(e.store.servicePrincipals.length, 1);
  }));

test('role: the same assignment twice is one assignment; a hand-made one counts as done', () =>
  withEmulator({}, async (e) => {
    const first = await provisionUpTo(e, freshDir(), 'role');
    const second = await provisionUpTo(e, freshDir(), 'role');
    assert.is(second.ctx.outputs.roleAssignmentId, first.ctx.outputs.roleAssignmentId);
    const principalId = first.ctx.outputs.servicePrincipalId!;
    const mine = () => e.store.roleAssignments.filter((a) => a.principalId === principalId);
    assert.is(mine().length, 1);

    // The same principal and role under another name: ARM answers 409 RoleAssignmentExists.
    const existing = mine()[0]!;
    existing.name = '00000000-0000-4000-8000-000000000001';
    existing.id = `${existing.scope}/providers/Microsoft.Authorization/roleAssignments/${existing.name}`;
    const third = await provisionUpTo(e, freshDir(), 'role');
    assert.is(third.ctx.outputs.roleAssignmentId, existing.id);
    const recorded = saved(third.store).steps.role?.outputs;
    assert.is(recorded?.roleAssignmentId, existing.id);
    assert.is(recorded?.roleAssignmentPreexisting, 'true');
    assert.is(mine().length, 1);
  }));

test('secret and link: one secret, held in memory only, linked, then dropped from memory; a lost secret is removed after linking, never a hand-made one', () =>
  withEmulator({}, async (e) => {
    const dir = freshDir();
    const first = await session(e, dir, async (s) => {
      await runSteps(s.ctx, upTo('secret'), s.store);
      const held = s.ctx.heldSecret;
      assert.ok(held?.value);
      assert.is(saved(s.store).steps.secret?.outputs.secretKeyId, held!.keyId);
      assert.not.ok(readFileSync(s.store.path, 'utf8').includes(held!.value), 'the state file holds the secret');
      await runSteps(s.ctx, after('secret'), s.store);
      return s;
    });
    const { ctx } = first;
    assert.is(ctx.heldSecret, undefined);
    const application = e.store.appById(ctx.outputs.applicationObjectId!)!;
    const own = () => application.passwordCredentials.filter((p) => p.displayName === 'spot-azure-onboard');
    assert.is(own().length, 1);
    assert.is(own()[0]!.keyId, ctx.outputs.secretKeyId);
    assert.is(e.store.spot.credentials.get(ctx.accountId)!.clientSecret, own()[0]!.secretText);

    // A run that sent addPassword and lost the answer left a secret of the tool's that nobody holds; the
    // next run (its state lost too) adds another, links it, and removes every other one of the tool's,
    // never the one added by hand.
    const template = application.passwordCredentials[0]!;
    application.passwordCredentials.push({ ...template, keyId: crypto.randomUUID(), displayName: 'added by hand' });
    application.passwordCredentials.push({ ...template, keyId: crypto.randomUUID(), secretText: 'a-lost-secret-value-123' });
    const second = await provisionUpTo(e, freshDir());
    const remaining = application.passwordCredentials.map((p) => p.displayName);
    assert.equal(remaining.sort(), ['added by hand', 'spot-azure-onboard']);
    assert.is(own()[0]!.keyId, second.ctx.outputs.secretKeyId);
    assert.is(e.store.spot.credentials.get(ctx.accountId)!.clientSecret, own()[0]!.secretText);
  }));

test('a secret recorded but no longer held (the run ended before link) is replaced by the next run, which removes the unheld one', () =>
  withEmulator({}, async (e) => {
    const dir = freshDir();
    const stopped = await provisionUpTo(e, dir, 'secret');
    const unheld = stopped.ctx.outputs.secretKeyId!;
    const resumed = await provisionUpTo(e, dir);
    assert.match(resumed.log.done.get('secret')!, 'added client secret');
    assert.is.not(resumed.ctx.outputs.secretKeyId, unheld);
    const application = e.store.appById(resumed.ctx.outputs.applicationObjectId!)!;
    assert.equal(
      application.passwordCredentials.map((p) => p.keyId),
      [resumed.ctx.outputs.secretKeyId],
    );
    assert.is(saved(resumed.store).steps.secret?.outputs.secretKeyId, resumed.ctx.outputs.secretKeyId);
    assert.is(e.store.spot.credentials.get(resumed.ctx.accountId)!.clientSecret, application.passwordCredentials[0]!.secretText);
  }));

test('a second run on the same state skips the recorded steps and changes nothing', () =>
  withEmulator({}, async (e) => {
    const dir = freshDir();
    const first = await provisionUpTo(e, dir);
    e.resetCounters();
    const second = await provisionUpTo(e, dir);
    for (const id of ['tenant', 'subscription', 'service-principal', 'secret', 'role', 'link']) {
      assert.is(second.log.done.get(id), 'already done', id);
    }
    assert.equal(e.mutating(), []);
    assert.equal(second.ctx.outputs, first.ctx.outputs);
  }));

test('API refusals come out as typed errors with a hint, and nothing is recorded for the refused step', () =>
  withEmulator({ graphAppRegistrationAllowed: false }, async (e) => {
    await session(e, freshDir(), async (s) => {
      const error = await rejects(runSteps(s.ctx, upTo('app'), s.store), (err) => err instanceof ApiError && err.status === 403);
      assert.match((error as ApiError).hint!, 'Application Developer');
      assert.ok(s.log.failed.has('app'));
      assert.is(saved(s.store).steps.app, undefined);
    });
  }));

test('a reset connection: reads are retried; addPassword is not, and fails as unavailable', () =>
  withEmulator({}, async (e) => {
    await session(e, freshDir(), async ({ ctx, store, log }) => {
      await runSteps(ctx, upTo('service-principal'), store);
      const graph = await ctx.clients.graph();
      e.faults.add({ api: 'graph', method: 'GET', reset: true });
      assert.is((await graph.getApplication(ctx.outputs.applicationObjectId!)).id, ctx.outputs.applicationObjectId);
      assert.ok(
        e.requests.some((r) => r.api === 'graph' && r.method === 'GET' && r.status === 0),
        'the GET was not reset',
      );
      assert.ok(
        log.retries.some((r) => r.startsWith('graph ')),
        'the retry was not shown',
      );

      e.faults.add({ api: 'graph', method: 'POST', path: /\/addPassword/, reset: true });
      const error = await rejects(
        runSteps(ctx, after('service-principal'), store),
        (err) => err instanceof ApiError && err.api === 'graph' && err.kind === 'unavailable',
      );
      assert.match((error as ApiError).message, 'Microsoft Graph could not be reached');
      assert.ok((error as ApiError).hint);
      assert.is(e.requests.filter((r) => r.path.includes('/addPassword')).length, 1);
      assert.is(saved(store).steps.secret, undefined);
    });
  }));

test('role: a 409 for an assignment Azure does not list yet is an error to retry later, never an empty id', () =>
  withEmulator({}, async (e) => {
    const first = await provisionUpTo(e, freshDir(), 'role');
    const principalId = first.ctx.outputs.servicePrincipalId!;
    const existing = e.store.roleAssignments.find((a) => a.principalId === principalId)!;
    existing.name = '00000000-0000-4000-8000-000000000002';
    existing.id = `${existing.scope}/providers/Microsoft.Authorization/roleAssignments/${existing.name}`;
    // ARM's list lags behind its conflict check: the listing comes back empty once.
    e.faults.add({ api: 'arm', method: 'GET', path: /roleAssignments\?/, status: 200, body: { value: [] } });
    const dir = freshDir();
    const error = await rejects(provisionUpTo(e, dir, 'role'), (err) => err instanceof OnboardError && err.kind === 'conflict');
    assert.match((error as OnboardError).message, 'does not list that assignment yet');
    const again = await provisionUpTo(e, dir, 'role');
    assert.is(again.ctx.outputs.roleAssignmentId, existing.id);
    assert.is(saved(again.store).steps.role?.outputs.roleAssignmentId, existing.id);
  }));

test("ARM unreachable even after the pipeline's own retries: a typed error with a hint", () =>
  withEmulator({}, async (e) => {
    await session(e, freshDir(), async (s) => {
      await runSteps(s.ctx, upTo('service-principal'), s.store);
      e.faults.add({ api: 'arm', method: 'PUT', reset: true, times: 20 });
      const error = await rejects(
        runSteps(s.ctx, after('service-principal'), s.store),
        (err) => err instanceof ApiError && err.api === 'arm' && err.kind === 'unavailable',
      );
      assert.match((error as ApiError).message, 'Azure Resource Manager could not be reached');
      assert.ok((error as ApiError).hint);
      assert.ok(e.requests.filter((r) => r.api === 'arm' && r.method === 'PUT' && r.status === 0).length > 1, 'the pipeline did not retry');
      assert.is(saved(s.store).steps.role, undefined);
    });
  }));

test('replication lag is retried, visibly, and only for as long as it lasts', () =>
  withEmulator({ lag: { spNoBackingAppRefusals: 2, principalRefusals: 2 } }, async (e) => {
    const { log } = await provisionUpTo(e, freshDir(), 'role');
    for (const step of ['service-principal', 'role']) {
      assert.is(log.retries.filter((r) => r.startsWith(`${step} `)).length, 2, log.retries.join('\n'));
    }
    assert.is(e.store.servicePrincipals.length, 1);
  }));

test.run();
