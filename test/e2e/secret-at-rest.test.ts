import { cpSync, type Dirent, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mapConcurrently } from '../../lib/core/concurrency.ts';
import { type Emulator, type RequestRecord, startEmulator } from '../emulator/server.ts';
import { cliEnv, ended, linkedWorkdir, type StartedCli, startCli, whileRunning, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

// The client secret lives in the run's memory from addPassword until Spot has it. Whatever moment a
// run is stopped at — each request in turn, held unanswered by the emulator — no file under its working
// directory (the state, its backup, temp and lock files) or under its HOME may hold any secret value.

const TIMEOUT_MS = 30_000;

async function withEmulator<T>(body: (e: Emulator) => Promise<T>): Promise<T> {
  const emulator = await startEmulator();
  try {
    return await body(emulator);
  } finally {
    await emulator.close();
  }
}

/** One run's surroundings: its working directory, its HOME, and every secret value seen so far. */
interface Run {
  e: Emulator;
  cwd: string;
  home: string;
  secrets: Set<string>;
  /** Names of the files the scans found, to show they looked where the state is. */
  files: Set<string>;
}

function runIn(e: Emulator, cwd = workdir()): Run {
  return { e, cwd, home: mkdtempSync(join(tmpdir(), 'onboard-home-')), secrets: new Set(), files: new Set() };
}

function start(run: Run, script: string): StartedCli {
  // Without XDG_* a library that keeps a cache or config keeps it under HOME, where the scan looks.
  const env = cliEnv(run.e, { HOME: run.home, XDG_CACHE_HOME: undefined, XDG_CONFIG_HOME: undefined, XDG_DATA_HOME: undefined, XDG_STATE_HOME: undefined });
  return startCli(script, [], { env, cwd: run.cwd });
}

/** Runs `script` to its end, which must be a success, and returns the requests it sent. */
async function finished(run: Run, script: string, what: string): Promise<RequestRecord[]> {
  run.e.resetCounters();
  const result = await ended(start(run, script), what, { timeoutMs: TIMEOUT_MS });
  assert.is(result.code, 0, `${what}: ${result.stderr}`);
  return [...run.e.requests];
}

/** Every file under `dir`; one that vanishes while it is listed (a temp file renamed into place) is skipped. */
function filesUnder(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/**
 * Adds every secret the emulator's applications hold now to the run's set (a removed one stays in it),
 * then asserts that no file under the working directory or HOME contains any of them.
 */
function assertNoSecretAtRest(run: Run, label: string): void {
  for (const app of run.e.store.applications) for (const p of app.passwordCredentials) run.secrets.add(p.secretText);
  for (const file of [...filesUnder(run.cwd), ...filesUnder(run.home)]) {
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch {
      continue;
    }
    run.files.add(basename(file));
    for (const secret of run.secrets) assert.not.ok(content.includes(secret), `${label}: ${file} holds a client secret`);
  }
}

/**
 * Starts `script` and stops it at the request `hit` waits for: the files are checked while the emulator
 * holds that request unanswered, and again once the run is killed there.
 */
async function checkAtRequest(run: Run, script: string, hit: Promise<RequestRecord>, label: string): Promise<RequestRecord> {
  const cli = start(run, script);
  const held = await whileRunning(cli, hit, `${label}: reaching the request`, { timeoutMs: TIMEOUT_MS });
  assertNoSecretAtRest(run, `${label}, held unanswered`);
  cli.child.kill('SIGKILL');
  await ended(cli, `${label}: killed`, { timeoutMs: TIMEOUT_MS });
  assertNoSecretAtRest(run, `${label}, killed`);
  return held;
}

/** A request without the ids that differ from one emulator to the next. */
const shape = (r: RequestRecord) => `${r.api} ${r.method} ${r.path.split('?')[0]!.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|act-[0-9a-f]{8}/g, '…')}`;

/** Stops `script` at its request number `seq`, which must be the one the reference run sent at that number. */
async function checkAtSeq(run: Run, script: string, reference: RequestRecord[], seq: number): Promise<void> {
  const label = `${script} request #${seq} (${shape(reference[seq - 1]!)})`;
  const held = await checkAtRequest(run, script, run.e.faults.hang({ seq, apply: false }), label);
  assert.is(shape(held), shape(reference[seq - 1]!), `${label}: the run sent another request`);
}

/** A provision run killed at the request after addPassword, which Azure applied: the run had the secret. */
async function killedAfterAddPassword(e: Emulator): Promise<Run> {
  const run = runIn(e);
  let added = false;
  const hit = e.faults.hang({
    apply: true,
    when: (r) => {
      if (added) return true;
      added = r.path.includes('/addPassword');
      return false;
    },
  });
  await checkAtRequest(run, 'provision.ts', hit, 'provision.ts killed after addPassword');
  assert.ok(added && run.secrets.size > 0, 'the run never added a secret');
  return run;
}

/** A linked working directory; linkedWorkdir's provision run uses the test's own HOME (the first test scans provision's). */
async function linked(e: Emulator): Promise<Run> {
  const run = runIn(e, await linkedWorkdir(e));
  assertNoSecretAtRest(run, 'linked workdir');
  return run;
}

/**
 * Checks every request of the reference run on runs that start where `setup` left off, in two lanes
 * side by side. Each lane has one emulator and runs `setup` once; every check gets a copy of that working
 * directory and HOME. A lane checks one run at a time, since the emulator numbers the requests of all its
 * runs together. What earlier checks left in the lane's emulator (secrets nobody holds) changes only how
 * many secrets a later run removes at its end, after the last request checked.
 */
async function inLanes(script: string, reference: RequestRecord[], setup: (e: Emulator) => Promise<Run>): Promise<void> {
  const lanes = [0, 1].map((lane) => reference.map((_, i) => i + 1).filter((seq) => seq % 2 === lane));
  await mapConcurrently(lanes, 2, (seqs) =>
    withEmulator(async (e) => {
      const from = await setup(e);
      for (const seq of seqs) {
        const run = runIn(e);
        cpSync(from.cwd, run.cwd, { recursive: true });
        cpSync(from.home, run.home, { recursive: true });
        for (const secret of from.secrets) run.secrets.add(secret);
        e.resetCounters();
        await checkAtSeq(run, script, reference, seq);
      }
    }),
  );
}

const onboarded = (e: Emulator, label: string) => assertOnboarded(e, e.env.SPOTINST_ACCOUNT!, e.env.AZURE_SUBSCRIPTION_ID!, label);

test('a provision run keeps the client secret out of every file under its state directory and HOME, at every request', async () => {
  const reference = await withEmulator(async (e) => {
    const run = runIn(e);
    const sent = await finished(run, 'provision.ts', 'provision.ts');
    onboarded(e, 'provision.ts');
    assertNoSecretAtRest(run, 'after provision.ts');
    return sent;
  });
  assert.ok(reference.length >= 10, `only ${reference.length} requests`);

  // Every point is a fresh run, so each gets an emulator of its own; starting one takes milliseconds.
  const seen = new Set<string>();
  await mapConcurrently(
    reference.map((_, i) => i + 1),
    2,
    (seq) =>
      withEmulator(async (e) => {
        const run = runIn(e);
        await checkAtSeq(run, 'provision.ts', reference, seq);
        for (const file of run.files) seen.add(file);
      }),
  );
  for (const name of [/^act-[0-9a-f]{8}\.json$/, /^act-[0-9a-f]{8}\.json\.bak$/, /^act-[0-9a-f]{8}\.json\.lock$/]) {
    assert.ok(
      [...seen].some((f) => name.test(f)),
      `no check saw a file named ${name} (saw ${[...seen].join(', ')})`,
    );
  }
});

test('a run killed right after addPassword was answered leaves no secret in any file, nor does its resumed run at any request', async () => {
  const reference = await withEmulator(async (e) => {
    const run = await killedAfterAddPassword(e);
    const sent = await finished(run, 'provision.ts', 'the resumed provision.ts');
    onboarded(e, 'resumed');
    assertNoSecretAtRest(run, 'after the resumed provision.ts');
    return sent;
  });
  assert.ok(reference.length >= 5, `only ${reference.length} requests`);
  await inLanes('provision.ts', reference, killedAfterAddPassword);
});

test('a secret rotation keeps the old and the new secret out of every file, at every request', async () => {
  const reference = await withEmulator(async (e) => {
    const run = await linked(e);
    const sent = await finished(run, 'rotate-secret.ts', 'rotate-secret.ts');
    onboarded(e, 'rotated');
    assertNoSecretAtRest(run, 'after rotate-secret.ts');
    assert.is(run.secrets.size, 2, 'the rotation added no secret');
    return sent;
  });
  assert.ok(reference.length >= 5, `only ${reference.length} requests`);
  await inLanes('rotate-secret.ts', reference, linked);
});

test.run();
