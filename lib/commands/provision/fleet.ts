import { join } from 'node:path';
import type { CliIo } from '../../cli/command.ts';
import type { ArmApi, Subscription } from '../../clients/arm.ts';
import { type Clients, createClients } from '../../clients/clients.ts';
import { checkSignIn } from '../../clients/credential.ts';
import type { GraphApi } from '../../clients/graph.ts';
import type { SpotAccount, SpotApi } from '../../clients/spot.ts';
import { type Config, stateDirOf, statePathFor } from '../../config/config.ts';
import { mapConcurrently } from '../../core/concurrency.ts';
import { describeFailure, OnboardError } from '../../core/errors.ts';
import { abortableSleep } from '../../core/interrupt.ts';
import { once } from '../../core/once.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { SessionDeps } from '../../core/session.ts';
import { appendJsonLine, readJsonLines, StateStore } from '../../core/state.ts';
import { FLEET_FILE } from '../../core/state-dir.ts';
import { accountNameFor, listSpotAccounts, SpotAccountIndex } from '../../domain/spot-accounts.ts';
import { table } from './output.ts';
import { provision } from './run.ts';

export type FleetStatus = 'linked' | 'already linked' | 'failed' | 'not run';

/** One line of the closing table (and of `--json`). Never a secret. */
export interface FleetRow {
  subscriptionId: string;
  subscriptionName: string;
  accountId?: string;
  /** The Spot account was created by this run. */
  accountCreated?: boolean;
  status: FleetStatus;
  error?: string;
}

export interface FleetResult {
  rows: FleetRow[];
  linked: number;
  failed: number;
  interrupted: boolean;
}

/** One line of fleet.jsonl: a Spot account this tool created for a subscription (or found by the name it gives them). */
interface CreatedAccount {
  subscriptionId: string;
  accountId: string;
  name: string;
  at: string;
}

export interface Target {
  subscriptionId: string;
  subscriptionName: string;
  /** Why it cannot be linked before anything is tried (not visible, not Enabled). */
  problem?: OnboardError;
}

/** Where a subscription's Spot account was found; see `openFleet`. */
export interface FoundAccount {
  account: SpotAccount;
  how: 'linked' | 'recorded' | 'named';
}

/** What every fleet run starts from: one sign-in, one listing of subscriptions and of Spot accounts. */
export interface Fleet {
  clients: Clients;
  /** The clients of a subscription's walk with its account: the reads every subscription shares are answered from the listings. */
  clientsFor(account: SpotAccount): Clients;
  accounts: SpotAccountIndex;
  targets: Target[];
  /** fleet.jsonl: the accounts created for subscriptions, one line each, so a crash after creating one never creates a second. */
  journalPath: string;
  /** The subscription's Spot account, if it has one yet; creates nothing. */
  findAccount(target: Target): FoundAccount | undefined;
}

/** Lists subscriptions and Spot accounts once, chooses the subscriptions and reads the journal; changes nothing. */
export async function openFleet(config: Config, deps: SessionDeps): Promise<Fleet> {
  const clients = deps.clients ?? createClients(config, { sleep: deps.sleep ?? abortableSleep(deps.signal), report: deps.report });
  const journalPath = journalPathOf(config);
  const [listed, subscriptions, journal] = await Promise.all([
    clients.spot().then(listSpotAccounts),
    clients.credential().then(async (credential) => {
      await checkSignIn(credential, config.endpoints, config.credentialSources);
      return (await clients.arm()).listSubscriptions();
    }),
    readJournal(journalPath),
  ]);
  const accounts = new SpotAccountIndex(listed);
  const byId = new Map(subscriptions.map((s) => [s.subscriptionId.toLowerCase(), s]));
  const created = new Map(journal.map((entry) => [entry.subscriptionId.toLowerCase(), entry]));
  return {
    clients,
    clientsFor: sharedReads(clients, byId),
    accounts,
    targets: chooseTargets(config, subscriptions, byId),
    journalPath,
    findAccount(target) {
      const linked = accounts.linkedTo(target.subscriptionId);
      if (linked) return { account: linked, how: 'linked' };
      const recorded = accounts.byId(created.get(target.subscriptionId.toLowerCase())?.accountId ?? '');
      if (recorded) return { account: recorded, how: 'recorded' };
      // An account created by a run that stopped before recording it: found by its name.
      const named = accounts.unlinkedNamed(accountNameFor(target));
      return named ? { account: named, how: 'named' } : undefined;
    },
  };
}

