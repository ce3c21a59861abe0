// The benchmark behind `npm run bench` (README "Performance"): start-up, API calls, lag overhead and
// scale, against the emulator, with the real CLI. Prints a table and writes bench-results.json.
// `--quick` stops the scale series at 10 subscriptions; `--scale=1000,5000` runs only the scale rows
// of those sizes (for iterating on one of them).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv, ended, runCli, runProgram, startCli, workdir } from './e2e/cli.ts';
import { installedBin, installOffline, pack, plainEnv } from './e2e/package.ts';
import { type Api, type Emulator, withEmulator } from './emulator/server.ts';
import { azCalls, azLogFile, azLoginEnv } from './fake-az/fake-az.ts';

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
const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

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

/** The packaged CLI, packed and installed offline as a user would, against bare Node and the tsx entry's `tsxFreshMs`. */
async function packagedCli(tsxFreshMs: number) {
  const packed = await pack();
  const [installMs, prefix] = await timed(() => installOffline(packed.tarball));
  const bin = installedBin(prefix);
  const nodeFloorMs = median(
    Array.from({ length: SAMPLES }, () => {
      const start = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      return performance.now() - start;
    }),
  );
  const helpMs = median(
    Array.from({ length: SAMPLES }, () => {
      const start = performance.now();
      spawnSync(bin, ['--help'], { env: plainEnv() });
      return performance.now() - start;
    }),
  );
  const runs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    runs.push(
      await withEmulator({}, async (e) => {
        const [ms, run] = await timed(() => runProgram(bin, ['provision'], { env: plainEnv(cliEnv(e)), cwd: workdir() }));
        if (run.code !== 0) throw new Error(`packaged provision failed (${run.code}): ${run.stderr}`);
        return ms;
      }),
    );
  }
  const freshMs = median(runs);
  return {
    nodeFloorMs,
    helpMs,
    helpOverFloorMs: helpMs - nodeFloorMs,
    freshRunMs: freshMs,
    freshOverFloorMs: freshMs - nodeFloorMs,
    freshVsTsx: freshMs / tsxFreshMs,
    installMs,
    packedBytes: packed.size,
    unpackedBytes: packed.unpackedSize,
  };
}

/** Signed in with az login (the stand-in az, one process start per token it hands out). */
async function azLoginStarts() {
  const starts = (options: Parameters<typeof withEmulator>[0], args: string[]) =>
    withEmulator(options, async (e) => {
      const log = azLogFile();
      const run = await runCli('provision.ts', args, { env: azLoginEnv(e, log), cwd: workdir() });
      if (run.code !== 0) throw new Error(`provision through az failed (${run.code}): ${run.stderr}`);
      return { azStarts: azCalls(log).length, requests: e.count('graph') + e.count('arm') + e.count('spot') };
    });
  return {
    fresh: await starts({}, []),
    lag: await starts({ lag: { spNoBackingAppRefusals: 2, appRefusals: 2, principalRefusals: 2, secretAcceptRefusals: 2 } }, []),
    fleet10: await starts({ subscriptions: 10, accounts: 1 }, ['--all-subscriptions', '--create-accounts']),
  };
}

/**
 * Day two: a fleet provisioned once at zero latency (the honest way to have 1,000 links), then the
 * read-only status of every link, and the daily rotation job while no secret is due.
 */
async function dayTwoRuns() {
  const links = quick ? 10 : 1000;
  return withEmulator({ subscriptions: links, accounts: 1 }, async (e) => {
    const cwd = workdir();
    await provision(e, cwd, ['--all-subscriptions', '--create-accounts', '--state-dir', 'links']);
    const run = async (script: string, args: string[]) => {
      e.resetCounters();
      const [ms, done] = await timed(() => runCli(script, [...args, '--state-dir', 'links', '--json'], { env: cliEnv(e), cwd }));
      if (done.code !== 0) throw new Error(`${script} failed (${done.code}): ${done.stderr.slice(-2000)}`);
      return { wallMs: ms, requests: azureAndSpot(perApi(e)), writes: e.mutating().length };
    };
    return {
      links,
      statusAll: await run('status.ts', ['--all']),
      rotateNothingDue: await run('rotate-secret.ts', ['--all', '--if-expiring-within', '30', '--yes']),
    };
  });
}

type Row = [string, string, string];

function packagedRows(p: Awaited<ReturnType<typeof packagedCli>>, az: Awaited<ReturnType<typeof azLoginStarts>>): Row[] {
  return [
    ['node -e 0 (floor)', seconds(p.nodeFloorMs), ''],
    ['--help, packaged', seconds(p.helpMs), `${Math.round(p.helpOverFloorMs)} ms over node -e 0 (target ≤ 60 ms)`],
    [
      'fresh onboarding, packaged',
      seconds(p.freshRunMs),
      `median of ${SAMPLES}; ${p.freshVsTsx.toFixed(2)}× the tsx script (target ≤ 0.35×), ${Math.round(p.freshOverFloorMs)} ms over node -e 0 (target ≤ 250 ms)`,
    ],
    [
      'install from tarball, offline',
      seconds(p.installMs),
      `empty prefix and npm cache (target < 5 s); packed ${kib(p.packedBytes)}, unpacked ${kib(p.unpackedBytes)}`,
    ],
    [
      'az starts, az login path',
      `${az.fresh.azStarts} / ${az.lag.azStarts} / ${az.fleet10.azStarts}`,
      `fresh / with lag retries / fleet of 10, for ${az.fresh.requests} / ${az.lag.requests} / ${az.fleet10.requests} requests sent (target ≤ 2 each: one per scope)`,
    ],
  ];
}

function dayTwoRows(d: Awaited<ReturnType<typeof dayTwoRuns>>): Row[] {
  return [
    [
      `status --all, ${d.links} links`,
      seconds(d.statusAll.wallMs),
      `${(d.statusAll.requests / d.links).toFixed(1)} requests/link, ${d.statusAll.writes} writes; target < 15 s at 1,000`,
    ],
    [
      `rotate-secret --all --if-expiring-within 30, nothing due, ${d.links} links`,
      seconds(d.rotateNothingDue.wallMs),
      `${(d.rotateNothingDue.requests / d.links).toFixed(1)} requests/link, ${d.rotateNothingDue.writes} writes; target < 15 s at 1,000`,
    ],
  ];
}

const single = scaleOnly ? undefined : await singleLink();
const packaged = single && (await packagedCli(single.startup.freshRunMs));
const azLogin = single && (await azLoginStarts());

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

const dayTwo = single && (await dayTwoRuns());

const results = { node: process.version, date: new Date().toISOString(), ...single, packaged, azLogin, scale, dayTwo };
// A partial run (--scale=…) leaves the full results of the last full run in place.
if (!scaleOnly) writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);

const rows: Row[] = [
  ...(packaged && azLogin ? packagedRows(packaged, azLogin) : []),
  ...(single ? singleLinkRows(single) : []),
  ...scale.map((s): [string, string, string] => [
    `${s.subscriptions} subscription(s), one run`,
    seconds(s.wallMs),
    `${s.requestsPerSubscription.toFixed(1)} requests/subscription, peak ${s.peakRssMb.toFixed(0)} MB, ${s.peakInFlight} requests in flight at most`,
  ]),
  ...(dayTwo ? dayTwoRows(dayTwo) : []),
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`Node ${process.version}\n\n| measure | value | notes |\n|---|---|---|\n`);
for (const [name, value, notes] of rows) process.stdout.write(`| ${name.padEnd(width)} | ${value} | ${notes} |\n`);
if (!scaleOnly) process.stdout.write('\nWritten to bench-results.json\n');
