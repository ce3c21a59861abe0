import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { cliEnv, ended, linkedWorkdir, runCli, startCli, whileRunning, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

const DAY_MS = 86_400_000;
const LINKS = 6;
const TOOL_SECRET = 'spot-azure-onboard';

let single: Emulator;
let fleet: Emulator;
/** Where the fleet's state files are: `links/` under fleetCwd, named with --state-dir. */
let fleetCwd: string;
let fleetAccounts: string[];
test.before(async () => {
  [single, fleet] = await Promise.all([startEmulator(), startEmulator({ subscriptions: LINKS, accounts: 1 })]);
  fleetCwd = workdir();
  const provisioned = await runCli('provision.ts', ['--all-subscriptions', '--create-accounts', '--state-dir', 'links'], { env: cliEnv(fleet), cwd: fleetCwd });
  if (provisioned.code !== 0) throw new Error(`fleet provisioning failed while setting up: ${provisioned.stderr}`);
  fleetAccounts = fleet.store.spot.accounts.filter((a) => a.providerExternalId).map((a) => a.accountId);
});
test.after(async () => {
  await Promise.all([single.close(), fleet.close()]);
});

/** The environment of a scheduled job: it names no Spot account, the state files do. */
const noAccount = (e: Emulator) => cliEnv(e, { SPOTINST_ACCOUNT: undefined });
const run = (e: Emulator, script: string, args: string[], cwd: string) => runCli(script, args, { env: noAccount(e), cwd });
const linksDir = () => join(fleetCwd, 'links');
const atFleet = (script: string, args: string[]) => run(fleet, script, [...args, '--state-dir', linksDir()], workdir());

const appOf = (e: Emulator, accountId: string) => e.store.applications.find((a) => a.uniqueName === `spot-azure-onboard-${accountId}`)!;
const ownSecrets = (e: Emulator, accountId: string) => appOf(e, accountId).passwordCredentials.filter((p) => p.displayName === TOOL_SECRET);
const stateOf = (accountId: string) => JSON.parse(readFileSync(join(linksDir(), `${accountId}.json`), 'utf8'));

/** Spot's credentials for the account sign in: their secret is on its application and not expired. */
function assertSpotHoldsLiveSecret(e: Emulator, accountId: string, label: string) {
  const held = e.store.spot.credentials.get(accountId)?.clientSecret;
  const secret = appOf(e, accountId).passwordCredentials.find((p) => p.secretText === held);
  assert.ok(secret, `${label}: Spot account ${accountId} holds a secret its application does not have`);
  assert.ok(Date.parse(secret!.endDateTime) > Date.now(), `${label}: Spot account ${accountId} holds an expired secret`);
}

test('status, rotate-secret and deprovision need no account id: --state alone, or the only file in --state-dir', async () => {
  const cwd = await linkedWorkdir(single);
  const accountId = single.env.SPOTINST_ACCOUNT!;
  const dir = join(cwd, '.spot-azure-onboard');
  const file = join(dir, `${accountId}.json`);
  // The fleet record beside a link's state is not a second link.
  writeFileSync(join(dir, 'fleet.json'), JSON.stringify({ version: 1, createdAccounts: {} }));

  const byFile = await run(single, 'status.ts', ['--state', file, '--json'], workdir());
  assert.is(byFile.code, 0, byFile.stderr);
  assert.is(JSON.parse(byFile.stdout).accountId, accountId);
  const byOnlyFile = await run(single, 'status.ts', ['--json'], cwd);
  assert.is(byOnlyFile.code, 0, byOnlyFile.stderr);
  assert.is(JSON.parse(byOnlyFile.stdout).statePath, file);

  const before = ownSecrets(single, accountId)[0]!.keyId;
  const rotatedByDir = await run(single, 'rotate-secret.ts', ['--state-dir', dir, '--json'], workdir());
  assert.is(rotatedByDir.code, 0, rotatedByDir.stderr);
  assert.is(JSON.parse(rotatedByDir.stdout).rotated, true);
  assert.not.equal(ownSecrets(single, accountId)[0]!.keyId, before, 'the secret was not replaced');
  const rotatedByFile = await run(single, 'rotate-secret.ts', ['--state', file], workdir());
  assert.is(rotatedByFile.code, 0, rotatedByFile.stderr);
  assertOnboarded(single, accountId, single.env.AZURE_SUBSCRIPTION_ID!, 'after two rotations');

  // A second link's state in the same directory: the commands cannot tell which one is meant.
  const other = 'act-0000beef';
  writeFileSync(join(dir, `${other}.json`), JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), accountId: other }));
  single.resetCounters();
  for (const [script, suggestsAll] of [
    ['status.ts', true],
    ['rotate-secret.ts', true],
    ['deprovision.ts', false],
  ] as const) {
    const refused = await run(single, script, ['--yes'], cwd);
    assert.is(refused.code, 2, `${script}: ${refused.stderr}`);
    assert.match(refused.stderr, 'holds the state of 2 links:');
    assert.match(refused.stderr, `${accountId} (subscription ${single.env.AZURE_SUBSCRIPTION_ID})`);
    assert.match(refused.stderr, other);
    assert.match(refused.stderr, '--account-id');
    assert.is(refused.stderr.includes('--all'), suggestsAll, `${script} suggests --all: ${refused.stderr}`);
  }
  assert.is(single.requests.length, 0, 'a refused run sent a request');

  const removed = await run(single, 'deprovision.ts', ['--state', file, '--yes', '--json'], workdir());
  assert.is(removed.code, 0, removed.stderr);
  assert.is(JSON.parse(removed.stdout).accountId, accountId);
  assert.is(appOf(single, accountId), undefined, 'the application is still there');
});

