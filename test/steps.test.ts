import { ClientSecretCredential } from '@azure/identity';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createArmApi } from '../lib/clients/arm.ts';
import type { Clients } from '../lib/clients/clients.ts';
import { createGraphApi } from '../lib/clients/graph.ts';
import { createSpotApi } from '../lib/clients/spot.ts';
import { loadConfig } from '../lib/config/config.ts';
import type { Context } from '../lib/core/context.ts';
import { ApiError, OnboardError } from '../lib/core/errors.ts';
import { Redactor } from '../lib/core/redact.ts';
import type { Reporter } from '../lib/core/reporter.ts';
import { emptyState } from '../lib/core/state.ts';
import { app } from '../lib/steps/app.ts';
import { link } from '../lib/steps/link.ts';
import { preflight } from '../lib/steps/preflight.ts';
import { role } from '../lib/steps/role.ts';
import { secret } from '../lib/steps/secret.ts';
import { servicePrincipal } from '../lib/steps/service-principal.ts';
import type { AnyStep, Outputs, Step, StepId } from '../lib/steps/step.ts';
import { subscription } from '../lib/steps/subscription.ts';
import { tenant } from '../lib/steps/tenant.ts';
import { type Emulator, startEmulator } from './emulator/server.ts';
import { rejects } from './helpers.ts';

// Each step on its own, with the real clients against the emulator: run it twice and see it create, then reuse.

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator();
});
test.after(() => emulator.close());

function clientsFor(e: Emulator): Clients {
  const credential = new ClientSecretCredential(e.env.AZURE_TENANT_ID!, e.env.AZURE_CLIENT_ID!, e.env.AZURE_CLIENT_SECRET!, {
    authorityHost: e.urls.identity,
    disableInstanceDiscovery: true,
  });
  return {
    credential: async () => credential,
    graph: () => createGraphApi(credential, e.urls.graph),
    arm: () => createArmApi(credential, e.urls.arm),
    spot: () => createSpotApi({ baseUrl: e.urls.spot, token: e.env.SPOTINST_TOKEN!, retryLimit: 0 }),
  };
}

function contextFor(e: Emulator, argv: string[] = []): Context & { retries: string[] } {
  const config = loadConfig({ argv, env: e.env, cwd: process.cwd(), stdinIsTTY: false });
  const retries: string[] = [];
  const report: Reporter = {
    stepStart: () => {},
    stepDone: () => {},
    stepFailed: () => {},
    info: () => {},
    warn: () => {},
    retrying: (id, n, max, reason) => retries.push(`${id} ${n}/${max} ${reason}`),
  };
  const state = emptyState(config.accountId!);
  return {
    config,
    accountId: config.accountId!,
    state,
    outputs: {},
    clients: clientsFor(e),
    report,
    redactor: new Redactor(),
    lagSchedule: { maxWaitMs: 2_000, initialDelayMs: 10, maxDelayMs: 50 },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => new Date(),
    statePath: '(not saved)',
    signal: new AbortController().signal,
    retries,
  };
}

/** Runs a step as the runner would: outputs merged into the context and recorded in the state. */
async function run<K extends StepId>(step: Step<K>, ctx: Context): Promise<{ outputs: Outputs; summary: string }> {
  const result = await step.run(ctx);
  Object.assign(ctx.outputs, result.outputs);
  (ctx.state.steps as Record<string, unknown>)[step.id] = { outputs: result.outputs, at: new Date().toISOString() };
  return result;
}

async function upTo(last: AnyStep, ctx: Context) {
  for (const step of [preflight, tenant, subscription, app, servicePrincipal, secret, role, link] as AnyStep[]) {
    await run(step as Step<StepId>, ctx);
    if (step === last) return;
  }
}

test('preflight and tenant only read', async () => {
  const ctx = contextFor(emulator);
  emulator.resetCounters();
  const checked = await run(preflight, ctx);
  assert.is(checked.outputs.subscriptionId, emulator.env.AZURE_SUBSCRIPTION_ID);
  const read = await run(tenant, ctx);
  assert.is(read.outputs.tenantId, emulator.store.tenant.id);
  assert.equal(emulator.mutating(), []);
});

test('app: creates the application, then reuses the one found by its unique name', async () => {
  const first = contextFor(emulator);
  await upTo(app, first);
  const second = contextFor(emulator);
  await upTo(subscription, second);
  const reused = await run(app, second);
  assert.match(reused.summary, 'reused');
  assert.is(reused.outputs.applicationObjectId, first.outputs.applicationObjectId);
  assert.is(emulator.store.applications.length, 1);
});

test('service-principal: creates, then reuses', async () => {
  const ctx = contextFor(emulator);
  await upTo(app, ctx);
  const created = await run(servicePrincipal, ctx);
  const reused = await run(servicePrincipal, ctx);
  assert.match(reused.summary, 'reused');
  assert.is(reused.outputs.servicePrincipalId, created.outputs.servicePrincipalId);
  assert.is(emulator.store.servicePrincipals.length, 1);
});

test('role: the same assignment twice is one assignment; a hand-made one counts as done', async () => {
  const ctx = contextFor(emulator);
  await upTo(servicePrincipal, ctx);
  const first = await run(role, ctx);
  const second = await run(role, ctx);
  assert.is(second.outputs.roleAssignmentId, first.outputs.roleAssignmentId);
  const principalId = ctx.outputs.servicePrincipalId!;
  const mine = () => emulator.store.roleAssignments.filter((a) => a.principalId === principalId);
  assert.is(mine().length, 1);

  // The same principal and role under another name: ARM answers 409 RoleAssignmentExists.
  const existing = mine()[0]!;
  existing.name = '00000000-0000-4000-8000-000000000001';
  existing.id = `${existing.scope}/providers/Microsoft.Authorization/roleAssignments/${existing.name}`;
  const third = await run(role, ctx);
  assert.is(third.outputs.roleAssignmentId, existing.id);
  assert.is(third.outputs.roleAssignmentPreexisting, 'true');
  assert.is(mine().length, 1);
});

