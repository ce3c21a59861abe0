import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { AzureCliCredential } from '@azure/identity';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTokenCache } from '../lib/clients/token-cache.ts';
import { type Emulator, startEmulator } from './emulator/server.ts';
import { azCalls, azLogFile, fakeAzDir, fakeAzEnv } from './fake-az/fake-az.ts';
import { rejects } from './helpers.ts';

// test/fake-az/az stands in for the Azure CLI: it must answer as AzureCliCredential expects, with tokens the emulator accepts.

const az = join(fakeAzDir, 'az');

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator();
});
test.after(() => emulator.close());

function runAz(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(az, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function graphStatus(e: Emulator, token: string): Promise<number> {
  return (await fetch(`${e.urls.graph}/v1.0/organization`, { headers: { Authorization: `Bearer ${token}` } })).status;
}

test('get-access-token prints the fields AzureCliCredential parses, with a token the emulator accepts, and logs the scope', async () => {
  const log = azLogFile();
  const env = fakeAzEnv(emulator, log);
  const byScope = await runAz(['account', 'get-access-token', '--output', 'json', '--scope', `${emulator.urls.graph}/.default`], env);
  assert.is(byScope.code, 0, byScope.stderr);
  const token = JSON.parse(byScope.stdout) as Record<string, unknown>;
  assert.equal(Object.keys(token).sort(), ['accessToken', 'expiresOn', 'expires_on', 'subscription', 'tenant', 'tokenType']);
  assert.is(token['tokenType'], 'Bearer');
  assert.is(token['tenant'], emulator.env.AZURE_TENANT_ID);
  assert.is(token['subscription'], emulator.env.AZURE_SUBSCRIPTION_ID);
  assert.ok(Math.abs(Number(token['expires_on']) * 1000 - new Date(String(token['expiresOn'])).getTime()) < 1000, 'expiresOn and expires_on disagree');
  assert.is(await graphStatus(emulator, String(token['accessToken'])), 200);

  const byResource = await runAz(
    ['account', 'get-access-token', '--output', 'json', '--resource', emulator.urls.arm, '--tenant', emulator.env.AZURE_TENANT_ID!],
    env,
  );
  assert.is(byResource.code, 0, byResource.stderr);
  const arm = await fetch(`${emulator.urls.arm}/subscriptions?api-version=2022-12-01`, {
    headers: { Authorization: `Bearer ${JSON.parse(byResource.stdout).accessToken}` },
  });
  assert.is(arm.status, 200);
  assert.equal(azCalls(log), [`${emulator.urls.graph}/.default`, `${emulator.urls.arm}/.default`]);
});

test('logged out, or refused by Entra ID, it fails as az does; --version answers', async () => {
  const out = await runAz(
    ['account', 'get-access-token', '--output', 'json', '--resource', emulator.urls.graph],
    fakeAzEnv(emulator, azLogFile(), { FAKE_AZ_LOGGED_OUT: '1' }),
  );
  assert.is(out.code, 1);
  assert.is(out.stdout, '');
  assert.match(out.stderr, "Please run 'az login' to setup account.");
  const refused = await runAz(
    ['account', 'get-access-token', '--resource', emulator.urls.graph],
    fakeAzEnv(emulator, azLogFile(), { FAKE_AZ_CLIENT_SECRET: 'wrong' }),
  );
  assert.is(refused.code, 1);
  assert.match(refused.stderr, 'AADSTS7000215');
  const version = await runAz(['--version'], fakeAzEnv(emulator, azLogFile()));
  assert.is(version.code, 0);
  assert.match(version.stdout, /^azure-cli\s+2\.\d+\.\d+/);
});

test("@azure/identity's AzureCliCredential signs in through it when it is first on PATH", async () => {
  const log = azLogFile();
  const saved = { ...process.env };
  Object.assign(process.env, fakeAzEnv(emulator, log));
  try {
    const credential = new AzureCliCredential({ tenantId: emulator.env.AZURE_TENANT_ID! });
    const token = await credential.getToken(`${emulator.urls.graph}/.default`);
    assert.is(await graphStatus(emulator, token.token), 200);
    assert.ok(token.expiresOnTimestamp > Date.now());
    assert.equal(azCalls(log), [`${emulator.urls.graph}/.default`]);

    process.env.FAKE_AZ_LOGGED_OUT = '1';
    const error = await credential.getToken(`${emulator.urls.arm}/.default`).catch((e: unknown) => e);
    assert.instance(error, Error);
    assert.is((error as Error).name, 'CredentialUnavailableError');
    assert.match((error as Error).message, "Please run 'az login'");
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});

test('through the token cache, az starts once per scope, concurrent callers share it; an expiring token and a failure are asked again', async () => {
  const log = azLogFile();
  const saved = { ...process.env };
  Object.assign(process.env, fakeAzEnv(emulator, log));
  try {
    let clock = Date.now();
    const credential = withTokenCache(new AzureCliCredential({ tenantId: emulator.env.AZURE_TENANT_ID! }), () => clock);
    const graph = `${emulator.urls.graph}/.default`;
    const arm = `${emulator.urls.arm}/.default`;
    const [first, second] = await Promise.all([credential.getToken(graph, { enableCae: true }), credential.getToken([graph], { enableCae: true })]);
    assert.is(first!.token, second!.token);
    assert.is((await credential.getToken(graph, { enableCae: true }))!.token, first!.token);
    await credential.getToken(arm, { enableCae: true });
    assert.equal(azCalls(log), [graph, arm]);

    clock = first!.expiresOnTimestamp - 60_000;
    assert.is(await graphStatus(emulator, (await credential.getToken(graph, { enableCae: true }))!.token), 200);
    assert.equal(azCalls(log), [graph, arm, graph], 'a token a minute from expiry is replaced');

    process.env.FAKE_AZ_LOGGED_OUT = '1';
    const loggedOut = withTokenCache(new AzureCliCredential({ tenantId: emulator.env.AZURE_TENANT_ID! }));
    await rejects(loggedOut.getToken(arm), (e) => (e as Error).name === 'CredentialUnavailableError');
    delete process.env.FAKE_AZ_LOGGED_OUT;
    assert.ok(await loggedOut.getToken(arm));
    assert.equal(azCalls(log), [graph, arm, graph, arm], 'the failure was not kept');
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});

test.run();
