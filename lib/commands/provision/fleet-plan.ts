import type { Clients } from '../../clients/clients.ts';
import type { SpotAccount } from '../../clients/spot.ts';
import type { Config } from '../../config/config.ts';
import { mapConcurrently } from '../../core/concurrency.ts';
import { describeFailure, OnboardError } from '../../core/errors.ts';
import type { PlanEntry } from '../../core/runner.ts';
import type { SessionDeps } from '../../core/session.ts';
import { accountNameFor } from '../../domain/spot-accounts.ts';
import { configFor, noAccountFor, openFleet, type Target } from './fleet.ts';
import { table } from './output.ts';
import { planProvision } from './run.ts';

export type FleetPlanAction = 'already linked' | 'will link' | 'will create account' | 'would fail';

/** One line of the fleet's plan (and of `--json`). */
export interface FleetPlanRow {
  subscriptionId: string;
  subscriptionName: string;
  action: FleetPlanAction;
  /** The Spot account to link; unset when one would be created. */
  accountId?: string;
  /** The account's name, or the name a created one would get. */
  accountName?: string;
  /** The steps that would change something, or why the subscription would fail. */
  detail: string;
  /** The single link's plan, step by step, as `--dry-run` shows it for one subscription. */
  steps?: PlanEntry[];
}

/** The id a Spot account that does not exist yet goes by in the plan of the subscription that would get it. */
const NEW_ACCOUNT_ID = 'act-(new)';

/**
 * A new account has no state file, no application and no credentials in Spot: the walk is told so
 * instead of asking, so no request names an account that does not exist. Its other reads (the
 * subscription, the role, the right to assign it) are the ones a real run's preflight makes.
 */
function forNewAccount(clients: Clients): Clients {
  return {
    ...clients,
    graph: async () => ({ ...(await clients.graph()), findApplication: async () => undefined }),
    spot: async () => ({ ...(await clients.spot()), getAzureCredentials: async () => undefined }),
  };
}

/**
 * What a fleet run would do for each subscription, from the same walk as one link's --dry-run
 * (`planProvision`), with the fleet's one listing of subscriptions and Spot accounts. Sends no changing
 * request, creates no account, takes no lock and writes no file.
 */
export async function planFleet(config: Config, deps: SessionDeps): Promise<FleetPlanRow[]> {
  const fleet = await openFleet(config, deps);
  const rows = await mapConcurrently(fleet.targets, config.concurrency, async (target): Promise<FleetPlanRow> => {
    const row = { subscriptionId: target.subscriptionId, subscriptionName: target.subscriptionName };
    if (deps.signal.aborted) return { ...row, action: 'would fail', detail: 'interrupted before it was planned' };
    let account: SpotAccount | undefined;
    try {
      if (target.problem) throw target.problem;
      account = fleet.findAccount(target)?.account;
      if (!account && !config.createAccounts) throw noAccountFor(target);
      const clients = account ? fleet.clientsFor(account) : forNewAccount(fleet.clientsFor({ accountId: NEW_ACCOUNT_ID, name: accountNameFor(target) }));
      const steps = await planProvision(configFor(config, target, account?.accountId ?? NEW_ACCOUNT_ID), { ...deps, clients });
      return { ...row, ...describe(target, account, steps), steps };
    } catch (error) {
      return {
        ...row,
        ...(account ? { accountId: account.accountId, accountName: account.name } : {}),
        action: 'would fail',
        detail: describeFailure(error, false).replace(/^Error: /, ''),
      };
    }
  });
  if (deps.signal.aborted) throw new OnboardError('interrupted', 'Interrupted while planning; nothing was changed.', 'Run the same command again.');
  return rows;
}

function describe(target: Target, account: SpotAccount | undefined, steps: PlanEntry[]): Pick<FleetPlanRow, 'action' | 'accountId' | 'accountName' | 'detail'> {
  const changes = steps.filter((s) => s.action !== 'done' && s.action !== 'check').map((s) => `${s.id}: ${s.action}`);
  if (!account) {
    const name = accountNameFor(target);
    return { action: 'will create account', accountName: name, detail: [`account: create "${name}"`, ...changes].join(', ') };
  }
  const named = { accountId: account.accountId, accountName: account.name };
  return changes.length === 0 ? { ...named, action: 'already linked', detail: '' } : { ...named, action: 'will link', detail: changes.join(', ') };
}

/** Exit 1 when some subscription would fail, after the plan is shown: a scheduled job can stop on it. */
export function throwIfPlanFails(rows: FleetPlanRow[]): void {
  const failing = rows.filter((r) => r.action === 'would fail').length;
  if (failing === 0) return;
  throw new OnboardError(
    'partial',
    `${failing} of ${rows.length} subscriptions would not be linked (see the plan); nothing was changed.`,
    'Fix what each line says, then run the plan again, or run without --dry-run to link the others.',
  );
}

/** The plan as a table: one row per subscription, then the tally. */
export function fleetPlanTable(rows: FleetPlanRow[]): string {
  const header = ['subscription', 'Spot account', 'plan', 'detail'];
  const lines = rows.map((r) => [
    `${r.subscriptionName} (${r.subscriptionId})`,
    r.accountId ?? (r.action === 'will create account' ? '(new)' : '-'),
    r.action,
    r.detail.replace(/\s*\n\s*/g, ' '),
  ]);
  const count = (action: FleetPlanAction) => rows.filter((r) => r.action === action).length;
  const tally = `Dry run, nothing was changed: ${count('already linked')} already linked, ${count('will link')} to link, ${count('will create account')} to link to a new account, ${count('would fail')} would fail.`;
  return ['', ...table(header, lines), '', tally].join('\n');
}