/** One subscription of the fleet, as a single link's configuration. */
export function configFor(config: Config, target: Target, accountId: string): Config {
  return Object.freeze({
    ...config,
    accountId,
    subscriptionId: target.subscriptionId,
    subscriptionIds: [target.subscriptionId],
    allSubscriptions: false,
    fleet: false,
  });
}

/** The refusal for a subscription that has no Spot account when --create-accounts was not given. */
export function noAccountFor(target: Target): OnboardError {
  return new OnboardError(
    'not-found',
    `No Spot account is linked to subscription ${target.subscriptionId} (none has it as providerExternalId).`,
    `Run again with --create-accounts to create one named "${accountNameFor(target)}", or link an existing account on its own: --account-id act-… --subscription ${target.subscriptionId}.`,
  );
}

/**
 * Links many subscriptions, each to its own Spot account, at most `config.concurrency` at a time, with
 * one sign-in and one set of clients. Each subscription runs the ordinary provisioning (its own state
 * file); one failing does not stop the others. Lists subscriptions and Spot accounts once.
 */
export async function provisionFleet(config: Config, deps: SessionDeps & Pick<CliIo, 'fleetProgress'>): Promise<FleetResult> {
  const now = deps.now ?? (() => new Date());
  // One fleet run at a time in a state directory: the lock is the journal's.
  const lock = new StateStore(journalPathOf(config), now);
  await lock.lock();
  try {
    const fleet = await openFleet(config, deps);
    const accountFor = accountMaker(config, fleet, now);

    const progress = deps.fleetProgress(fleet.targets.length);
    let rows: FleetRow[];
    try {
      rows = await mapConcurrently(fleet.targets, config.concurrency, async (target): Promise<FleetRow> => {
        const row: FleetRow = { subscriptionId: target.subscriptionId, subscriptionName: target.subscriptionName, status: 'not run' };
        if (deps.signal.aborted) return row;
        progress.started(target.subscriptionId);
        const report = progress.reporter(target.subscriptionId, { steps: true });
        try {
          if (target.problem) throw target.problem;
          const { account, created } = await accountFor(target, report);
          Object.assign(row, { accountId: account.accountId, ...(created ? { accountCreated: true } : {}) });
          const one = configFor(config, target, account.accountId);
          const wasLinked = await isLinked(one, account.accountId);
          await provision(one, { ...deps, report, clients: fleet.clientsFor(account) });
          row.status = wasLinked ? 'already linked' : 'linked';
        } catch (error) {
          row.status = error instanceof OnboardError && error.kind === 'interrupted' ? 'not run' : 'failed';
          row.error = describeFailure(error, false).replace(/^Error: /, '');
        }
        progress.finished(
          target.subscriptionId,
          row.status !== 'failed',
          `${target.subscriptionName} (${target.subscriptionId}): ${row.status}${row.accountId ? `, ${row.accountId}` : ''}`,
        );
        return row;
      });
    } finally {
      progress.close();
    }
    const failed = rows.filter((r) => r.status === 'failed').length;
    const linked = rows.filter((r) => r.status === 'linked' || r.status === 'already linked').length;
    return { rows, linked, failed, interrupted: deps.signal.aborted };
  } finally {
    await lock.unlock();
  }
}

/** The subscriptions to link: every Enabled one, or those named, each checked against the one listing. */
function chooseTargets(config: Config, subscriptions: Subscription[], byId: Map<string, Subscription>): Target[] {
  if (config.allSubscriptions) {
    const enabled = subscriptions.filter((s) => s.state === 'Enabled');
    if (enabled.length === 0) {
      throw new OnboardError(
        'not-found',
        `No Enabled subscription is visible to this identity (it sees ${subscriptions.length}).`,
        'Sign in as a user with access to the subscriptions (az login --tenant …), or name them with --subscription.',
      );
    }
    return enabled.map((s) => ({ subscriptionId: s.subscriptionId, subscriptionName: s.displayName }));
  }
  return config.subscriptionIds.map((id) => {
    const found = byId.get(id.toLowerCase());
    if (found?.state === 'Enabled') return { subscriptionId: found.subscriptionId, subscriptionName: found.displayName };
    const problem = found
      ? new OnboardError('invalid-input', `Subscription ${id} is ${found.state}, not Enabled.`, 'Enable it in the Azure portal, or leave it out.')
      : new OnboardError(
          'not-found',
          `Subscription ${id} was not found, or you cannot see it.`,
          'Check the id (az account list --query "[].id"), or sign in as a user who can see it.',
        );
    return { subscriptionId: id, subscriptionName: found?.displayName ?? '?', problem };
  });
}

/**
 * Each subscription's Spot account: the one found (see `openFleet`); else, with --create-accounts, a new
 * one, journalled before anything else is done with it. One found by its name is journalled too.
 */
