import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type EmulatorOptions, startEmulator, type TenantAppManagementPolicy } from './emulator/server.ts';

// The emulator's own behaviour, over plain HTTPS: what the e2e tests rely on it to imitate.

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function withEmulator(options: Partial<EmulatorOptions>, body: (e: Emulator) => Promise<void>): Promise<void> {
  const emulator = await startEmulator(options);
  try {
    await body(emulator);
  } finally {
    await emulator.close();
  }
}

async function token(e: Emulator, resource: string, clientId = e.env.AZURE_CLIENT_ID!, secret = e.env.AZURE_CLIENT_SECRET!): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: `${resource}/.default` });
  const answer = await fetch(`${e.urls.identity}/${e.env.AZURE_TENANT_ID}/oauth2/v2.0/token`, { method: 'POST', body: form });
  const json = (await answer.json()) as Record<string, unknown>;
  if (answer.status !== 200) throw new Error(`token: ${answer.status} ${JSON.stringify(json)}`);
  return String(json['access_token']);
}

async function call(url: string, bearer: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const answer = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  return { status: answer.status, headers: answer.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function graph(e: Emulator, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
  return call(`${e.urls.graph}/v1.0${path}`, await token(e, e.urls.graph), method, body, headers);
}

function errorOf(answer: Answer): Record<string, unknown> {
  return (answer.body['error'] ?? {}) as Record<string, unknown>;
}

async function newApp(e: Emulator, name = 'app'): Promise<{ id: string; appId: string }> {
  const created = await graph(e, 'POST', '/applications', { displayName: name });
  assert.is(created.status, 201, JSON.stringify(created.body));
  return { id: String(created.body['id']), appId: String(created.body['appId']) };
}

const addPassword = (e: Emulator, appObjectId: string, months: number) => {
  const end = new Date(Date.now() + months * 30 * 86_400_000).toISOString();
  return graph(e, 'POST', `/applications/${appObjectId}/addPassword`, { passwordCredential: { displayName: 'x', endDateTime: end } });
};

test('the default app management policy is served in Graph shape, and refused without Policy.Read.All', async () => {
  const policy: EmulatorOptions['appManagementPolicy'] = {
    isEnabled: true,
    applicationRestrictions: { passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: 'P180D' }] },
  };
  await withEmulator({ appManagementPolicy: policy }, async (e) => {
    const read = await graph(e, 'GET', '/policies/defaultAppManagementPolicy');
    assert.is(read.status, 200);
    assert.is(read.body['id'], '00000000-0000-0000-0000-000000000000');
    assert.is(read.body['displayName'], 'Default app management tenant policy');
    assert.is(read.body['isEnabled'], true);
    assert.equal(read.body['applicationRestrictions'], {
      passwordCredentials: [{ restrictionType: 'passwordLifetime', state: 'enabled', maxLifetime: 'P180D', restrictForAppsCreatedAfterDateTime: null }],
      keyCredentials: [],
    });
    assert.equal(read.body['servicePrincipalRestrictions'], { passwordCredentials: [], keyCredentials: [] });
  });
  await withEmulator({ policyReadAllowed: false }, async (e) => {
    const denied = await graph(e, 'GET', '/policies/defaultAppManagementPolicy');
    assert.is(denied.status, 403);
    assert.is(errorOf(denied)['code'], 'Authorization_RequestDenied');
    assert.is(errorOf(denied)['message'], 'Insufficient privileges to complete the operation.');
  });
});

test('addPassword enforces the policy: lifetime, addition, state, and apps created before the enforcement date', async () => {
  const lifetime = { restrictionType: 'passwordLifetime', maxLifetime: 'P180D' } as const;
  await withEmulator({ appManagementPolicy: { isEnabled: true, applicationRestrictions: { passwordCredentials: [lifetime] } } }, async (e) => {
    const app = await newApp(e);
    assert.is(errorOf(await addPassword(e, app.id, 12))['code'], 'CredentialInvalidLifetimeAsPerAppPolicy');
    assert.is((await addPassword(e, app.id, 5)).status, 200);
    e.store.appManagementPolicy.isEnabled = false;
    assert.is((await addPassword(e, app.id, 12)).status, 200, 'a policy that is off restricts nothing');
  });
  const blocked = (after?: string): TenantAppManagementPolicy => ({
    isEnabled: true,
    applicationRestrictions: { passwordCredentials: [{ restrictionType: 'passwordAddition', state: 'enabled', restrictForAppsCreatedAfterDateTime: after }] },
  });
  await withEmulator({ appManagementPolicy: blocked() }, async (e) => {
    const refused = await addPassword(e, (await newApp(e)).id, 1);
    assert.is(refused.status, 400);
    assert.is(errorOf(refused)['code'], 'CredentialTypeNotAllowedAsPerAppPolicy');
    e.store.appManagementPolicy.applicationRestrictions!.passwordCredentials![0]!.state = 'disabled';
    assert.is((await addPassword(e, (await newApp(e)).id, 1)).status, 200, 'a disabled restriction restricts nothing');
  });
  await withEmulator({ appManagementPolicy: blocked(new Date(Date.now() + 86_400_000).toISOString()) }, async (e) => {
    assert.is((await addPassword(e, (await newApp(e)).id, 1)).status, 200, 'an app created before the enforcement date is exempt');
  });
  await withEmulator({ appManagementPolicy: blocked(new Date(Date.now() - 86_400_000).toISOString()) }, async (e) => {
    assert.is((await addPassword(e, (await newApp(e)).id, 1)).status, 400, 'an app created after the enforcement date is bound');
  });
});

test.run();
