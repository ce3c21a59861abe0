import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEmulator, type Emulator } from '../emulator/server.ts';
import { cliEnv, runCli, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';
import { Terminal } from './terminal.ts';

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator({ subscriptions: 12, accounts: 3 });
});
test.after(() => emulator.close());

const ANSI = /\x1b\[/;

test('guided at a terminal: hidden token, pick an account, filter and pick a subscription, see the plan, confirm', async () => {
  const cwd = workdir();
  const token = emulator.env.SPOTINST_TOKEN!;
  const env = cliEnv(emulator, { SPOTINST_TOKEN: undefined, SPOTINST_ACCOUNT: undefined, AZURE_SUBSCRIPTION_ID: undefined });
  const terminal = Terminal.start('provision.ts', [], { env, cwd });
  try {
    await terminal.waitFor('Spot API token');
    terminal.type(token);
    terminal.send('Enter');
    await terminal.waitFor('Spot account to link');
    const second = emulator.store.spot.accounts[1]!;
    terminal.send('Down');
    terminal.send('Enter');
    await terminal.waitFor('Azure subscription to link (type to filter)');
    const wanted = emulator.store.subscriptions.find((s) => s.displayName === 'Subscription 11')!;
    terminal.type('ion 11');
    await terminal.waitFor(/❯ Subscription 11/);
    const filtered = terminal.screen();
    assert.not.ok(filtered.includes('Subscription 12'), 'the list was not filtered');
    terminal.send('Enter');
    const plan = await terminal.waitFor('Go ahead?');
    assert.match(plan, /will create\s+app: register application "Spot act-/);
    assert.match(plan, /will create\s+link: give Spot account act-/);
    assert.equal(emulator.mutating(), [], 'something changed before the confirmation');
    terminal.send('Enter');
    const done = await terminal.waitFor('[exit 0]', 60_000);
    assert.match(done, `Done: Spot account ${second.accountId} is linked to Azure.`);
    assert.match(done, `subscription   Subscription 11 (${wanted.subscriptionId})`);
    assert.match(done, 'Azure portal   https://portal.azure.com/');
    assert.not.ok(done.includes(token), 'the token showed on the screen');
    assertOnboarded(emulator, second.accountId, wanted.subscriptionId, 'guided');
  } finally {
    terminal.close();
  }
});

test('Ctrl-C at a prompt exits 130 and changes nothing', async () => {
  emulator.resetCounters();
  const env = cliEnv(emulator, { SPOTINST_ACCOUNT: undefined });
  const terminal = Terminal.start('provision.ts', [], { env, cwd: workdir() });
  try {
    await terminal.waitFor('Spot account to link');
    terminal.send('C-c');
    const screen = await terminal.waitFor('[exit 130]');
    assert.match(screen, 'Cancelled at the prompt; nothing was changed.');
    assert.equal(emulator.mutating(), []);
  } finally {
    terminal.close();
  }
});

test('--dry-run prints the plan and changes nothing, fresh and half-finished', async () => {
  const cwd = workdir();
  const account = emulator.store.spot.accounts[2]!.accountId;
  const subscription = emulator.store.subscriptions[2]!.subscriptionId;
  const args = ['--account-id', account, '--subscription', subscription];
  emulator.resetCounters();
  const fresh = await runCli('provision.ts', [...args, '--dry-run'], { env: cliEnv(emulator), cwd });
  assert.is(fresh.code, 0, fresh.stderr);
  assert.equal(emulator.mutating(), []);
  for (const step of ['app', 'service-principal', 'secret', 'role', 'link']) assert.match(fresh.stdout, new RegExp(`will create\\s+${step}:`));
  assert.match(fresh.stdout, new RegExp(`will create\\s+role: assign Contributor on /subscriptions/${subscription}`));
  assert.match(fresh.stdout, 'Dry run: nothing was changed.');

  // Half-finished: the role assignment fails once, so app, principal and secret exist and are recorded.
  emulator.faults.add({ api: 'arm', method: 'PUT', status: 403 });
  assert.is((await runCli('provision.ts', args, { env: cliEnv(emulator), cwd })).code, 1);
  emulator.resetCounters();
  const half = await runCli('provision.ts', [...args, '--dry-run', '--json'], { env: cliEnv(emulator), cwd });
  assert.is(half.code, 0, half.stderr);
  assert.equal(emulator.mutating(), []);
  const actions = Object.fromEntries((JSON.parse(half.stdout).plan as { id: string; action: string }[]).map((p) => [p.id, p.action]));
  assert.equal(actions, {
    preflight: 'check', tenant: 'done', subscription: 'done', app: 'done', 'service-principal': 'done', secret: 'done', role: 'create', link: 'create',
  });

  // Moved-away state: the app and principal are found again and would be reused.
  const other = workdir();
  const found = await runCli('provision.ts', [...args, '--dry-run'], { env: cliEnv(emulator), cwd: other });
  assert.match(found.stdout, /will reuse\s+app: application Spot act-/);
  assert.match(found.stdout, /will reuse\s+service-principal:/);
  // The role assignment failed above, so there is none to reuse yet.
  assert.match(found.stdout, /will create\s+role: assign Contributor/);
  assert.equal(emulator.mutating(), []);
});

test('without a terminal: plain lines, no ANSI codes; --json keeps stdout to the one object', async () => {
  const cwd = workdir();
  const account = emulator.store.spot.accounts[0]!.accountId;
  const subscription = emulator.store.subscriptions[0]!.subscriptionId;
  const run = await runCli('provision.ts', ['--account-id', account, '--subscription', subscription, '--json'], { env: cliEnv(emulator), cwd });
  assert.is(run.code, 0, run.stderr);
  assert.not.ok(ANSI.test(run.stdout) || ANSI.test(run.stderr), 'ANSI codes without a terminal');
  assert.match(run.stderr, /^\[\d\d:\d\d:\d\d\] … preflight:/m);
  const result = JSON.parse(run.stdout);
  assert.is(result.accountId, account);
  assert.is(result.subscriptionId, subscription);

  // With the state moved away, a plan finds every Azure object again and would reuse it.
  const plan = await runCli('provision.ts', ['--account-id', account, '--subscription', subscription, '--dry-run'], { env: cliEnv(emulator), cwd: workdir() });
  for (const step of ['app', 'service-principal', 'role']) assert.match(plan.stdout, new RegExp(`will reuse\\s+${step}:`));
  assert.match(plan.stdout, /will update\s+link:/);
});

test.run();
