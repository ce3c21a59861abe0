// The benchmark behind `npm run bench` (README "Performance"): start-up, API calls, lag overhead and
// scale, against the emulator, with the real CLI. Prints a table and writes bench-results.json.
// `--quick` stops the scale series at 10 subscriptions; `--scale=1000,5000` runs only the scale rows
// of those sizes (for iterating on one of them).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv, ended, startCli, workdir } from './e2e/cli.ts';
import { type Api, type Emulator, withEmulator } from './emulator/server.ts';

const SAMPLES = 5;
const quick = process.argv.includes('--quick');
const scaleOnly = process.argv
  .find((arg) => arg.startsWith('--scale='))
  ?.slice('--scale='.length)
  .split(',')
  .map(Number);
const rssPreload = fileURLToPath(new URL('./bench-rss.mjs', import.meta.url));
const tsx = import.meta.resolve('tsx');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [performance.now() - start, result];
}

/** A fleet of 5,000 takes longer than the tests' bound on a run. */
const RUN_TIMEOUT_MS = 10 * 60_000;

async function provision(e: Emulator, cwd: string, args: string[] = [], rssFile?: string) {
  const started = startCli('provision.ts', args, {
    env: cliEnv(e, { BENCH_RSS_FILE: rssFile }),
    cwd,
    nodeArgs: rssFile ? ['--import', rssPreload] : [],
  });
  const run = await ended(started, `provision.ts ${args.join(' ')}`, { timeoutMs: RUN_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`provision failed (${run.code}): ${run.stderr}`);
  return run;
}

function perApi(e: Emulator): Record<Api, number> {
  return { graph: e.count('graph'), arm: e.count('arm'), spot: e.count('spot'), identity: e.count('identity') };
}

/** Start-up, API calls and lag overhead of one link. */
async function singleLink() {
  // 1. Start-up
  const empty = join(mkdtempSync(join(tmpdir(), 'bench-')), 'empty.ts');
  writeFileSync(empty, 'export {};\n');
  const floorMs = median(
    Array.from({ length: SAMPLES }, () => {
      const start = performance.now();
      spawnSync(process.execPath, ['--import', tsx, empty]);
      return performance.now() - start;
    }),
  );
  const helpMs = median(
    Array.from({ length: SAMPLES }, () => {
      const start = performance.now();
      spawnSync(process.execPath, ['--import', tsx, 'scripts/provision.ts', '--help']);
      return performance.now() - start;
    }),
  );
  const freshRuns: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    freshRuns.push(await withEmulator({}, async (e) => (await timed(() => provision(e, workdir())))[0]));
  }
  const freshMs = median(freshRuns);

  // 2. API calls
  const calls = await withEmulator({}, async (e) => {
    const cwd = workdir();
    await provision(e, cwd);
    const fresh = perApi(e);
    e.resetCounters();
    await provision(e, cwd);
    const rerun = perApi(e);
    const rerunWrites = e.mutating().length;
    return { fresh, rerun, rerunWrites };
  });

  // 3. Lag overhead: the service principal appears 5 s after its application, and Spot accepts a new
  // secret 8 s after it is made; the two waits are in sequence, so the chain is 13 s.
  const lag = { spNoBackingAppMs: 5_000, secretAcceptMs: 8_000 };
  const chainMs = lag.spNoBackingAppMs + lag.secretAcceptMs;
  const lagMs = await withEmulator({ lag }, async (e) => (await timed(() => provision(e, workdir())))[0]);
  return {
    startup: { emptyTsxMs: floorMs, helpMs, helpOverFloorMs: helpMs - floorMs, freshRunMs: freshMs },
    apiCalls: {
      fresh: calls.fresh,
      rerun: calls.rerun,
      freshTotal: azureAndSpot(calls.fresh),
      rerunTotal: azureAndSpot(calls.rerun),
      rerunWrites: calls.rerunWrites,
    },
    lag: { injected: lag, chainMs, totalMs: lagMs, overChainMs: lagMs - chainMs, retryCostMs: lagMs - chainMs - freshMs },
  };
}

