import { checkSignIn } from './clients/credential.ts';
import type { Config } from './config.ts';
import { statePathFor } from './config.ts';
import { abortableSleep, createClients, type Clients, type Context } from './context.ts';
import { OnboardError } from './errors.ts';
import type { Redactor } from './redact.ts';
import type { Reporter } from './report.ts';
import { defaultLagSchedule } from './retry.ts';
import { assertSameTenant, StateStore } from './state.ts';

/** What a script's edge hands to the library: output, redaction, interruption, and (in tests) effects. */
export interface SessionDeps {
  report: Reporter;
  redactor: Redactor;
  signal: AbortSignal;
  clients?: Clients;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

/**
 * Opens the state file of the configured Spot account (locked when `lock`: the scripts that change
 * things), builds the step context around it, runs `work`, and releases the lock whatever happens.
 */
export async function withSession<T>(
  config: Config,
  deps: SessionDeps,
  { lock }: { lock: boolean },
  work: (ctx: Context, store: StateStore) => Promise<T>,
): Promise<T> {
  const accountId = config.accountId;
  if (!accountId) {
    throw new OnboardError('usage', 'No Spot account given.', 'Pass --account-id act-… or set SPOTINST_ACCOUNT (Spot console → Settings → Account shows the id).');
  }
  const store = new StateStore(statePathFor(config, accountId));
  if (lock) await store.lock();
  try {
    const state = await store.load(accountId);
    const ctx: Context = {
      config,
      accountId,
      state,
      outputs: {},
      clients: deps.clients ?? createClients(config, { sleep: deps.sleep ?? abortableSleep(deps.signal), report: deps.report }),
      report: deps.report,
      redactor: deps.redactor,
      lagSchedule: { ...defaultLagSchedule, maxWaitMs: config.maxWaitSeconds * 1000 },
      sleep: deps.sleep ?? abortableSleep(deps.signal),
      now: deps.now ?? (() => new Date()),
      saveState: () => store.save(state),
      statePath: store.path,
      signal: deps.signal,
    };
    return await work(ctx, store);
  } finally {
    await store.unlock();
  }
}

/**
 * One token now, so a sign-in problem is reported as such before the first Graph or ARM call; then,
 * for a state that records its tenant, a check that it is the one signed in to: in another tenant
 * every object the state records would look "already gone".
 */
export async function checkSignInToStateTenant(ctx: Context): Promise<void> {
  const tokenTenant = await checkSignIn(await ctx.clients.credential(), ctx.config.endpoints, ctx.config.credentialSources);
  if (!ctx.state.tenantId) return;
  // The token names its tenant, which needs no Graph permission (a status job's service principal may have none).
  const signedIn = tokenTenant ?? (await (await ctx.clients.graph()).tenant()).id;
  assertSameTenant(ctx.state, ctx.statePath, signedIn);
}
