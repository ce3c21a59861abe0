import { appendFile, type FileHandle, link, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { StepRecords } from '../steps/outputs.ts';
import { OnboardError } from './errors.ts';
import { makeStateDir, unusable } from './state-location.ts';

export const STATE_VERSION = 1;

export interface State {
  version: number;
  accountId: string;
  tenantId?: string;
  subscriptionId?: string;
  /** The --cloud the link was made in (files from before it was recorded lack it). */
  cloud?: string;
  steps: StepRecords;
  /** A secret rotation in progress (rotate-secret.ts); cleared when it finishes. */
  rotation?: Rotation;
  /** When deprovision.ts removed what this file records; provision refuses such a file. */
  deprovisioned?: string;
  /** The --secret-expiry (months) last given for this link: rotations give their new secrets that lifetime. */
  secretExpiryMonths?: number;
  /** A --role change begun (the role it moves to): finished by the next run, even one without --role. */
  roleChange?: { roleDefinitionId: string; roleName: string };
  /** A --relink in progress: the subscription the account leaves, and the tool's role assignment there. */
  relinkFrom?: RelinkFrom;
  /** Another state file took this account to another subscription (--relink): this record is history. */
  superseded?: { at: string; by: string; subscriptionId: string };
}

export interface RelinkFrom {
  subscriptionId: string;
  roleAssignmentId?: string;
  roleAssignmentPreexisting?: 'true';
}

export interface Rotation {
  startedAt: string;
  /** The tool's secrets in use when the rotation started: removed once Spot holds the new one. */
  supersededKeyIds: string[];
}

/** A state made in one tenant describes objects that do not exist in another: refuse to act on it there. */
export function assertSameTenant(state: State, path: string, signedInTenantId: string): void {
  if (state.tenantId && state.tenantId !== signedInTenantId) {
    throw new OnboardError(
      'state',
      `The state file ${path} was made in Azure tenant ${state.tenantId}, but you are signed in to tenant ${signedInTenantId}.`,
      'Sign in to the tenant the file was made for (az login --tenant …), or pass --state with a different path.',
    );
  }
}

/**
 * A record another state file superseded (--relink moved the account) describes a link that is gone:
 * acting on it would undo the move (or, for deprovision, remove the application the live link uses).
 */
export function assertNotSuperseded(state: State, path: string, relink: boolean): void {
  if (!state.superseded || relink) return;
  const { at, by, subscriptionId } = state.superseded;
  throw new OnboardError(
    'state',
    `The state file ${path} is history: on ${at} Spot account ${state.accountId} was moved to subscription ${subscriptionId}, recorded in ${by}.`,
    `Work on the live link with --state ${by}; to move the account back to subscription ${state.subscriptionId ?? 'of this file'}, run provision.ts --state ${path} --relink.`,
  );
}

/** A link lives in one cloud: its tenant, application and role do not exist in another. */
export function assertSameCloud(state: State, path: string, cloud: string): void {
  if (state.cloud && state.cloud !== cloud) {
    throw new OnboardError(
      'state',
      `The state file ${path} records a link in ${state.cloud}, but --cloud asks for ${cloud}; a link's application, role and Spot credentials cannot move to another cloud.`,
      `Pass --cloud ${state.cloud} to work on this link; to link a subscription in ${cloud}, use another Spot account with its own state file.`,
    );
  }
}

export function emptyState(accountId: string): State {
  return { version: STATE_VERSION, accountId, steps: {} };
}

/** The locks this process holds, to tell them from a lock file that only carries our pid. */
const locksHeldHere = new Set<string>();

/**
 * The state file: versioned JSON, written to a temp file and renamed into place (so a crash leaves
 * the old or the new file, never half of one), mode 0600, with the previous version kept as `.bak`
 * and a lock file so two runs cannot share it.
 */
export class StateStore {
  readonly path: string;
  #lockHeld = false;
  #backedUp = false;

  readonly #now: () => Date;

  constructor(path: string, now: () => Date = () => new Date()) {
    this.path = path;
    this.#now = now;
  }

  get lockPath(): string {
    return `${this.path}.lock`;
  }

  get backupPath(): string {
    return `${this.path}.bak`;
  }

  /** Reads the state for `accountId`; a missing file is an empty state. Refuses files it must not touch. */
  async load(accountId: string): Promise<State> {
    const state = await readJsonFile(this.path, (value): value is State => typeof (value as State | null)?.steps === 'object', {
      unreadable: 'Check its permissions, or pass --state with another path.',
      invalid: `Restore it from ${this.backupPath} if that is intact, or move it away to start over (objects already created are found again by their unique name).`,
    });
    if (state === undefined) return emptyState(accountId);
    // Versions before 0.2 held the new client secret here until Spot had it; it is never read back.
    delete (state as { secret?: unknown }).secret;
    if (typeof state.version !== 'number' || state.version > STATE_VERSION) {
      throw new OnboardError(
        'state',
        `The state file ${this.path} has version ${String(state.version)}, newer than this tool understands (${STATE_VERSION}).`,
        'Update spot-azure-onboard (git pull && npm ci) and run again.',
      );
    }
    if (state.accountId !== accountId) {
      throw new OnboardError(
        'state',
        `The state file ${this.path} belongs to Spot account ${state.accountId}, not ${accountId}.`,
        'Pass --state with a different path for this account, or the --account-id the file was made for.',
      );
    }
    return state;
  }

  async save(state: State): Promise<void> {
    await makeStateDir(dirname(this.path));
    // Before the first overwrite only (as Terraform's statemgr does): a run saves after every step, and a
    // fleet runs thousands, so a backup of each save would double the writes for no better restore point.
    this.#backedUp ||= await this.#keepBackup();
    await writeJsonAtomic(this.path, state);
  }

  /** The previous state as `.bak`, if there is one; a file of a version before 0.2 may still hold a client secret, which the backup drops. */
  async #keepBackup(): Promise<boolean> {
    let previous: State;
    try {
      previous = JSON.parse(await readFile(this.path, 'utf8')) as State;
    } catch {
      return false;
    }
    delete (previous as { secret?: unknown }).secret;
    await rm(this.backupPath, { force: true });
    await writeFile(this.backupPath, `${JSON.stringify(previous, null, 2)}\n`, { mode: 0o600 });
    return true;
  }

  /** Takes the lock, or explains who holds it. A lock left by a process that no longer runs is taken over. */
  async lock(): Promise<void> {
    await makeStateDir(dirname(this.path));
    // The lock appears with its holder already written (link of a finished temp file), so no other
    // run can read it half-made and take it for a stale one.
    const temp = `${this.lockPath}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify({ pid: process.pid, startedAt: this.#now().toISOString() }), { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await placeLock(temp, this.lockPath);
          this.#lockHeld = true;
          locksHeldHere.add(this.lockPath);
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = await this.#lockHolder();
        // Our own pid on a lock this process does not hold is no run at all: a lock carried over from
        // another machine (a cached state directory) whose process had our number.
        const carriedOver = holder === process.pid && !locksHeldHere.has(this.lockPath);
        if (holder !== undefined && !carriedOver && isRunning(holder)) {
          throw new OnboardError(
            'state',
            `Another run (pid ${holder}) is using the state file ${this.path}.`,
            `Wait for it to finish, or stop it; if no such run exists, delete ${this.lockPath}.`,
          );
        }
        await rm(this.lockPath, { force: true });
      }
    } finally {
      await rm(temp, { force: true });
    }
    throw new OnboardError('state', `Could not take the lock ${this.lockPath}.`, 'Another run started at the same moment; try again.');
  }

  async unlock(): Promise<void> {
    if (!this.#lockHeld) return;
    this.#lockHeld = false;
    locksHeldHere.delete(this.lockPath);
    await rm(this.lockPath, { force: true });
  }

  async #lockHolder(): Promise<number | undefined> {
    try {
      const { pid } = JSON.parse(await readFile(this.lockPath, 'utf8')) as { pid?: unknown };
      return typeof pid === 'number' ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * A JSON file this tool wrote: undefined when it does not exist, an error with `hints` when it cannot
 * be read or is not the expected shape (the file is left untouched either way).
 */
export async function readJsonFile<T>(
  path: string,
  isValid: (value: unknown) => value is T,
  hints: { unreadable: string; invalid: string },
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR' || code === 'EISDIR')
      throw unusable(path, code === 'EISDIR' ? 'it is a directory, not a file' : 'a part of it is a file, not a directory');
    throw new OnboardError('state', `Cannot read the state file ${path}: ${(error as Error).message}.`, hints.unreadable);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isValid(value)) throw new OnboardError('state', `The state file ${path} is not valid JSON state; it was left untouched.`, hints.invalid);
  return value;
}

/** Pretty JSON written to a temp file and renamed into place, mode 0600: a crash leaves the old file or the new one. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await makeStateDir(dirname(path));
  // One fixed temp name: a temp file left by a crash is replaced by the next write, not left beside it.
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  const text = `${JSON.stringify(value, null, 2)}\n`;
  // Created exclusively, so it is new and 0600. A run saves after every step (a fleet, thousands of
  // times): the usual write costs this one call (makeStateDir probes a directory once per process), and
  // a crash's temp file one more.
  const create = () => writeFile(temp, text, { mode: 0o600, flag: 'wx' });
  try {
    await create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    await rm(temp, { force: true });
    await create();
  }
  await rename(temp, path);
}

/**
 * A journal this tool appends to, one JSON value per line: undefined when it does not exist. A last line
 * without its newline is a write a crash cut short, and is left out; any other bad line is an error with `hints`.
 */
export async function readJsonLines<T>(
  path: string,
  isValid: (value: unknown) => value is T,
  hints: { unreadable: string; invalid: string },
): Promise<T[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OnboardError('state', `Cannot read the state file ${path}: ${(error as Error).message}.`, hints.unreadable);
  }
  const lines = text.split('\n');
  // After the last newline: '' when the file ends cleanly, a cut-short line when not.
  lines.pop();
  return lines.map((line, index) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (!isValid(value))
      throw new OnboardError('state', `Line ${index + 1} of the state file ${path} is not valid; the file was left untouched.`, hints.invalid);
    return value;
  });
}

/**
 * One JSON line appended, mode 0600 when the file is new. Rewriting a whole file for each new entry costs
 * a fleet of n subscriptions n² bytes; an append costs one line, and a crash can only cut the last one short.
 */
export async function appendJsonLine(path: string, value: unknown): Promise<void> {
  await makeStateDir(dirname(path));
  // A line a crash cut short goes before the next is appended (readJsonLines leaves it out, but only as the last line).
  if (await endsMidLine(path)) {
    const text = await readFile(path, 'utf8');
    await truncate(path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
  }
  await appendFile(path, `${JSON.stringify(value)}\n`, { mode: 0o600 });
}

/** Whether the file's last byte is not a newline (only that byte is read: a fleet appends thousands of times). */
async function endsMidLine(path: string): Promise<boolean> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, 'r');
    const { size } = await file.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    await file?.close();
  }
}

/** Links the written temp file into place; where the filesystem has no hard links (FAT, some SMB shares), creates it exclusively instead. */
async function placeLock(temp: string, lockPath: string): Promise<void> {
  try {
    await link(temp, lockPath);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await writeFile(lockPath, await readFile(temp), { flag: 'wx', mode: 0o600 });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
