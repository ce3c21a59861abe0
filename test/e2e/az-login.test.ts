import { dirname } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type EmulatorOptions, withEmulator } from '../emulator/server.ts';
import { azCalls, azLogFile, azLoginEnv } from '../fake-az/fake-az.ts';
import { runCli, workdir } from './cli.ts';
import { assertOnboarded } from './onboarded.ts';

// Signed in with `az login` (the stand-in test/fake-az/az first on PATH) and nothing else: the token
// cache in front of the credential must start az at most once per distinct scope, whatever the run does.

function assertOncePerScope(e: Emulator, log: string, label: string) {
  const calls = azCalls(log);
  assert.ok(calls.length > 0, `${label}: az was never started`);
  assert.equal(calls, [...new Set(calls)], `${label}: az started more than once for a scope: ${calls.join(', ')}`);
  for (const scope of calls) assert.ok([`${e.urls.arm}/.default`, `${e.urls.graph}/.default`].includes(scope), `${label}: unexpected scope ${scope}`);
}

const LAG: Partial<EmulatorOptions['lag']> = { spNoBackingAppRefusals: 2, appRefusals: 2, principalRefusals: 2, secretAcceptRefusals: 2 };

test('a fresh onboarding, and one with lag retries, start az at most once per scope', async () => {
  for (const [label, lag] of [
    ['fresh', {}],
    ['with lag', LAG],
  ] as const) {
    await withEmulator({ lag }, async (e) => {
      const log = azLogFile();
      const run = await runCli('provision.ts', [], { env: azLoginEnv(e, log), cwd: workdir() });
      assert.is(run.code, 0, `${label}: ${run.stderr}`);
      if (label === 'with lag') assert.match(run.stdout, 'retrying role');
      assertOnboarded(e, e.env.SPOTINST_ACCOUNT!, e.env.AZURE_SUBSCRIPTION_ID!, label);
      assertOncePerScope(e, log, label);
      assert.is(azCalls(log).length, 2, `${label}: one token for ARM, one for Graph`);
    });
  }
});

test('a fleet of 10 subscriptions starts az at most once per scope for the whole run', async () => {
  await withEmulator({ subscriptions: 10, accounts: 1 }, async (e) => {
    const log = azLogFile();
    const run = await runCli('provision.ts', ['--all-subscriptions', '--create-accounts'], { env: azLoginEnv(e, log), cwd: workdir() });
    assert.is(run.code, 0, run.stderr);
    assert.is(e.store.spot.accounts.filter((a) => a.providerExternalId).length, 10);
    assert.ok(e.count('graph') + e.count('arm') > 40, 'the fleet sent its requests');
    assertOncePerScope(e, log, 'fleet');
  });
});

test('without az, or logged out of it, the run ends with the az login hint and changes nothing', async () => {
  for (const [label, extra] of [
    // Only node's own folder on PATH: no az anywhere.
    ['az missing', { PATH: dirname(process.execPath) }],
    ['logged out', { FAKE_AZ_LOGGED_OUT: '1' }],
  ] as const) {
    await withEmulator({}, async (e) => {
      const run = await runCli('provision.ts', [], { env: azLoginEnv(e, azLogFile(), extra), cwd: workdir() });
      assert.is(run.code, 1, `${label}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, 'Azure sign-in failed', label);
      assert.match(run.stderr, 'Run "az login"', label);
      assert.match(run.stderr, 'Azure CLI (az login)', label);
      assert.equal(e.mutating(), [], `${label}: something changed`);
    });
  }
});

test.run();