function accountMaker(config: Config, fleet: Fleet, now: () => Date) {
  const record = (target: Target, account: SpotAccount) =>
    appendJsonLine(fleet.journalPath, {
      subscriptionId: target.subscriptionId,
      accountId: account.accountId,
      name: account.name,
      at: now().toISOString(),
    } satisfies CreatedAccount);
  return async (target: Target, report: Reporter): Promise<{ account: SpotAccount; created: boolean }> => {
    const found = fleet.findAccount(target);
    if (found) {
      if (found.how === 'named') await record(target, found.account);
      return { account: found.account, created: false };
    }
    if (!config.createAccounts) throw noAccountFor(target);
    const created: SpotAccount = { ...(await (await fleet.clients.spot()).createAccount(accountNameFor(target))), providerExternalId: null };
    fleet.accounts.add(created);
    await record(target, created);
    report.info(`created Spot account ${created.accountId} "${created.name}"`);
    return { account: created, created: true };
  };
}

/**
 * The clients of one subscription's walk, answering the reads that are the same for all of them from
 * the fleet's single listing (subscriptions; Spot accounts, of which the walk is shown its own) or a
 * single call (the tenant, its app management policy), so each subscription's preflight costs no extra request.
 */
function sharedReads(clients: Clients, subscriptions: Map<string, Subscription>): (account: SpotAccount) => Clients {
  const graph = once(async (): Promise<GraphApi> => {
    const api = await clients.graph();
    return { ...api, tenant: once(() => api.tenant()), defaultAppManagementPolicy: once(() => api.defaultAppManagementPolicy()) };
  });
  const arm = once(async (): Promise<ArmApi> => {
    const api = await clients.arm();
    return {
      ...api,
      getSubscription: async (subscriptionId) => subscriptions.get(subscriptionId.toLowerCase()) ?? api.getSubscription(subscriptionId),
    };
  });
  // Its own account only: preflight finds it in what listAccounts returns, and a search of all of them per subscription is n².
  return (account) => ({
    credential: clients.credential,
    graph,
    arm,
    spot: async (): Promise<SpotApi> => ({ ...(await clients.spot()), listAccounts: async () => [account] }),
  });
}

/** Progress lines of concurrent subscriptions interleave; each carries its subscription. */
async function isLinked(config: Config, accountId: string): Promise<boolean> {
  try {
    return (await new StateStore(statePathFor(config, accountId)).load(accountId)).steps.link !== undefined;
  } catch {
    // A state file provisioning cannot use is reported by provisioning itself.
    return false;
  }
}

function journalPathOf(config: Config): string {
  return join(stateDirOf(config), FLEET_FILE);
}

async function readJournal(path: string): Promise<CreatedAccount[]> {
  const isEntry = (value: unknown): value is CreatedAccount =>
    typeof (value as CreatedAccount | null)?.subscriptionId === 'string' && typeof (value as CreatedAccount).accountId === 'string';
  const entries = await readJsonLines(path, isEntry, {
    unreadable: 'Check its permissions, or move it away: accounts already created are then found by their name.',
    invalid: 'It records the Spot accounts created for subscriptions. Restore it, or move it away: accounts already created are then found by their name.',
  });
  return entries ?? [];
}

/** Exit 1 when any subscription failed, 130 when interrupted; the table has been printed by then. */
export function throwIfIncomplete(result: FleetResult): void {
  if (result.interrupted) {
    throw new OnboardError(
      'interrupted',
      "Interrupted; each subscription's state is saved.",
      'Run the same command again: it picks up only the unfinished subscriptions.',
    );
  }
  if (result.failed > 0) {
    throw new OnboardError(
      'partial',
      `${result.failed} of ${result.rows.length} subscriptions were not linked (see the table).`,
      'Fix what each error says, then run the same command again: subscriptions already linked are left as they are.',
    );
  }
}

/** The closing table: one row per subscription. */
export function fleetTable(result: FleetResult): string {
  const header = ['subscription', 'Spot account', 'status', 'error'];
  const lines = result.rows.map((r) => [
    `${r.subscriptionName} (${r.subscriptionId})`,
    r.accountId ? `${r.accountId}${r.accountCreated ? ' (new)' : ''}` : '-',
    r.status,
    (r.error ?? '').replace(/\s*\n\s*/g, ' '),
  ]);
  const tally = `${result.linked} of ${result.rows.length} subscriptions linked${result.failed ? `; ${result.failed} failed` : ''}${result.interrupted ? '; interrupted' : ''}.`;
  return ['', ...table(header, lines), '', tally].join('\n');
}
