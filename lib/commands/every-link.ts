import type { CliIo } from '../cli/command.ts';
import { createClients } from '../clients/clients.ts';
import type { Config } from '../config/config.ts';
import { mapConcurrently } from '../core/concurrency.ts';
import { OnboardError } from '../core/errors.ts';
import { abortableSleep, interrupted } from '../core/interrupt.ts';
import type { SessionDeps } from '../core/session.ts';
import { liveLinks, type RecordedLink } from '../core/state-dir.ts';

/** What became of one link: the work's result, or the failure that stopped it, or neither when an interruption came first. */
export interface LinkOutcome<R> {
  link: RecordedLink;
  result?: R;
  error?: unknown;
}

/**
 * Runs `work` for every link in the state directory, at most `--concurrency` at a time (the bound of
 * fleet provisioning), with one sign-in and one set of clients. One link failing does not stop the
 * others; `describe` gives each finished link its progress line. Throws when interrupted, after the
 * links in flight have finished.
 */
export async function forEveryLink<R>(
  config: Config,
  io: CliIo,
  work: (one: Config, deps: SessionDeps) => Promise<R>,
  describe: (outcome: LinkOutcome<R>) => { ok: boolean; line: string },
): Promise<LinkOutcome<R>[]> {
  const links = await liveLinks(config.stateDir);
  if (links.length === 0) {
    throw new OnboardError(
      'usage',
      `--all found no link: ${config.stateDir} holds no state file.`,
      'Name the directory provision.ts wrote its state files to with --state-dir, or run this where you ran provision.ts.',
    );
  }
  const sleep = abortableSleep(io.signal);
  const clients = createClients(config, { sleep, report: io.report });
  const progress = io.fleetProgress(links.length);
  let outcomes: LinkOutcome<R>[];
  try {
    const twice = twiceRecorded(links);
    outcomes = await mapConcurrently(links, config.concurrency, async (link): Promise<LinkOutcome<R>> => {
      if (io.signal.aborted) return { link };
      progress.started(link.accountId);
      const other = twice.get(link.accountId)?.find((path) => path !== link.path);
      if (other) {
        // Two runs on one account at once (each file has its own lock) would each remove the other's new secret.
        const error = new OnboardError(
          'state',
          `Spot account ${link.accountId} is recorded by two live state files, ${link.path} and ${other}; neither was touched.`,
          'Keep the one that describes the link (status.ts --state <file> tells), and move the other out of the state directory.',
        );
        const { ok, line } = describe({ link, error });
        progress.finished(link.accountId, ok, line);
        return { link, error };
      }
      const one: Config = Object.freeze({ ...config, accountId: link.accountId, statePath: link.path, all: false });
      const outcome: LinkOutcome<R> = { link };
      try {
        outcome.result = await work(one, { report: progress.reporter(link.accountId), redactor: io.redactor, signal: io.signal, clients, sleep });
      } catch (error) {
        outcome.error = error;
      }
      const { ok, line } = describe(outcome);
      progress.finished(link.accountId, ok, line);
      return outcome;
    });
  } finally {
    progress.close();
  }
  if (io.signal.aborted) throw interrupted();
  return outcomes;
}

/** Accounts that more than one live state file records, with those files. */
function twiceRecorded(links: RecordedLink[]): Map<string, string[]> {
  const paths = new Map<string, string[]>();
  for (const link of links) paths.set(link.accountId, [...(paths.get(link.accountId) ?? []), link.path]);
  return new Map([...paths].filter(([, files]) => files.length > 1));
}
