import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../emulator/server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = import.meta.resolve('tsx');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh working directory: its own .spot-azure-onboard/ state and no .env. */
export function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'onboard-e2e-'));
}

/** The environment of a user pointed at the emulator, with nothing inherited that could reach real Azure or Spot. */
export function cliEnv(emulator: Emulator, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AZURE_|SPOTINST_|MSAL_|IDENTITY_|FORCE_COLOR$)/.test(k))) as Record<
    string,
    string
  >;
  // Only the environment credential can succeed here; excluding the developer tools keeps a failed
  // sign-in from probing managed identity at 169.254.169.254.
  const merged: Record<string, string | undefined> = { ...inherited, ...emulator.env, AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential', ...extra };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface StartedCli {
  child: ChildProcess;
  done: Promise<CliRun>;
  /** What the run has written so far. */
  output: { stdout: string; stderr: string };
}

/** Starts a script from scripts/ as a user would, without a terminal on stdin. */
export function startCli(script: string, args: string[], options: { env: Record<string, string>; cwd: string; nodeArgs?: string[] }): StartedCli {
  return startProgram(process.execPath, [...(options.nodeArgs ?? []), '--import', tsx, join(root, 'scripts', script), ...args], options);
}

/** Starts an executable (an installed bin, node itself) without a terminal on stdin. */
export function startProgram(file: string, args: string[], options: { env: Record<string, string>; cwd: string }): StartedCli {
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk) => (output.stderr += chunk));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...output })));
  return { child, done, output };
}

export const WAIT_TIMEOUT_MS = 60_000;

/**
 * Waits for `event` while `run` is alive: rejects, naming `what`, if the run exits first or
 * `timeoutMs` passes, so a CLI that stops early fails its test instead of hanging the suite.
 */
export function whileRunning<T>(run: StartedCli, event: Promise<T>, what: string, { timeoutMs = WAIT_TIMEOUT_MS } = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const shown = () => `\n--- stdout:\n${run.output.stdout}\n--- stderr:\n${run.output.stderr}`;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms${shown()}`)), timeoutMs);
  });
  const exited = run.done.then((r): never => {
    throw new Error(`${what}: the CLI exited first (code ${r.code}, signal ${r.signal})${shown()}`);
  });
  return Promise.race([event, timeout, exited]).finally(() => clearTimeout(timer));
}

/** Resolves with everything `stream` has shown once it shows `pattern` (bounded; see whileRunning). */
export function waitForOutput(
  run: StartedCli,
  pattern: string | RegExp,
  { stream = 'stdout', timeoutMs = WAIT_TIMEOUT_MS }: { stream?: 'stdout' | 'stderr'; timeoutMs?: number } = {},
): Promise<string> {
  const shows = () => (typeof pattern === 'string' ? run.output[stream].includes(pattern) : pattern.test(run.output[stream]));
  const seen = new Promise<string>((resolve) => {
    const check = () => {
      if (!shows()) return;
      run.child[stream]!.off('data', check);
      resolve(run.output[stream]);
    };
    // startCli's listener came first, so `output` already holds the chunk this one is called with.
    run.child[stream]!.on('data', check);
    check();
  });
  return whileRunning(run, seen, `waiting for ${String(pattern)} on ${stream}`, { timeoutMs });
}

/** The run's end; past `timeoutMs` the CLI is killed and the wait fails with what it had shown. */
export function ended(run: StartedCli, what: string, { timeoutMs = WAIT_TIMEOUT_MS } = {}): Promise<CliRun> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`${what}: no exit within ${timeoutMs} ms\n--- stdout:\n${run.output.stdout}\n--- stderr:\n${run.output.stderr}`));
    }, timeoutMs);
  });
  return Promise.race([run.done, timeout]).finally(() => clearTimeout(timer));
}

/** Runs a script to its end (bounded: see `ended`). */
export function runCli(script: string, args: string[], options: { env: Record<string, string>; cwd: string; nodeArgs?: string[] }): Promise<CliRun> {
  return ended(startCli(script, args, options), `${script} ${args.join(' ')}`);
}

/** Runs an executable to its end (bounded: see `ended`). */
export function runProgram(file: string, args: string[], options: { env: Record<string, string>; cwd: string; timeoutMs?: number }): Promise<CliRun> {
  return ended(startProgram(file, args, options), `${file} ${args.join(' ')}`, { timeoutMs: options.timeoutMs });
}

/** A working directory whose Spot account the emulator already has linked by a successful provision run. */
export async function linkedWorkdir(emulator: Emulator): Promise<string> {
  const cwd = workdir();
  const run = await runCli('provision.ts', [], { env: cliEnv(emulator), cwd });
  if (run.code !== 0) throw new Error(`provision failed while setting up (exit ${run.code}): ${run.stderr}`);
  return cwd;
}