function singleLinkRows({ startup, apiCalls, lag }: Awaited<ReturnType<typeof singleLink>>): [string, string, string][] {
  const { fresh, rerun } = apiCalls;
  return [
    ['empty tsx script (floor)', seconds(startup.emptyTsxMs), ''],
    ['--help', seconds(startup.helpMs), `${Math.round(startup.helpOverFloorMs)} ms over the floor (target ≤ 150 ms)`],
    ['fresh onboarding, zero latency', seconds(startup.freshRunMs), `median of ${SAMPLES}`],
    [
      'requests, fresh onboarding',
      String(apiCalls.freshTotal),
      `graph ${fresh.graph}, arm ${fresh.arm}, spot ${fresh.spot} (+${fresh.identity} identity); target ≤ 12`,
    ],
    [
      'requests, re-run on complete state',
      String(apiCalls.rerunTotal),
      `graph ${rerun.graph}, arm ${rerun.arm}, spot ${rerun.spot} (+${rerun.identity} identity), ${apiCalls.rerunWrites} writes; target ≤ 6 reads`,
    ],
    [
      'run with 5 s + 8 s lag',
      seconds(lag.totalMs),
      `${Math.round(lag.overChainMs)} ms over the 13 s chain; retry schedule costs ${Math.round(lag.retryCostMs)} ms beyond a lag-free run (target < 1 s)`,
    ],
  ];
}

const azureAndSpot = (c: Record<Api, number>) => c.graph + c.arm + c.spot;

const single = scaleOnly ? undefined : await singleLink();

// 4. Scale: one run links every subscription (--all-subscriptions, default concurrency), creating a
// Spot account for each; requests per subscription should not grow with their number.
const scale: { subscriptions: number; wallMs: number; requestsPerSubscription: number; peakRssMb: number; peakInFlight: number }[] = [];
for (const n of scaleOnly ?? (quick ? [1, 10] : [1, 10, 200, 1000, 5000])) {
  scale.push(
    await withEmulator({ subscriptions: n, accounts: 1 }, async (e) => {
      const rssFile = join(mkdtempSync(join(tmpdir(), 'bench-rss-')), 'rss');
      const [wallMs] = await timed(() => provision(e, workdir(), ['--all-subscriptions', '--create-accounts'], rssFile));
      const linked = e.store.spot.accounts.filter((a) => a.providerExternalId).length;
      if (linked !== n) throw new Error(`${linked} of ${n} subscriptions were linked`);
      const peakKb = Math.max(...readFileSync(rssFile, 'utf8').trim().split('\n').map(Number));
      return { subscriptions: n, wallMs, requestsPerSubscription: azureAndSpot(perApi(e)) / n, peakRssMb: peakKb / 1024, peakInFlight: e.peakInFlight };
    }),
  );
}

const results = { node: process.version, date: new Date().toISOString(), ...single, scale };
// A partial run (--scale=…) leaves the full results of the last full run in place.
if (!scaleOnly) writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);

const rows: [string, string, string][] = [
  ...(single ? singleLinkRows(single) : []),
  ...scale.map((s): [string, string, string] => [
    `${s.subscriptions} subscription(s), one run`,
    seconds(s.wallMs),
    `${s.requestsPerSubscription.toFixed(1)} requests/subscription, peak ${s.peakRssMb.toFixed(0)} MB, ${s.peakInFlight} requests in flight at most`,
  ]),
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`Node ${process.version}\n\n| measure | value | notes |\n|---|---|---|\n`);
for (const [name, value, notes] of rows) process.stdout.write(`| ${name.padEnd(width)} | ${value} | ${notes} |\n`);
if (!scaleOnly) process.stdout.write('\nWritten to bench-results.json\n');
