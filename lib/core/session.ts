import { type Clients, createClients } from '../clients/clients.ts';
import type { Config } from '../config/config.ts';
import { statePathFor } from '../config/config.ts';
import type { Context } from './context.ts';
import { OnboardError } from './errors.ts';
import { abortableSleep } from './interrupt.ts';
import type { Redactor } from './redact.ts';
import type { Reporter } from './reporter.ts';
import { defaultLagSchedule } from './retry.ts';
import { assertNotSuperseded, assertSameCloud, StateStore } from './state.ts';

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
    throw new OnboardError(
      'usage',
      'No Spot account given.',
      'Pass --account-id act-… or set SPOTINST_ACCOUNT (Spot console → Settings → Account shows the id).',
    );
  }
  const now = deps.now ?? (() => new Date());
  const store = new StateStore(statePathFor(config, accountId), now);
  if (lock) await store.lock();
  try {
    const state = await store.load(accountId);
    assertSameCloud(state, store.path, config.cloud);
    assertNotSuperseded(state, store.path, config.relink);
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
      now,
      statePath: store.path,
      saveState: lock
        ? () => store.save(state)
        : () => Promise.reject(new Error('internal: a session without the lock (a plan, a status) cannot save the state')),
      signal: deps.signal,
    };
    return await work(ctx, store);
  } finally {
    await store.unlock();
  }
}
