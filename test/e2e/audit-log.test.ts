// --audit-log: one JSON line per HTTP request the run sends, each carrying the ids the service answered
// with, and never a secret; and every failure message ends with the failed request's ids.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEntry } from '../../lib/core/audit.ts';
import { type Emulator, type RequestRecord, withEmulator } from '../emulator/server.ts';
import { type CliRun, cliEnv, runCli, workdir } from './cli.ts';

const output = (run: CliRun) => `--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`;
const readLines = (path: string): AuditEntry[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEntry);
const sameIds = (line: AuditEntry, record: RequestRecord) => JSON.stringify(sortedIds(line.requestIds)) === JSON.stringify(sortedIds(record.ids ?? {}));
const sortedIds = (ids: Record<string, string>) => Object.fromEntries(Object.entries(ids).sort());
/** The emulator's request path, as a URL's path and query would show it. */
const pathOf = (line: AuditEntry) => {
  const url = new URL(line.url);
  return `${url.pathname}${url.search}`.replace(/\/{2,}/g, '/');
};

/** Every request the emulator saw has exactly one line, with the same service, method, path, status and ids; and nothing else is in the log. */
function assertOneLinePerRequest(lines: AuditEntry[], e: Emulator, label: string): void {
  const unmatched = [...lines];
  for (const record of e.requests) {
    const at = unmatched.findIndex(
      (line) =>
        line.service === record.api && line.method === record.method && pathOf(line) === record.path && line.status === record.status && sameIds(line, record),
    );
    assert.ok(
      at >= 0,
      `${label}: no line for ${record.api} ${record.method} ${record.path} ${record.status} ${JSON.stringify(record.ids)}\n${JSON.stringify(lines, null, 1)}`,
    );
    unmatched.splice(at, 1);
  }
  assert.equal(unmatched, [], `${label}: lines for requests the emulator never saw`);
}

/** Every secret value the emulator knows: the caller's, the Spot token, every client secret an application holds. */
function secretsOf(e: Emulator): string[] {
  return [e.env.AZURE_CLIENT_SECRET!, e.env.SPOTINST_TOKEN!, ...e.store.applications.flatMap((a) => a.passwordCredentials.map((p) => p.secretText))];
}

test('--audit-log: one line per request the emulator saw, each with its ids, retries numbered, no secret, mode 0600', async () => {
  await withEmulator({ lag: { principalRefusals: 2 } }, async (e) => {
    // A throttled Graph read: the Graph client's own retry is logged as retry 1 of the same call.
    e.faults.add({ api: 'graph', method: 'GET', path: /\/organization/, status: 429, headers: { 'Retry-After': '0' } });
    const cwd = workdir();
    const log = join(cwd, 'audit.jsonl');
    const run = await runCli('provision.ts', ['--yes', '--audit-log', 'audit.jsonl'], { env: cliEnv(e), cwd });
    assert.is(run.code, 0, output(run));

    const lines = readLines(log);
    assertOneLinePerRequest(lines, e, 'fresh run');
    assert.equal([...new Set(lines.map((l) => l.service))].sort(), ['arm', 'graph', 'identity', 'spot']);
    for (const line of lines) {
      assert.ok(Object.keys(line.requestIds).length > 0, `a line without ids: ${JSON.stringify(line)}`);
      assert.ok(!Number.isNaN(Date.parse(line.time)) && line.durationMs >= 0, `time and duration: ${JSON.stringify(line)}`);
    }
    const organization = lines.filter((l) => l.service === 'graph' && pathOf(l).startsWith('/v1.0/organization'));
    assert.equal(
      organization.map((l) => [l.status, l.retry]),
      [
        [429, 0],
        [200, 1],
      ],
      'the throttled read and its retry',
    );
    const lagged = lines.filter((l) => l.service === 'arm' && l.method === 'PUT' && /roleAssignments/.test(l.url));
    assert.equal(
      lagged.map((l) => l.retry),
      lagged.map((_, i) => i),
      'the role assignment retried while the service principal replicates is numbered 0, 1, 2…',
    );
    assert.ok(lagged.length >= 2, `role assignment attempts: ${lagged.length}`);

    const seen = new Set(secretsOf(e));
    const text = readFileSync(log, 'utf8');
    for (const secret of seen) assert.not.ok(text.includes(secret), 'the audit log holds a secret');
    assert.not.match(text, /Bearer|eyJ[\w-]+\.eyJ/, 'the audit log holds a token');
    assert.is(statSync(log).mode & 0o777, 0o600);

    // Appended, not replaced: a second run adds its own lines after the first run's.
    e.resetCounters();
    const again = await runCli('provision.ts', ['--yes', '--audit-log', log], { env: cliEnv(e), cwd });
    assert.is(again.code, 0, output(again));
    const all = readLines(log);
    assert.equal(all.slice(0, lines.length), lines, "the first run's lines are kept");
    assertOneLinePerRequest(all.slice(lines.length), e, 're-run');

    // The day-two scripts take it too.
    for (const script of ['rotate-secret.ts', 'status.ts', 'deprovision.ts']) {
      e.resetCounters();
      const before = readLines(log).length;
      const day2 = await runCli(script, ['--yes', '--audit-log', log], { env: cliEnv(e), cwd });
      assert.is(day2.code, 0, `${script}\n${output(day2)}`);
      assert.ok(e.requests.length > 0, script);
      assertOneLinePerRequest(readLines(log).slice(before), e, script);
      for (const secret of secretsOf(e)) seen.add(secret);
    }
    const final = readFileSync(log, 'utf8');
    for (const secret of seen) assert.not.ok(final.includes(secret), 'the audit log holds a secret');
  });
});

