import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mapConcurrently } from '../../lib/core/concurrency.ts';
import { type Emulator, type EmulatorOptions, type RequestRecord, withEmulator } from '../emulator/server.ts';
import { cliEnv, ended, runCli, startCli, waitForOutput, whileRunning, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const isMutating = (r: Pick<RequestRecord, 'api' | 'method'>) => r.api !== 'identity' && MUTATING.has(r.method);

const provision = (e: Emulator, cwd: string, args: string[] = []) => runCli('provision.ts', args, { env: cliEnv(e), cwd });
const onboarded = (e: Emulator, label: string) => assertOnboarded(e, e.env.SPOTINST_ACCOUNT!, e.env.AZURE_SUBSCRIPTION_ID!, label);

/** The requests a fresh run sends, in order: the crash points. */
async function referenceRun(): Promise<RequestRecord[]> {
  let log: RequestRecord[] = [];
  await withEmulator({}, async (e) => {
    const run = await provision(e, workdir());
    assert.is(run.code, 0, run.stderr);
    log = [...e.requests];
  });
  return log;
}

test('killed at any request — before it is answered, or after Azure applied it — a re-run ends in the promised state', async () => {
  const reference = await referenceRun();
  const points: { label: string; match: (n: { seq: number; mutatingIndex: number }) => boolean; apply: boolean }[] = [];
  for (const [i, r] of reference.entries()) {
    points.push({ label: `#${i + 1} ${r.api} ${r.method} unanswered`, match: (n) => n.seq === i + 1, apply: false });
  }
  for (const [i, r] of reference.filter(isMutating).entries()) {
    points.push({ label: `${r.api} ${r.method} ${r.path.split('?')[0]} applied, answer lost`, match: (n) => n.mutatingIndex === i, apply: true });
  }
  assert.ok(points.length >= 15, `only ${points.length} crash points`);

  await mapConcurrently(points, 2, (point) =>
    withEmulator({}, async (e) => {
      const cwd = workdir();
      let seq = 0;
      let mutatingIndex = -1;
      const hit = e.faults.hang({
        apply: point.apply,
        when: (r) => {
          seq++;
          if (isMutating(r)) mutatingIndex++;
          return point.match({ seq, mutatingIndex: isMutating(r) ? mutatingIndex : -1 });
        },
      });
      const crashed = startCli('provision.ts', [], { env: cliEnv(e), cwd });
      await whileRunning(crashed, hit, `${point.label}: reaching this point`);
      crashed.child.kill('SIGKILL');
      await crashed.done;

      const resumed = await provision(e, cwd);
      assert.is(resumed.code, 0, `${point.label}: ${resumed.stderr}`);
      onboarded(e, point.label);
      const state = readFileSync(join(cwd, '.spot-azure-onboard', `${e.env.SPOTINST_ACCOUNT}.json`), 'utf8');
      assert.not.ok(
        e.store.applications.some((a) => a.passwordCredentials.some((p) => state.includes(p.secretText))),
        `${point.label}: secret left in state`,
      );
    }),
  );
});

test('a failure that is not lag stops the run; once it is fixed, a re-run completes from where it stopped', async () => {
  const reference = (await referenceRun()).filter(isMutating);
  await mapConcurrently([...reference.entries()], 2, ([i, request]) =>
    withEmulator({}, async (e) => {
      const cwd = workdir();
      const path = new RegExp(
        `^${request.path
          .split('?')[0]!
          .replace(/[0-9a-f]{8}-[0-9a-f-]{27}|act-[0-9a-f]{8}/g, '.*')
          .replace(/[()]/g, '\\$&')}`,
      );
      e.faults.add({ api: request.api, method: request.method, path, status: 403 });
      const failed = await provision(e, cwd);
      assert.is(failed.code, 1, `${request.method} ${request.path}: ${failed.stderr}`);
      assert.is(e.mutating().filter((r) => r.status >= 200 && r.status < 300).length, i, `${request.method} ${request.path}: work done before the failure`);
      const resumed = await provision(e, cwd);
      assert.is(resumed.code, 0, resumed.stderr);
      onboarded(e, `after a 403 on ${request.method} ${request.path}`);
    }),
  );
});

test('replication lag of each documented kind is waited out, visibly, and nothing is made twice', async () => {
  // The two service-principal lag errors cannot both be shown in one run; everything else can. Each kind
  // refuses its object's first two requests, so every step meets its own lag whatever the machine's speed.
  const runs: { lag: Partial<EmulatorOptions['lag']>; lines: string[] }[] = [
    {
      lag: { spNoBackingAppRefusals: 2, appRefusals: 2, principalRefusals: 2, secretAcceptRefusals: 2 },
      lines: ['retrying service-principal', 'retrying secret', 'retrying role', 'retrying link'],
    },
    { lag: { spLocalTenantRefusals: 2 }, lines: ['retrying service-principal'] },
  ];
  for (const { lag, lines } of runs) {
    await withEmulator({ lag }, async (e) => {
      const run = await provision(e, workdir());
      const label = Object.keys(lag).join('+');
      assert.is(run.code, 0, `${label}: ${run.stderr}`);
      for (const line of lines) {
        const shown = run.stdout.match(new RegExp(`${line} \\(\\d+/\\d+\\): waiting for Entra ID`, 'g')) ?? [];
        assert.is(shown.length, 2, `${label}: "${line}" lines:\n${run.stdout}`);
      }
      onboarded(e, label);
    });
  }
});

test('lag that outlasts --max-wait fails with the reason, and a later run finishes', async () => {
  await withEmulator({ lag: { principalMs: 60_000 } }, async (e) => {
    const cwd = workdir();
    const run = await provision(e, cwd, ['--max-wait', '1']);
    assert.is(run.code, 1);
    assert.match(run.stderr, 'PrincipalNotFound');
    e.lag.principalMs = 0;
    const resumed = await provision(e, cwd);
    assert.is(resumed.code, 0, resumed.stderr);
    onboarded(e, 'after max-wait');
  });
});

test('throttling and transient failures on every API are retried by the clients, and end in one of everything', async () => {
  type Fault = Parameters<Emulator['faults']['add']>[0];
  const busy = (status: number): Fault => ({ status, headers: { 'Retry-After': '0' } });
  const runs: Record<string, Fault[]> = {
    'throttled and unavailable': [
      { api: 'graph', method: 'PATCH', ...busy(429) },
      { api: 'graph', method: 'POST', ...busy(503) },
      { api: 'arm', method: 'PUT', ...busy(429) },
      { api: 'arm', method: 'GET', ...busy(503) },
      { api: 'spot', method: 'POST', ...busy(429) },
      { api: 'spot', method: 'GET', ...busy(503) },
    ],
    'connections reset': [
      { api: 'graph', method: 'PATCH', reset: true },
      { api: 'graph', method: 'GET', reset: true },
      { api: 'spot', method: 'POST', reset: true },
      { api: 'arm', method: 'PUT', reset: true },
    ],
  };
  for (const [label, faults] of Object.entries(runs)) {
    await withEmulator({}, async (e) => {
      for (const fault of faults) e.faults.add({ times: 2, ...fault });
      const run = await provision(e, workdir());
      assert.is(run.code, 0, `${label}: ${run.stderr}`);
      for (const fault of faults) {
        const fired = e.requests.filter((r) => r.api === fault.api && r.method === fault.method && r.status === (fault.status ?? 0));
        assert.is(fired.length, 2, `${label}: ${fault.api} ${fault.method} ${fault.status ?? 'reset'} fired ${fired.length} times`);
      }
      onboarded(e, label);
    });
  }
});

test('a second run on the same state file stops at once; a lock left by a dead process is taken over', async () => {
  await withEmulator({}, async (e) => {
    const cwd = workdir();
    const dir = join(cwd, '.spot-azure-onboard');
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, `${e.env.SPOTINST_ACCOUNT}.json.lock`);
    writeFileSync(lock, JSON.stringify({ pid: process.pid }));
    const refused = await provision(e, cwd);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, `Another run (pid ${process.pid})`);
    assert.equal(e.mutating(), []);

    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 4321 }));
    const run = await provision(e, cwd);
    assert.is(run.code, 0, run.stderr);
    assert.not.ok(existsSync(lock));
    onboarded(e, 'stale lock');
  });
});

