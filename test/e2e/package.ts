import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from './cli.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NPM_TIMEOUT_MS = 120_000;

/** The environment without the npm settings `npm test` passes down (npm_config_*), with this Node first on PATH. */
export function plainEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const kept = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !/^npm_/i.test(e[0]));
  return { ...Object.fromEntries(kept), PATH: `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}` };
}

async function npm(args: string[], cwd: string): Promise<string> {
  const run = await runProgram('npm', args, { env: plainEnv(), cwd, timeoutMs: NPM_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`npm ${args.join(' ')} failed (exit ${run.code}):\n${run.stderr}`);
  return run.stdout;
}

export interface Packed {
  tarball: string;
  /** Bytes of the .tgz, and of the files in it. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/** `npm pack` of this repository (its prepack builds dist/), into a fresh temporary folder. */
export async function pack(): Promise<Packed> {
  const dest = mkdtempSync(join(tmpdir(), 'onboard-pack-'));
  const [result] = JSON.parse(await npm(['pack', '--json', '--pack-destination', dest], root)) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  return { tarball: join(dest, result!.filename), size: result!.size, unpackedSize: result!.unpackedSize, files: result!.files.map((f) => f.path) };
}

/**
 * Installs the tarball into an empty prefix as an air-gapped machine would: offline, with an empty
 * npm cache, so anything it needed beyond itself would fail the install. Returns the prefix.
 */
export async function installOffline(tarball: string): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'onboard-install-'));
  const prefix = join(scratch, 'prefix');
  const cache = join(scratch, 'empty-cache');
  mkdirSync(prefix);
  mkdirSync(cache);
  await npm(['install', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, '--cache', cache, tarball], scratch);
  return prefix;
}

/** The installed `spot-azure-onboard` command in a prefix. */
export const installedBin = (prefix: string): string => join(prefix, 'node_modules', '.bin', 'spot-azure-onboard');