test('status --all over a fleet of 6: healthy exits 0; a role assignment removed behind its back exits 1 naming that account', async () => {
  const healthy = await atFleet('status.ts', ['--all']);
  assert.is(healthy.code, 0, healthy.stderr);
  assert.match(healthy.stdout, /^Spot account\s+subscription\s+application\s+secret expires\s+health\s+first problem$/m);
  for (const accountId of fleetAccounts) assert.match(healthy.stdout, new RegExp(`^${accountId}\\s.*\\shealthy$`, 'm'));
  assert.match(healthy.stdout, `${LINKS} of ${LINKS} links healthy.`);
  // Not a terminal: the plain summary line, not a redrawn one.
  assert.match(healthy.stdout, `${LINKS} done, 0 failed, 0 in flight of ${LINKS}`);
  assert.not.match(healthy.stdout, '\x1b[2K');

  const victim = fleetAccounts[2]!;
  const sp = fleet.store.servicePrincipals.find((s) => s.appId === appOf(fleet, victim).appId)!;
  const index = fleet.store.roleAssignments.findIndex((a) => a.principalId === sp.id);
  const [removed] = fleet.store.roleAssignments.splice(index, 1);
  try {
    fleet.resetCounters();
    const drifted = await atFleet('status.ts', ['--all', '--json']);
    assert.is(drifted.code, 1, drifted.stderr);
    assert.equal(fleet.mutating(), [], 'status changed something');
    const result = JSON.parse(drifted.stdout) as {
      healthy: boolean;
      links: { accountId: string; subscriptionId: string; statePath: string; healthy: boolean }[];
    };
    assert.is(result.healthy, false);
    assert.is(result.links.length, LINKS);
    assert.equal(
      result.links.filter((l) => !l.healthy).map((l) => l.accountId),
      [victim],
    );
    assert.equal(Object.keys(result.links[0]!).sort(), ['accountId', 'checks', 'healthy', 'statePath', 'subscriptionId']);
    assert.match(drifted.stderr, `1 of ${LINKS} links are not healthy: ${victim}.`);
    const table = await atFleet('status.ts', ['--all']);
    assert.match(table.stdout, new RegExp(`^${victim}\\s.*\\sunhealthy\\s+role assignment: Contributor for the app is gone`, 'm'));
  } finally {
    fleet.store.roleAssignments.push(removed!);
  }
});

