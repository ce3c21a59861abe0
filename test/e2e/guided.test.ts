import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, startEmulator, withEmulator } from '../emulator/server.ts';
import { cliEnv, runCli, workdir } from './cli.ts';
import { assertOnboarded, PROVISION_JSON_FIELDS } from './onboarded.ts';
import { Terminal } from './terminal.ts';

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator({ subscriptions: 12, accounts: 4 });
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

test('a guided run asks before moving an account linked to another subscription; no leaves it, yes moves it', async () => {
  await withEmulator({ subscriptions: 2 }, async (e) => {
    const [from, to] = e.store.subscriptions.map((sub) => sub.subscriptionId) as [string, string];
    const cwd = workdir();
    const first = await runCli('provision.ts', ['--subscription', from, '--yes'], { env: cliEnv(e), cwd });
    assert.is(first.code, 0, first.stderr);
    const accountId = e.env.SPOTINST_ACCOUNT!;
    for (const answer of ['n', 'y']) {
      e.resetCounters();
      const terminal = Terminal.start('provision.ts', ['--subscription', to], { env: cliEnv(e), cwd });
      try {
        const asked = await terminal.waitFor(`Move it to ${to}?`);
        assert.match(asked, `Spot account ${accountId} is linked to subscription ${from}`);
        assert.equal(e.mutating(), [], 'something changed before the answer');
        terminal.type(answer);
        terminal.send('Enter');
        if (answer === 'n') {
          const refused = await terminal.waitFor('[exit 1]', 60_000);
          assert.match(refused, '--relink');
          assert.equal(e.mutating(), [], 'a no changed something');
          continue;
        }
        const plan = await terminal.waitFor('Go ahead?');
        assert.match(plan, `the account moves from subscription ${from} (--relink)`);
        terminal.send('Enter');
        await terminal.waitFor('[exit 0]', 60_000);
      } finally {
        terminal.close();
      }
    }
    assertOnboarded(e, accountId, to, 'after the guided move');
    assert.is(e.store.spot.credentials.get(accountId)!.subscriptionId, to);
  });
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
    preflight: 'check',
    tenant: 'done',
    subscription: 'done',
    app: 'done',
    'service-principal': 'done',
    // The secret added before the failure was never handed to Spot and lived only in that run's memory: a fresh one is added.
    secret: 'create',
    role: 'create',
    link: 'create',
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

test('"Create a new Spot account" asks first, creates one account named after the subscription, and finds it by name next time', async () => {
  const cwd = workdir();
  const subscription = emulator.store.subscriptions[4]!;
  const name = `${subscription.displayName} (${subscription.subscriptionId})`;
  const env = cliEnv(emulator, { SPOTINST_ACCOUNT: undefined, AZURE_SUBSCRIPTION_ID: subscription.subscriptionId });
  const accountsBefore = emulator.store.spot.accounts.length;
  const pickCreate = async (terminal: Terminal) => {
    await terminal.waitFor('Spot account to link');
    terminal.send('Up');
    await terminal.waitFor(/❯ Create a new Spot account named after the subscription/);
    terminal.send('Enter');
  };
  const accountCreations = () => emulator.requests.filter((r) => r.api === 'spot' && r.method === 'POST' && r.path.startsWith('/setup/account'));

  // Declined: nothing is created.
  emulator.resetCounters();
  let terminal = Terminal.start('provision.ts', [], { env, cwd });
  try {
    await pickCreate(terminal);
    await terminal.waitFor(`Create Spot account "${name}" now? The plan needs its id.`);
    terminal.type('n');
    terminal.send('Enter');
    const screen = await terminal.waitFor('[exit 130]');
    assert.match(screen, 'no account was created and nothing was changed');
    assert.equal(emulator.mutating(), []);
    assert.is(emulator.store.spot.accounts.length, accountsBefore);
  } finally {
    terminal.close();
  }

  // A gateway error on the create is not resent: Spot may have made the account already.
  emulator.resetCounters();
  emulator.faults.add({ api: 'spot', method: 'POST', path: /^\/setup\/account/, status: 502 });
  terminal = Terminal.start('provision.ts', [], { env, cwd });
  try {
    await pickCreate(terminal);
    await terminal.waitFor(`Create Spot account "${name}" now?`);
    terminal.send('Enter');
    const screen = await terminal.waitFor('[exit 1]');
    assert.match(screen, 'The Spot API answered 502');
    assert.is(accountCreations().length, 1, 'account creations sent');
  } finally {
    terminal.close();
  }

  // Accepted: one account is made before the plan, and only it; Ctrl-C at "Go ahead?" leaves just that.
  emulator.resetCounters();
  terminal = Terminal.start('provision.ts', [], { env, cwd });
  let created: string;
  try {
    await pickCreate(terminal);
    await terminal.waitFor(`Create Spot account "${name}" now?`);
    terminal.send('Enter');
    const plan = await terminal.waitFor('Go ahead?');
    const named = emulator.store.spot.accounts.filter((a) => a.name === name);
    assert.is(named.length, 1, 'accounts named after the subscription');
    created = named[0]!.accountId;
    assert.match(plan, `created Spot account ${created}`);
    assert.match(plan, new RegExp(`will create\\s+link: give Spot account ${created}`));
    terminal.send('C-c');
    const screen = await terminal.waitFor('[exit 130]');
    // The message is longer than the pane is wide: join the wrapped lines.
    assert.match(screen.replace(/\n/g, ''), `Cancelled at the prompt; only Spot account ${created} "${name}" was created`);
    assert.equal(
      emulator.mutating().map((r) => `${r.method} ${r.path}`),
      ['POST /setup/account'],
      'only the account was made',
    );
  } finally {
    terminal.close();
  }

  // Again: the unlinked account is found by its name, not created twice; confirmed, it is linked.
  emulator.resetCounters();
  terminal = Terminal.start('provision.ts', [], { env, cwd });
  try {
    await pickCreate(terminal);
    const plan = await terminal.waitFor('Go ahead?');
    assert.match(plan, `reusing Spot account ${created} "${name}", found by its name`);
    assert.not.ok(plan.includes('now? The plan needs its id'), 'asked to create an account that exists');
    terminal.send('Enter');
    const done = await terminal.waitFor('[exit 0]', 60_000);
    assert.match(done, `Done: Spot account ${created} is linked to Azure.`);
    assertOnboarded(emulator, created, subscription.subscriptionId, 'created');
  } finally {
    terminal.close();
  }

  // Once more, now that it is linked to this subscription: still the same account.
  terminal = Terminal.start('provision.ts', [], { env, cwd });
  try {
    await pickCreate(terminal);
    const screen = await terminal.waitFor('[exit 0]', 60_000);
    assert.match(screen, `reusing Spot account ${created} "${name}", found by its name`);
  } finally {
    terminal.close();
  }
  assert.equal(accountCreations(), []);
  assert.is(emulator.store.spot.accounts.filter((a) => a.name === name).length, 1);
  assertOnboarded(emulator, created, subscription.subscriptionId, 'reused');
});

test('--dry-run at a terminal does not offer to create a Spot account', async () => {
  emulator.resetCounters();
  const env = cliEnv(emulator, { SPOTINST_ACCOUNT: undefined });
  const terminal = Terminal.start('provision.ts', ['--dry-run'], { env, cwd: workdir() });
  try {
    await terminal.waitFor('Spot account to link');
    terminal.send('Up');
    const screen = await terminal.waitFor(/Create a new Spot account named after the subscription \(a dry run creates nothing\)/);
    assert.not.ok(/❯ Create a new/.test(screen), 'the create choice can be selected in a dry run');
    terminal.send('C-c');
    await terminal.waitFor('[exit 130]');
    assert.equal(emulator.mutating(), []);
  } finally {
    terminal.close();
  }
});

test('--json at a terminal: prompts and plan on the screen, stdout holds only the JSON object', async () => {
  const cwd = workdir();
  const stdoutFile = join(cwd, 'stdout.json');
  const account = emulator.store.spot.accounts[3]!.accountId;
  const subscription = emulator.store.subscriptions[5]!.subscriptionId;
  const env = cliEnv(emulator, { SPOTINST_ACCOUNT: undefined, AZURE_SUBSCRIPTION_ID: subscription });
  const terminal = Terminal.start('provision.ts', ['--json'], { env, cwd, stdoutTo: stdoutFile });
  try {
    await terminal.waitFor('Spot account to link');
    terminal.send('Down', 'Down', 'Down');
    await terminal.waitFor(new RegExp(`❯ .*\\(${account}\\)`));
    terminal.send('Enter');
    const plan = await terminal.waitFor('Go ahead?');
    assert.match(plan, /Plan:\n/);
    assert.match(plan, new RegExp(`will create\\s+link: give Spot account ${account}`));
    terminal.send('Enter');
    await terminal.waitFor('[exit 0]', 60_000);
  } finally {
    terminal.close();
  }
  const result = JSON.parse(readFileSync(stdoutFile, 'utf8'));
  assert.type(result, 'object');
  assert.equal(Object.keys(result).sort(), PROVISION_JSON_FIELDS);
  assert.is(result.accountId, account);
  assert.is(result.subscriptionId, subscription);
  assert.is(result.tenantId, emulator.store.tenant.id);
  assertOnboarded(emulator, account, subscription, 'json');
});

test.run();