test('a corrupt, newer or foreign state file is refused, untouched, before any change', async () => {
  await withEmulator({}, async (e) => {
    const cwd = workdir();
    const dir = join(cwd, '.spot-azure-onboard');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${e.env.SPOTINST_ACCOUNT}.json`);
    const cases: [string, string][] = [
      ['{"version": 1, "steps": {', 'is not valid JSON state'],
      [JSON.stringify({ version: 7, accountId: e.env.SPOTINST_ACCOUNT, steps: {} }), 'newer than this tool'],
      [JSON.stringify({ version: 1, accountId: 'act-00000000', steps: {} }), 'belongs to Spot account act-00000000'],
      [
        JSON.stringify({ version: 1, accountId: e.env.SPOTINST_ACCOUNT, tenantId: '11111111-1111-1111-1111-111111111111', steps: {} }),
        'made in Azure tenant 11111111-1111-1111-1111-111111111111',
      ],
    ];
    for (const [content, message] of cases) {
      writeFileSync(path, content);
      e.resetCounters();
      const run = await provision(e, cwd);
      assert.is(run.code, 1, message);
      assert.match(run.stderr, message);
      assert.is(readFileSync(path, 'utf8'), content, `${message}: the file was changed`);
      assert.equal(e.mutating(), [], `${message}: something changed`);
    }
  });
});

test('Ctrl-C saves the state, says how to resume, exits 130; the re-run finishes the job', async () => {
  await withEmulator({ lag: { principalMs: 120_000 } }, async (e) => {
    const cwd = workdir();
    const run = startCli('provision.ts', [], { env: cliEnv(e), cwd });
    await waitForOutput(run, 'retrying role');
    run.child.kill('SIGINT');
    const stopped = await ended(run, 'provision.ts after Ctrl-C');
    assert.is(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /Run the same command again to resume/);
    const state = JSON.parse(readFileSync(join(cwd, '.spot-azure-onboard', `${e.env.SPOTINST_ACCOUNT}.json`), 'utf8'));
    assert.ok(state.steps.secret && !state.steps.role, 'the state records the steps finished before Ctrl-C');

    e.lag.principalMs = 0;
    const resumed = await provision(e, cwd);
    assert.is(resumed.code, 0, resumed.stderr);
    onboarded(e, 'after Ctrl-C');
  });
});

test.run();