test("a Spot expirationDate that is not the secret's end date makes status unhealthy", async () => {
  const accountId = fleetAccounts[0]!;
  const saved = fleet.store.spot.credentials.get(accountId)!;
  const original = saved.expirationDate;
  saved.expirationDate = new Date(Date.parse(original) + 90 * DAY_MS).toISOString();
  try {
    const one = await atFleet('status.ts', ['--account-id', accountId, '--json']);
    assert.is(one.code, 1, one.stderr);
    const spot = (JSON.parse(one.stdout).checks as { check: string; status: string; detail: string }[]).find((c) => c.check === 'spot credentials')!;
    assert.is(spot.status, 'error');
    assert.match(spot.detail, `Spot holds expirationDate ${saved.expirationDate}, but the client secret ends ${original}`);
    const all = await atFleet('status.ts', ['--all']);
    assert.is(all.code, 1);
    assert.match(all.stdout, new RegExp(`^${accountId}\\s.*\\sunhealthy\\s+spot credentials: Spot holds expirationDate`, 'm'));
  } finally {
    saved.expirationDate = original;
  }
  assert.is((await atFleet('status.ts', ['--account-id', accountId])).code, 0, 'restored, the link is healthy again');
});

test('rotate-secret --all --if-expiring-within 30 sends no changing request while nothing is due, then rotates exactly the two that are', async () => {
  fleet.resetCounters();
  const idle = await atFleet('rotate-secret.ts', ['--all', '--if-expiring-within', '30', '--yes', '--json']);
  assert.is(idle.code, 0, idle.stderr);
  assert.equal(fleet.mutating(), [], 'a changing request was sent while nothing was due');
  const result = JSON.parse(idle.stdout);
  assert.equal([result.rotated, result.notDue, result.failed], [0, LINKS, 0]);

  const due = [fleetAccounts[1]!, fleetAccounts[4]!];
  const keysBefore = new Map(fleetAccounts.map((a) => [a, ownSecrets(fleet, a)[0]!.keyId]));
  for (const accountId of due) ownSecrets(fleet, accountId)[0]!.endDateTime = new Date(Date.now() + 10 * DAY_MS).toISOString();
  fleet.resetCounters();
  const rotated = await atFleet('rotate-secret.ts', ['--all', '--if-expiring-within', '30', '--yes']);
  assert.is(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, `2 rotated, ${LINKS - 2} not due, 0 failed of ${LINKS} links.`);
  for (const accountId of fleetAccounts) {
    const changed = ownSecrets(fleet, accountId)[0]!.keyId !== keysBefore.get(accountId);
    assert.is(changed, due.includes(accountId), `${accountId} rotated: ${changed}`);
    assert.match(rotated.stdout, new RegExp(`^${accountId}\\s.*\\s${due.includes(accountId) ? 'rotated' : 'not due'}\\s`, 'm'));
    assertOnboarded(fleet, accountId, stateOf(accountId).subscriptionId, accountId);
  }
  const touched = [...due, ...due.map((a) => appOf(fleet, a).id)];
  for (const write of fleet.mutating()) {
    assert.ok(
      touched.some((id) => write.path.includes(id)),
      `a link that was not due was changed: ${write.method} ${write.path}`,
    );
  }
});