test('a failed run: the last audit line is the failed request, and the failure message ends with its ids', async () => {
  await withEmulator({}, async (e) => {
    e.faults.add({ api: 'graph', method: 'POST', path: /addPassword/, status: 400, times: 1 });
    const cwd = workdir();
    const log = join(cwd, 'audit.jsonl');
    writeFileSync(log, '', { mode: 0o644 });
    const run = await runCli('provision.ts', ['--yes', '--audit-log', log], { env: cliEnv(e), cwd });
    assert.is(run.code, 1, output(run));
    assert.is(statSync(log).mode & 0o777, 0o600, 'an existing audit log is made private');

    const lines = readLines(log);
    assertOneLinePerRequest(lines, e, 'failed run');
    const failed = e.requests.find((r) => r.status === 400)!;
    const last = lines.at(-1)!;
    assert.is(last.status, 400);
    assert.match(last.url, /addPassword$/);
    assert.equal(sortedIds(last.requestIds), sortedIds(failed.ids!));
    const ids = Object.entries(failed.ids!).map(([name, value]) => `${name} ${value}`);
    assert.ok(run.stderr.trimEnd().endsWith(`(Microsoft Graph ${ids.join(', ')})`), `the message does not end with the request ids ${ids}:\n${run.stderr}`);
  });
});

test('failure messages end with the request ids of ARM, Spot and Entra ID failures too', async () => {
  await withEmulator({}, async (e) => {
    e.faults.add({ api: 'arm', method: 'PUT', path: /roleAssignments/, status: 400, times: 1 });
    const arm = await runCli('provision.ts', ['--yes'], { env: cliEnv(e), cwd: workdir() });
    assert.is(arm.code, 1, output(arm));
    const armIds = e.requests.find((r) => r.api === 'arm' && r.status === 400)!.ids!;
    assert.match(arm.stderr.trimEnd(), new RegExp(`\\(Azure Resource Manager .*x-ms-request-id ${armIds['x-ms-request-id']}.*\\)$`));
    assert.match(arm.stderr, `x-ms-correlation-request-id ${armIds['x-ms-correlation-request-id']}`);
  });
  await withEmulator({}, async (e) => {
    e.faults.add({ api: 'spot', method: 'GET', path: /^\/setup\/account/, status: 401, times: 1 });
    const spot = await runCli('provision.ts', ['--yes'], { env: cliEnv(e), cwd: workdir() });
    assert.is(spot.code, 1, output(spot));
    const spotId = e.requests.find((r) => r.api === 'spot' && r.status === 401)!.ids!['request.id'];
    assert.ok(spotId, 'the emulator names its Spot requests');
    assert.ok(spot.stderr.trimEnd().endsWith(`(Spot request.id ${spotId})`), output(spot));
  });
  await withEmulator({}, async (e) => {
    const run = await runCli('provision.ts', ['--yes'], { env: cliEnv(e, { AZURE_CLIENT_SECRET: 'not-the-secret-at-all' }), cwd: workdir() });
    assert.is(run.code, 1, output(run));
    const refused = e.requests.find((r) => r.api === 'identity' && r.status === 401)!.ids!;
    assert.ok(
      run.stderr.trimEnd().endsWith(`(Entra ID x-ms-request-id ${refused['x-ms-request-id']}, client-request-id ${refused['client-request-id']})`),
      output(run),
    );
    assert.equal(e.mutating(), []);
  });
});

test('--audit-log in a place that cannot be written: a usage error naming it, before any request', async () => {
  await withEmulator({}, async (e) => {
    const run = await runCli('provision.ts', ['--yes', '--audit-log', '/proc/audit.jsonl'], { env: cliEnv(e), cwd: workdir() });
    assert.is(run.code, 2, output(run));
    assert.match(run.stderr, '--audit-log /proc/audit.jsonl cannot be opened for appending');
    assert.equal(e.requests, []);
  });
});

test.run();