test('secret and link: one secret, linked, then dropped from the state; a lost secret is removed after linking', async () => {
  const ctx = contextFor(emulator);
  await upTo(secret, ctx);
  assert.ok(ctx.heldSecret?.value);
  await run(role, ctx);
  await run(link, ctx);
  assert.is(ctx.heldSecret, undefined);
  const application = emulator.store.appById(ctx.outputs.applicationObjectId!)!;
  const linked = emulator.store.spot.credentials.get(ctx.accountId)!;
  assert.is(linked.clientSecret, application.passwordCredentials.find((p) => p.keyId === ctx.outputs.secretKeyId)!.secretText);

  // A run that sent addPassword and lost the answer left a secret of the tool's that nobody holds; the
  // next one adds another, links it, and removes the lost one, never the one added by hand.
  const template = application.passwordCredentials[0]!;
  application.passwordCredentials.push({ ...template, keyId: crypto.randomUUID(), displayName: 'added by hand' });
  application.passwordCredentials.push({ ...template, keyId: crypto.randomUUID(), secretText: 'a-lost-secret-value-123' });
  delete ctx.state.steps.link;
  await run(secret, ctx);
  await run(link, ctx);
  const remaining = application.passwordCredentials.map((p) => p.displayName);
  assert.equal(remaining.sort(), ['added by hand', 'spot-azure-onboard']);
  assert.is(
    emulator.store.spot.credentials.get(ctx.accountId)!.clientSecret,
    application.passwordCredentials.find((p) => p.displayName === 'spot-azure-onboard')!.secretText,
  );
});

test('API refusals come out as typed errors with a hint', async () => {
  const denied = await startEmulator({ graphAppRegistrationAllowed: false });
  try {
    const ctx = contextFor(denied);
    await upTo(subscription, ctx);
    const error = await rejects(run(app, ctx), (e) => e instanceof ApiError && e.status === 403);
    assert.match((error as ApiError).hint!, 'Application Developer');
  } finally {
    await denied.close();
  }
});

test('a reset connection: reads are retried; addPassword is not, and fails as unavailable', async () => {
  const ctx = contextFor(emulator);
  await upTo(servicePrincipal, ctx);
  const graph = await ctx.clients.graph();
  emulator.faults.add({ api: 'graph', method: 'GET', reset: true });
  assert.is((await graph.getApplication(ctx.outputs.applicationObjectId!)).id, ctx.outputs.applicationObjectId);
  assert.ok(
    emulator.requests.some((r) => r.api === 'graph' && r.method === 'GET' && r.status === 0),
    'the GET was not reset',
  );

  const addPasswordSent = () => emulator.requests.filter((r) => r.path.includes('/addPassword')).length;
  const before = addPasswordSent();
  emulator.faults.add({ api: 'graph', method: 'POST', path: /\/addPassword/, reset: true });
  const error = await rejects(run(secret, ctx), (e) => e instanceof ApiError && e.api === 'graph' && e.kind === 'unavailable');
  assert.match((error as ApiError).message, 'Microsoft Graph could not be reached');
  assert.ok((error as ApiError).hint);
  assert.is(addPasswordSent() - before, 1);
});

test('role: a 409 for an assignment Azure does not list yet is an error to retry later, never an empty id', async () => {
  const ctx = contextFor(emulator);
  await upTo(role, ctx);
  const principalId = ctx.outputs.servicePrincipalId!;
  const existing = emulator.store.roleAssignments.find((a) => a.principalId === principalId)!;
  existing.name = '00000000-0000-4000-8000-000000000002';
  existing.id = `${existing.scope}/providers/Microsoft.Authorization/roleAssignments/${existing.name}`;
  // ARM's list lags behind its conflict check: the listing comes back empty once.
  emulator.faults.add({ api: 'arm', method: 'GET', path: /roleAssignments\?/, status: 200, body: { value: [] } });
  const error = await rejects(run(role, ctx), (e) => e instanceof OnboardError && e.kind === 'conflict');
  assert.match((error as OnboardError).message, 'does not list that assignment yet');
  const again = await run(role, ctx);
  assert.is(again.outputs.roleAssignmentId, existing.id);
});

test("ARM unreachable even after the pipeline's own retries: a typed error with a hint", async () => {
  const ctx = contextFor(emulator);
  await upTo(servicePrincipal, ctx);
  emulator.faults.add({ api: 'arm', method: 'PUT', reset: true, times: 20 });
  try {
    const error = await rejects(run(role, ctx), (e) => e instanceof ApiError && e.api === 'arm' && e.kind === 'unavailable');
    assert.match((error as ApiError).message, 'Azure Resource Manager could not be reached');
    assert.ok((error as ApiError).hint);
    assert.ok(emulator.requests.filter((r) => r.api === 'arm' && r.method === 'PUT' && r.status === 0).length > 1, 'the pipeline did not retry');
  } finally {
    emulator.faults.clear();
  }
});

test('replication lag is retried, visibly, and only for as long as it lasts', async () => {
  const lagging = await startEmulator({ lag: { spNoBackingAppRefusals: 2, principalRefusals: 2 } });
  try {
    const ctx = contextFor(lagging);
    await upTo(role, ctx);
    for (const step of ['service-principal', 'role']) {
      assert.is(ctx.retries.filter((r) => r.startsWith(step)).length, 2, ctx.retries.join('\n'));
    }
    assert.is(lagging.store.servicePrincipals.length, 1);
  } finally {
    await lagging.close();
  }
});

test.run();
