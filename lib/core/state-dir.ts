import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readJsonFile, type State } from './state.ts';
import { unusable } from './state-location.ts';

/** The fleet's own journal (the Spot accounts a fleet run created), beside the links' state files. */
export const FLEET_FILE = 'fleet.jsonl';
/** What earlier versions kept it in: not a link's state file either. */
const EARLIER_FLEET_FILE = 'fleet.json';

/** A link recorded in the state directory: its state file and the account (and subscription) it names. */
export interface RecordedLink {
  accountId: string;
  subscriptionId?: string;
  path: string;
  /** Why the file is history, not a live link: deprovisioned, or superseded by a --relink. */
  retired?: string;
}

export const isRecordedState = (value: unknown): value is State =>
  typeof (value as State | null)?.steps === 'object' && typeof (value as State | null)?.accountId === 'string';

/**
 * Every link's state file in `dir`, by account id: each `*.json` but the fleet record. A file that
 * cannot be read is still listed (under its file name), so the command that opens it reports why.
 */
export async function listLinks(dir: string): Promise<RecordedLink[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw unusable(dir, code === 'ENOTDIR' ? 'it is not a directory' : `it cannot be listed (${code})`);
  }
  const files = names.filter((name) => name.endsWith('.json') && name !== EARLIER_FLEET_FILE).sort();
  const links = await Promise.all(
    files.map(async (name): Promise<RecordedLink> => {
      const path = join(dir, name);
      const fallback = { accountId: basename(name, '.json'), path };
      try {
        const state = await readJsonFile(path, isRecordedState, { unreadable: '', invalid: '' });
        return state ? { accountId: state.accountId, subscriptionId: state.subscriptionId, path, ...retiredOf(state) } : fallback;
      } catch {
        return fallback;
      }
    }),
  );
  return links.sort((a, b) => a.accountId.localeCompare(b.accountId));
}

/** The links that are live: not deprovisioned, not superseded by a --relink (those files are history). */
export async function liveLinks(dir: string): Promise<RecordedLink[]> {
  return (await listLinks(dir)).filter((link) => !link.retired);
}

function retiredOf(state: State): { retired?: string } {
  if (state.deprovisioned) return { retired: `deprovisioned ${state.deprovisioned}` };
  if (state.superseded) return { retired: `superseded ${state.superseded.at} by ${state.superseded.by} (subscription ${state.superseded.subscriptionId})` };
  return {};
}
