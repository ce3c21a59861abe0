import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { cliEnv, ended, startCli, waitForOutput, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';
import { Terminal } from './terminal.ts';

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator({ subscriptions: 3, accounts: 3 });
});
test.after(() => emulator.close());

const DEVICE_CODE_MESSAGE =
  /To sign in, use a web browser to open the page https:\/\/microsoft\.com\/devicelogin and enter the code\s*([A-Z0-9]{9})\s*to authenticate\./;
/** No service principal in the environment: only a device code can sign in. */
const NO_AZURE_SIGN_IN = { AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined };

/** `text` on the screen, wherever the pane's width breaks it into lines. */
function acrossWraps(text: string): RegExp {
  return new RegExp([...text].map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\n?'));
}

test('--device-code without a terminal: shows the code, waits until it is entered, then links the account', async () => {
  const account = emulator.store.spot.accounts[0]!.accountId;
  const subscription = emulator.store.subscriptions[0]!.subscriptionId;
  const codesBefore = emulator.store.deviceCodes.length;
  const started = startCli('provision.ts', ['--device-code', '--account-id', account, '--subscription', subscription, '--json'], {
    env: cliEnv(emulator, NO_AZURE_SIGN_IN),
    cwd: workdir(),
  });
  const shown = await waitForOutput(started, DEVICE_CODE_MESSAGE, { stream: 'stderr', timeoutMs: 20_000 });
  const userCode = DEVICE_CODE_MESSAGE.exec(shown)![1]!;
  assert.equal(emulator.mutating(), [], 'something changed before the sign-in');
  emulator.store.approveDeviceCode(userCode);
  const run = await ended(started, 'provision.ts after the device code was approved');
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, DEVICE_CODE_MESSAGE);
  assert.is(JSON.parse(run.stdout).accountId, account, 'stdout holds the one JSON object');
  // One sign-in serves ARM and Graph: the second token comes from the refresh token, not a second code.
  assert.is(emulator.store.deviceCodes.length - codesBefore, 1, 'device codes issued');
  assertOnboarded(emulator, account, subscription, 'device code');
  const secret = emulator.store.spot.credentials.get(account)!.clientSecret;
  assert.not.ok(run.stdout.includes(secret) || run.stderr.includes(secret), 'the client secret was printed');
});

test('guided, with no Azure sign-in available: offers a device code, then plans and links after the confirmation', async () => {
  const account = emulator.store.spot.accounts[1]!.accountId;
  const subscription = emulator.store.subscriptions[1]!.subscriptionId;
  // AZURE_TENANT_ID stays: it names the emulator's tenant to the device code sign-in.
  const env = cliEnv(emulator, { ...NO_AZURE_SIGN_IN, SPOTINST_ACCOUNT: account, AZURE_SUBSCRIPTION_ID: subscription });
  emulator.resetCounters();
  const terminal = Terminal.start('provision.ts', [], { env, cwd: workdir() });
  try {
    // The message is wider than the pane: it is read with the wrapped lines joined.
    const offered = (await terminal.waitFor(acrossWraps('to authenticate.'))).replace(/\n/g, '');
    assert.match(
      offered,
      'No Azure sign-in found (environment variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET)); signing in with a device code instead.',
    );
    const userCode = DEVICE_CODE_MESSAGE.exec(offered)?.[1];
    assert.ok(userCode, `no device code on the screen:\n${offered}`);
    emulator.store.approveDeviceCode(userCode!);
    const plan = await terminal.waitFor('Go ahead?');
    assert.match(plan, new RegExp(`will create\\s+link: give Spot account ${account}`));
    assert.equal(emulator.mutating(), [], 'something changed before the confirmation');
    terminal.send('Enter');
    const screen = await terminal.waitFor('[exit 0]', 60_000);
    assert.match(screen, `Done: Spot account ${account} is linked to Azure.`);
  } finally {
    terminal.close();
  }
  assertOnboarded(emulator, account, subscription, 'guided device code');
});

test('guided, with a client secret Entra ID rejects: the sign-in error stands, no device code is offered', async () => {
  const codesBefore = emulator.store.deviceCodes.length;
  const env = cliEnv(emulator, {
    AZURE_CLIENT_SECRET: 'not-the-secret',
    SPOTINST_ACCOUNT: emulator.store.spot.accounts[2]!.accountId,
    AZURE_SUBSCRIPTION_ID: emulator.store.subscriptions[2]!.subscriptionId,
  });
  emulator.resetCounters();
  const terminal = Terminal.start('provision.ts', [], { env, cwd: workdir() });
  try {
    const screen = (await terminal.waitFor('[exit 1]')).replace(/\n/g, '');
    assert.match(screen, 'Azure sign-in failed: AADSTS7000215: Invalid client secret provided.');
    assert.match(screen, 'Run "az login"');
    assert.not.ok(screen.includes('device code'), 'a device code was offered');
  } finally {
    terminal.close();
  }
  assert.is(emulator.store.deviceCodes.length, codesBefore, 'device codes issued');
  assert.equal(emulator.mutating(), []);
});

test.run();
