import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OnboardError } from './errors.ts';

const HINT = 'Pass --state-dir (or --state) with a directory this user can create and write to, e.g. --state-dir ./.spot-azure-onboard.';

/** Each directory is made and probed once per process, not per save; concurrent links of one directory share it. */
const ready = new Map<string, Promise<void>>();

/**
 * Makes the directory for state files (its missing parents too, mode 0700) and proves a file can be
 * written in it; anything else is a usage error naming the path, raised before the first request.
 *
 * Not `mkdir(dir, { recursive: true })`: procfs answers ENOENT to a mkdir of a child although the parent
 * exists, and Node's recursive mkdir takes ENOENT for "parent missing" and retries forever at full CPU
 * (`--state /proc/x/y.json` used to spin); with a file as the last parent it answers EEXIST, which
 * told the user nothing (`--state /dev/null/x.json`).
 */
export function makeStateDir(dir: string): Promise<void> {
  let made = ready.get(dir);
  if (!made) {
    made = prepare(dir);
    ready.set(dir, made);
    // A failure is not remembered: the next write tries again, and reports it again.
    made.catch(() => ready.delete(dir));
  }
  return made;
}

async function prepare(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    const kind = await kindOf(at);
    if (kind === 'directory') break;
    if (kind === 'other') throw unusable(dir, `${at} exists and is not a directory`);
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const path of missing) {
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (error) {
      if (!(codeOf(error) === 'EEXIST' && (await kindOf(path)) === 'directory')) throw unusable(dir, `${path} cannot be created (${codeOf(error)})`);
    }
  }
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await writeFile(probe, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    throw unusable(dir, `no file can be written in it (${codeOf(error)})`);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** For readers: a state path with a file where a directory should be can hold no state, and saying so beats "not found". */
export async function assertNoFileInTheWay(path: string): Promise<void> {
  for (let at = dirname(path); dirname(at) !== at; at = dirname(at)) {
    const kind = await kindOf(at);
    if (kind === 'directory') return;
    if (kind === 'other') throw unusable(path, `${at} exists and is not a directory`);
  }
}

/** A usage error: the location came from the command line (or its default), and nothing has been sent anywhere. */
export function unusable(path: string, why: string): OnboardError {
  return new OnboardError('usage', `The state location ${path} cannot be used: ${why}.`, HINT);
}

async function kindOf(path: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return 'missing';
    // ENOTDIR: a parent further up is a file; the walk reaches it.
    if (codeOf(error) === 'ENOTDIR') return 'missing';
    throw unusable(path, `it cannot be inspected (${codeOf(error)})`);
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
