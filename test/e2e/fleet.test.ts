import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type SubscriptionSeed, startEmulator } from '../emulator/server.ts';
import { cliEnv, runCli, workdir } from './cli.ts';

const BOUND = 3;
const NO_PERMISSION = 20;
const SPOT_FAILS = 5;

function provision(emulator: Emulator, cwd: string, args: string[]) {
  return runCli('provision.ts', args, { env: cliEnv(emulator), cwd });
}

/** The closing table's rows (progress lines come before its header); the plan's third column is "plan". */
function tableOf(stdout: string, third = 'status'): string[] {
  const lines = stdout.split('\n');
  return lines.slice(lines.findIndex((line) => new RegExp(`^subscription\\s+Spot account\\s+${third}`).test(line)) + 1);
}

function rowOf(stdout: string, subscriptionId: string, third = 'status'): string {
  return tableOf(stdout, third).find((line) => line.includes(`(${subscriptionId})`)) ?? '';
}

/**
 * The changing requests that concern none of these subscriptions, their Spot accounts, or the
 * applications and service principals made for those accounts, as "METHOD path" lines.
 */
function writesElsewhere(emulator: Emulator, subscriptionIds: string[], accountIds: string[]): string[] {
  const theirs = [...subscriptionIds, ...accountIds];
  const apps = emulator.store.applications.filter((a) => accountIds.some((id) => a.uniqueName?.endsWith(id)));
  const sps = emulator.store.servicePrincipals.filter((sp) => apps.some((a) => a.appId === sp.appId));
  const ids = [...theirs, ...apps.flatMap((a) => [a.id, a.appId]), ...sps.map((sp) => sp.id)].map((id) => id.toLowerCase());
  return emulator
    .mutating()
    .filter((write) => !ids.some((id) => `${write.path} ${JSON.stringify(write.body ?? '')}`.toLowerCase().includes(id)))
    .map((write) => `${write.method} ${write.path}`);
}

/** A subscription that appears after the first run, as a new team's would; the caller owns it. */
function addSubscription(emulator: Emulator, displayName: string): string {
  const subscriptionId = randomUUID();
  emulator.store.subscriptions.push({ subscriptionId, displayName, state: 'Enabled' });
  emulator.store.addAssignment({
    scope: `/subscriptions/${subscriptionId}`,
    subscriptionId,
    role: 'Owner',
    principalId: emulator.store.caller.objectId,
    now: Date.now(),
  });
  return subscriptionId;
}

