import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AzureCliCredential } from '@azure/identity';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, startEmulator } from './emulator/server.ts';

// test/fake-az/az stands in for the Azure CLI: it must answer as AzureCliCredential expects, with tokens the emulator accepts.

const dir = fileURLToPath(new URL('./fake-az/', import.meta.url));
const az = join(dir, 'az');

let emulator: Emulator;
test.before(async () => {
  emulator = await startEmulator();
});
test.after(() => emulator.close());

function fakeAzEnv(e: Emulator, log: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_EXTRA_CA_CERTS: e.env.NODE_EXTRA_CA_CERTS!,
    FAKE_AZ_AUTHORITY: e.urls.identity,
    FAKE_AZ_TENANT: e.env.AZURE_TENANT_ID!,
    FAKE_AZ_CLIENT_ID: e.env.AZURE_CLIENT_ID!,
    FAKE_AZ_CLIENT_SECRET: e.env.AZURE_CLIENT_SECRET!,
    FAKE_AZ_SUBSCRIPTION: e.env.AZURE_SUBSCRIPTION_ID!,
    FAKE_AZ_LOG: log,
    ...extra,
  };
}

function runAz(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(az, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const logFile = () => join(mkdtempSync(join(tmpdir(), 'fake-az-')), 'calls.log');

async function graphStatus(e: Emulator, token: string): Promise<number> {
  return (await fetch(`${e.urls.graph}/v1.0/organization`, { headers: { Authorization: `Bearer ${token}` } })).status;
}

test('get-access-token prints the fields AzureCliCredential parses, with a token the emulator accepts, and logs the scope', async () => {
  const log = logFile();
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
  assert.equal(readFileSync(log, 'utf8').split('\n').filter(Boolean), [`${emulator.urls.graph}/.default`, `${emulator.urls.arm}/.default`]);
});

test('logged out, or refused by Entra ID, it fails as az does; --version answers', async () => {
  const out = await runAz(
    ['account', 'get-access-token', '--output', 'json', '--resource', emulator.urls.graph],
    fakeAzEnv(emulator, logFile(), { FAKE_AZ_LOGGED_OUT: '1' }),
  );
  assert.is(out.code, 1);
  assert.is(out.stdout, '');
  assert.match(out.stderr, "Please run 'az login' to setup account.");
  const refused = await runAz(
    ['account', 'get-access-token', '--resource', emulator.urls.graph],
    fakeAzEnv(emulator, logFile(), { FAKE_AZ_CLIENT_SECRET: 'wrong' }),
  );
  assert.is(refused.code, 1);
  assert.match(refused.stderr, 'AADSTS7000215');
  const version = await runAz(['--version'], fakeAzEnv(emulator, logFile()));
  assert.is(version.code, 0);
  assert.match(version.stdout, /^azure-cli\s+2\.\d+\.\d+/);
});

test("@azure/identity's AzureCliCredential signs in through it when it is first on PATH", async () => {
  const log = logFile();
  const saved = { ...process.env };
  Object.assign(process.env, fakeAzEnv(emulator, log), { PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` });
  try {
    const credential = new AzureCliCredential({ tenantId: emulator.env.AZURE_TENANT_ID! });
    const token = await credential.getToken(`${emulator.urls.graph}/.default`);
    assert.is(await graphStatus(emulator, token.token), 200);
    assert.ok(token.expiresOnTimestamp > Date.now());
    assert.equal(readFileSync(log, 'utf8').split('\n').filter(Boolean), [`${emulator.urls.graph}/.default`]);

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

test.run();