test('killed during a fleet rotation and run again, every Spot account ends holding a live secret', async () => {
  // The third credentials hand-over reaches Spot, and its answer never comes back: the run is killed there.
  let handovers = 0;
  const hung = fleet.faults.hang({
    apply: true,
    when: (r) => r.api === 'spot' && r.method === 'POST' && r.path.startsWith('/azure/setup/credentials?') && ++handovers === 3,
  });
  const killed = startCli('rotate-secret.ts', ['--all', '--yes', '--concurrency', '2', '--state-dir', linksDir()], { env: noAccount(fleet), cwd: workdir() });
  await whileRunning(killed, hung, 'reaching the third hand-over to Spot');
  killed.child.kill('SIGKILL');
  await killed.done;
  for (const accountId of fleetAccounts) assertSpotHoldsLiveSecret(fleet, accountId, 'killed');
  const interrupted = fleetAccounts.filter((a) => stateOf(a).rotation);
  assert.ok(interrupted.length >= 1, 'no rotation was left unfinished: the kill came too late to test anything');

  // The daily job finishes the interrupted rotations (always due) and leaves the rest alone.
  const again = await atFleet('rotate-secret.ts', ['--all', '--if-expiring-within', '30', '--yes']);
  assert.is(again.code, 0, again.stderr);
  for (const accountId of fleetAccounts) {
    assertSpotHoldsLiveSecret(fleet, accountId, 're-run');
    assertOnboarded(fleet, accountId, stateOf(accountId).subscriptionId, `${accountId} re-run`);
    assert.is(stateOf(accountId).rotation, undefined, `${accountId}: rotation left unfinished`);
  }
  for (const accountId of interrupted) assert.match(again.stdout, new RegExp(`^${accountId}\\s.*\\srotated\\s`, 'm'));
  assert.equal(
    readdirSync(linksDir()).filter((f) => f.endsWith('.lock')),
    [],
    'a lock was left behind',
  );
});

test('an unusable state location is a usage error naming the path, before any request', async () => {
  const cwd = workdir();
  const cases: [string, string[], string][] = [
    ['provision.ts', ['--state', '/proc/spot-x/y.json'], '/proc/spot-x cannot be created'],
    ['provision.ts', ['--state', '/dev/null/x.json'], '/dev/null exists and is not a directory'],
    ['provision.ts', ['--state-dir', '/sys/spot-links'], '/sys/spot-links cannot be created'],
    ['provision.ts', ['--state-dir', '/sys'], 'no file can be written in it'],
    ['rotate-secret.ts', ['--state-dir', '/proc/spot-x'], '/proc/spot-x cannot be created'],
    ['deprovision.ts', ['--state', '/dev/null/x.json', '--yes'], 'a part of it is a file, not a directory'], // read for its account, as status does,
    ['status.ts', ['--state', '/dev/null/x.json'], 'a part of it is a file, not a directory'],
    ['status.ts', ['--all', '--state-dir', '/dev/null'], '/dev/null cannot be used: it is not a directory'],
  ];
  for (const [script, args, why] of cases) {
    single.resetCounters();
    // A run that spins (as recursive mkdir under /proc did) is killed long before the suite's timeout.
    const result = await ended(startCli(script, args, { env: cliEnv(single), cwd }), `${script} ${args.join(' ')}`, { timeoutMs: 15_000 });
    assert.is(result.code, 2, `${script} ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, why, `${script} ${args.join(' ')}`);
    assert.match(result.stderr, '--state-dir');
    assert.not.match(result.stderr, 'Unexpected error');
    assert.is(single.requests.length, 0, `${script} ${args.join(' ')} sent a request`);
  }
});

test('--state-dir is accepted with several subscriptions and keeps the fleet record there', async () => {
  const ids = readdirSync(linksDir()).sort();
  assert.ok(ids.includes('fleet.jsonl'), `the fleet journal: ${ids}`);
  assert.is(ids.filter((f) => /^act-[0-9a-f]{8}\.json$/.test(f)).length, LINKS);
  fleet.resetCounters();
  const again = await runCli('provision.ts', ['--all-subscriptions', '--state-dir', linksDir()], { env: cliEnv(fleet), cwd: workdir() });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, `${LINKS} of ${LINKS} subscriptions linked.`);
  assert.equal(fleet.mutating(), [], 'a re-run of a linked fleet changed something');
});

test.run();