test('25 subscriptions: 23 link, the two failures are in the table, and a re-run links only those two', async () => {
  const subscriptions: SubscriptionSeed[] = Array.from({ length: 25 }, (_, i) => ({
    displayName: `Team ${i + 1}`,
    callerRole: i === NO_PERMISSION ? 'Reader' : 'Owner',
  }));
  // A small latency makes the subscriptions' requests overlap, so the bound is really exercised.
  const emulator = await startEmulator({ subscriptions, accounts: 1, latencyMs: 2 });
  try {
    const subs = emulator.store.subscriptions;
    // The first twelve subscriptions already have a Spot account linked to them; the rest get new ones.
    for (let i = 0; i < 12; i++) {
      emulator.store.spot.accounts.push({
        accountId: `act-${String(i).padStart(8, '0')}`,
        name: `existing ${i}`,
        organizationId: '606079000000',
        providerExternalId: subs[i]!.subscriptionId,
        cloudProvider: 'AZURE',
      });
    }
    const spotFailingAccount = emulator.store.spot.accounts.find((a) => a.providerExternalId === subs[SPOT_FAILS]!.subscriptionId)!.accountId;
    emulator.faults.add({ api: 'spot', path: new RegExp(`accountId=${spotFailingAccount}`), status: 500, times: 1e9 });
    const cwd = workdir();

    const first = await provision(emulator, cwd, ['--all-subscriptions', '--create-accounts', '--concurrency', String(BOUND)]);
    assert.is(first.code, 1, first.stderr);
    assert.ok(emulator.peakInFlight <= BOUND, `peak ${emulator.peakInFlight} requests in flight, bound ${BOUND}`);
    assert.ok(emulator.peakInFlight > 1, 'the subscriptions ran one at a time');
    const linkedAccounts = (i: number) => emulator.store.spot.accounts.filter((a) => a.providerExternalId === subs[i]!.subscriptionId);
    for (let i = 0; i < 25; i++) {
      const row = rowOf(first.stdout, subs[i]!.subscriptionId);
      if (i === NO_PERMISSION || i === SPOT_FAILS) {
        assert.match(row, 'failed');
        continue;
      }
      assert.match(row, / {2}linked(\s|$)/, row);
      const [account, ...others] = linkedAccounts(i);
      assert.ok(account, `subscription ${i} has no linked account`);
      assert.is(others.length, 0, `subscription ${i} has several accounts`);
      assert.is(emulator.store.spot.credentials.get(account!.accountId)?.subscriptionId, subs[i]!.subscriptionId);
    }
    assert.match(rowOf(first.stdout, subs[NO_PERMISSION]!.subscriptionId), 'You may not assign roles');
    assert.match(rowOf(first.stdout, subs[SPOT_FAILS]!.subscriptionId), 'The Spot API answered 500');
    assert.match(first.stdout, '23 of 25 subscriptions linked; 2 failed.');
    assert.match(first.stderr, '2 of 25 subscriptions were not linked');
    // One account per subscription: 1 seeded + 12 pre-linked + 13 created, the failing one's included.
    assert.is(emulator.store.spot.accounts.length, 26);
    const journal: { subscriptionId: string; accountId: string }[] = readFileSync(join(cwd, '.spot-azure-onboard', 'fleet.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.is(journal.length, 13);
    // Each subscription's progress is told apart.
    assert.match(first.stdout, `[${subs[7]!.subscriptionId}] app:`);

    // Lift both faults; the re-run touches only the two unfinished subscriptions.
    emulator.faults.clear();
    const blocked = subs[NO_PERMISSION]!;
    emulator.store.addAssignment({
      scope: `/subscriptions/${blocked.subscriptionId}`,
      subscriptionId: blocked.subscriptionId,
      role: 'Owner',
      principalId: emulator.store.caller.objectId,
      now: Date.now(),
    });
    const blockedAccount = journal.find((entry) => entry.subscriptionId === blocked.subscriptionId)!.accountId;
    emulator.resetCounters();
    const second = await provision(emulator, cwd, ['--all-subscriptions', '--create-accounts', '--concurrency', String(BOUND)]);
    assert.is(second.code, 0, second.stderr);
    assert.match(second.stdout, '25 of 25 subscriptions linked.');
    assert.match(rowOf(second.stdout, blocked.subscriptionId), / {2}linked(\s|$)/);
    assert.match(rowOf(second.stdout, subs[SPOT_FAILS]!.subscriptionId), / {2}linked(\s|$)/);
    assert.is(tableOf(second.stdout).filter((line) => line.includes('already linked')).length, 23);
    assert.is(emulator.store.spot.accounts.length, 26, 'an account was created twice');

    assert.ok(emulator.mutating().length > 0);
    assert.equal(writesElsewhere(emulator, [blocked.subscriptionId, subs[SPOT_FAILS]!.subscriptionId], [blockedAccount, spotFailingAccount]), []);
    for (const i of [NO_PERMISSION, SPOT_FAILS]) {
      const [account] = linkedAccounts(i);
      assert.is(emulator.store.spot.credentials.get(account!.accountId)?.subscriptionId, subs[i]!.subscriptionId);
    }
    // One application per Spot account.
    assert.is(emulator.store.applications.length, 25);
    assert.is(new Set(emulator.store.applications.map((a) => a.uniqueName)).size, 25);
  } finally {
    await emulator.close();
  }
});

test('continuous onboarding: a scheduled re-run links the new subscription and changes nothing for the linked ones', async () => {
  const emulator = await startEmulator({ subscriptions: 4, accounts: 1 });
  try {
    const cwd = workdir();
    const args = ['--all-subscriptions', '--create-accounts', '--yes'];
    const first = await provision(emulator, cwd, args);
    assert.is(first.code, 0, first.stderr);

    const added = addSubscription(emulator, 'New team');
    emulator.resetCounters();
    const second = await provision(emulator, cwd, [...args, '--json']);
    assert.is(second.code, 0, second.stderr);
    const rows: { subscriptionId: string; status: string; accountId: string; accountCreated?: boolean }[] = JSON.parse(second.stdout).subscriptions;
    const row = rows.find((r) => r.subscriptionId === added);
    assert.equal([row?.status, row?.accountCreated], ['linked', true]);
    assert.equal(
      rows.filter((r) => r !== row).map((r) => r.status),
      ['already linked', 'already linked', 'already linked', 'already linked'],
    );
    assert.is(emulator.store.spot.credentials.get(row!.accountId)?.subscriptionId, added);
    assert.ok(emulator.mutating().length > 0);
    assert.equal(writesElsewhere(emulator, [added], [row!.accountId]), []);

    // Once it is linked too, the next scheduled run sends no changing request at all, and a few reads
    // per subscription beyond the fleet's two listings (Spot accounts, subscriptions).
    emulator.resetCounters();
    const third = await provision(emulator, cwd, args);
    assert.is(third.code, 0, third.stderr);
    assert.equal(emulator.mutating(), []);
    const reads = emulator.count() - emulator.count('identity') - 2;
    assert.ok(reads <= 2 * 5, `${reads} reads for 5 linked subscriptions`);
  } finally {
    await emulator.close();
  }
});

test('fleet --dry-run: every subscription planned from one walk each, no account created, no changing request, no file written', async () => {
  const emulator = await startEmulator({
    subscriptions: [{ displayName: 'Linked in Spot' }, { displayName: 'Read only', callerRole: 'Reader' }, { displayName: 'New 1' }, { displayName: 'New 2' }],
    accounts: 1,
  });
  try {
    const [inSpot, readOnly, ...fresh] = emulator.store.subscriptions;
    const existing = emulator.store.spot.accounts[0]!;
    existing.providerExternalId = inSpot!.subscriptionId;
    const cwd = workdir();
    const args = ['--all-subscriptions', '--create-accounts', '--dry-run'];

    const shown = await provision(emulator, cwd, args);
    assert.is(shown.code, 1, shown.stderr);
    assert.match(shown.stderr, '1 of 4 subscriptions would not be linked');
    for (const sub of emulator.store.subscriptions) assert.ok(rowOf(shown.stdout, sub.subscriptionId, 'plan'), `${sub.displayName} is not in the plan`);
    assert.match(rowOf(shown.stdout, inSpot!.subscriptionId, 'plan'), new RegExp(`${existing.accountId}\\s+will link\\s+app: create`));
    assert.match(rowOf(shown.stdout, readOnly!.subscriptionId, 'plan'), /would fail\s+You may not assign roles/);
    const created = rowOf(shown.stdout, fresh[0]!.subscriptionId, 'plan');
    assert.match(created, /\(new\)\s+will create account\s+account: create "New 1 \(/);
    assert.match(created, `account: create "New 1 (${fresh[0]!.subscriptionId})", app: create`);
    assert.match(shown.stdout, 'Dry run, nothing was changed: 0 already linked, 1 to link, 2 to link to a new account, 1 would fail.');

    const json = await provision(emulator, cwd, [...args, '--json']);
    assert.is(json.code, 1, json.stderr);
    const plan: { subscriptionId: string; action: string; accountName?: string; steps?: { id: string; action: string }[] }[] = JSON.parse(
      json.stdout,
    ).subscriptions;
    assert.equal(
      plan.map((r) => [r.subscriptionId, r.action]),
      [
        [inSpot!.subscriptionId, 'will link'],
        [readOnly!.subscriptionId, 'would fail'],
        [fresh[0]!.subscriptionId, 'will create account'],
        [fresh[1]!.subscriptionId, 'will create account'],
      ],
    );
    assert.is(plan[2]!.accountName, `New 1 (${fresh[0]!.subscriptionId})`);
    assert.equal(
      plan[2]!.steps?.map((step) => `${step.id} ${step.action}`),
      ['preflight check', 'tenant check', 'subscription check', 'app create', 'service-principal create', 'secret create', 'role create', 'link create'],
    );

    const without = await provision(emulator, cwd, ['--all-subscriptions', '--dry-run', '--json']);
    const refused = JSON.parse(without.stdout).subscriptions[2];
    assert.equal([refused.action, refused.detail.includes('--create-accounts')], ['would fail', true]);

    assert.equal(emulator.mutating(), []);
    assert.is(emulator.store.spot.accounts.length, 1);
    assert.not.ok(existsSync(join(cwd, '.spot-azure-onboard')), 'the dry run wrote to the state directory');
  } finally {
    await emulator.close();
  }
});

test('fleet --dry-run after a fleet run: linked subscriptions are already linked, a new one would get an account', async () => {
  const emulator = await startEmulator({ subscriptions: 2, accounts: 1 });
  try {
    const cwd = workdir();
    const run = await provision(emulator, cwd, ['--all-subscriptions', '--create-accounts', '--yes']);
    assert.is(run.code, 0, run.stderr);
    const added = addSubscription(emulator, 'New team');
    emulator.resetCounters();
    const plan = await provision(emulator, cwd, ['--all-subscriptions', '--create-accounts', '--dry-run']);
    assert.is(plan.code, 0, plan.stderr);
    for (const sub of emulator.store.subscriptions.slice(0, 2))
      assert.match(rowOf(plan.stdout, sub.subscriptionId, 'plan'), /act-[0-9a-f]{8}\s+already linked$/);
    assert.match(rowOf(plan.stdout, added, 'plan'), 'will create account');
    assert.equal(emulator.mutating(), []);
    // Per subscription, a linked one costs no request beyond the fleet's listings; the new one a few reads.
    assert.ok(emulator.count() - emulator.count('identity') <= 10, `${emulator.count()} requests`);
  } finally {
    await emulator.close();
  }
});

test('a subscription with no Spot account fails with a hint unless --create-accounts, and nothing is created for it', async () => {
  const emulator = await startEmulator({ subscriptions: 2, accounts: 1 });
  try {
    const [first, second] = emulator.store.subscriptions;
    emulator.store.spot.accounts[0]!.providerExternalId = first!.subscriptionId;
    const run = await provision(emulator, workdir(), ['--subscription', first!.subscriptionId, '--subscription', second!.subscriptionId, '--json']);
    assert.is(run.code, 1, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(
      result.subscriptions.map((r: { status: string }) => r.status),
      ['linked', 'failed'],
    );
    assert.match(result.subscriptions[1].error, `No Spot account is linked to subscription ${second!.subscriptionId}`);
    assert.match(result.subscriptions[1].error, '--create-accounts');
    assert.is(emulator.store.spot.accounts.length, 1);
    assert.is(emulator.store.applications.length, 1);
  } finally {
    await emulator.close();
  }
});

test('--account-id or --state with several subscriptions is a usage error', async () => {
  const emulator = await startEmulator({ subscriptions: 2 });
  try {
    const ids = emulator.store.subscriptions.map((s) => s.subscriptionId);
    for (const extra of [
      ['--account-id', emulator.env.SPOTINST_ACCOUNT!],
      ['--state', 'x.json'],
    ]) {
      const run = await provision(emulator, workdir(), ['--subscription', ids[0]!, '--subscription', ids[1]!, ...extra]);
      assert.is(run.code, 2, `${extra[0]}: ${run.stderr}`);
      assert.match(run.stderr, extra[0]!);
    }
    const both = await provision(emulator, workdir(), ['--all-subscriptions', '--subscription', ids[0]!]);
    assert.is(both.code, 2);
    assert.match(both.stderr, '--all-subscriptions and --subscription cannot be combined');
    assert.equal(emulator.mutating(), []);
  } finally {
    await emulator.close();
  }
});

test.run();
