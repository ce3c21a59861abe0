import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type EmulatorOptions, type TenantAppManagementPolicy, withEmulator } from './emulator/server.ts';

// The emulator's own behaviour, over plain HTTPS: what the e2e tests rely on it to imitate.

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
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

test('notes, tags and servicePrincipalLockConfiguration: set by upsert and PATCH, read back with $select', async () => {
  await withEmulator({}, async (e) => {
    const lock = {
      isEnabled: true,
      allProperties: false,
      credentialsWithUsageVerify: true,
      credentialsWithUsageSign: false,
      identifierUris: false,
      tokenEncryptionKeyId: true,
    };
    const upsert = await graph(
      e,
      'PATCH',
      "/applications(uniqueName='fields')",
      { displayName: 'fields', notes: 'made by a test', tags: ['a', 'b'], servicePrincipalLockConfiguration: lock },
      { Prefer: 'create-if-missing' },
    );
    assert.is(upsert.status, 201, JSON.stringify(upsert.body));
    const id = String(upsert.body['id']);
    const read = await graph(e, 'GET', `/applications/${id}?$select=notes,tags,servicePrincipalLockConfiguration`);
    assert.equal(read.body, {
      '@odata.context': `${e.urls.graph}/v1.0/$metadata#applications/$entity`,
      notes: 'made by a test',
      tags: ['a', 'b'],
      servicePrincipalLockConfiguration: lock,
    });
    assert.is((await graph(e, 'PATCH', `/applications/${id}`, { notes: null, tags: [], servicePrincipalLockConfiguration: { isEnabled: false } })).status, 204);
    const again = await graph(e, 'GET', `/applications(uniqueName='fields')?$select=id,notes,tags,servicePrincipalLockConfiguration`);
    assert.is(again.body['id'], id);
    assert.is(again.body['notes'], null);
    assert.equal(again.body['tags'], []);
    assert.equal(again.body['servicePrincipalLockConfiguration'], {
      ...lock,
      isEnabled: false,
      credentialsWithUsageVerify: false,
      tokenEncryptionKeyId: false,
    });
    assert.is((await graph(e, 'PATCH', `/applications/${id}`, { tags: 'x' })).status, 400);
    const unknown = await graph(e, 'GET', `/applications/${id}?$select=nope`);
    assert.is(unknown.status, 400);
    assert.match(String(errorOf(unknown)['message']), "Could not find a property named 'nope'");
  });
});

test('a locked service principal refuses addPassword and addKey; unlocked, it takes them', async () => {
  await withEmulator({}, async (e) => {
    const app = await newApp(e);
    const sp = await graph(e, 'POST', '/servicePrincipals', { appId: app.appId });
    assert.is(sp.status, 201);
    const spId = String(sp.body['id']);
    const key = { keyCredential: { type: 'AsymmetricX509Cert', usage: 'Verify', key: 'TUlJQw==' }, proof: 'eyJ0' };
    const password = { passwordCredential: { displayName: 'sp secret' } };
    const lockWith = (flags: Record<string, boolean>) =>
      graph(e, 'PATCH', `/applications/${app.id}`, { servicePrincipalLockConfiguration: { isEnabled: true, ...flags } });

    await lockWith({ allProperties: true });
    for (const [action, body, property] of [
      ['addPassword', password, 'passwordCredentials'],
      ['addKey', key, 'keyCredentials'],
    ] as const) {
      const refused = await graph(e, 'POST', `/servicePrincipals/${spId}/${action}`, body);
      assert.is(refused.status, 400, action);
      assert.equal([errorOf(refused)['code'], errorOf(refused)['message']], ['CannotUpdateLockedServicePrincipalProperty', `Property ${property} is invalid.`]);
    }
    await lockWith({ credentialsWithUsageSign: true });
    assert.is((await graph(e, 'POST', `/servicePrincipals/${spId}/addKey`, key)).status, 200, 'a Sign lock leaves Verify keys free');
    await lockWith({ credentialsWithUsageVerify: true });
    assert.is((await graph(e, 'POST', `/servicePrincipals/${spId}/addPassword`, password)).status, 400, 'a password is a Verify credential');

    await graph(e, 'PATCH', `/applications/${app.id}`, { servicePrincipalLockConfiguration: { isEnabled: false, allProperties: true } });
    const added = await graph(e, 'POST', `/servicePrincipals/${spId}/addPassword`, password);
    assert.is(added.status, 200);
    assert.is(String(added.body['secretText']).length, 40);
    const listed = await graph(e, 'GET', `/servicePrincipals/${spId}?$select=passwordCredentials`);
    assert.equal(
      (listed.body['passwordCredentials'] as Array<Record<string, unknown>>).map((p) => [p['keyId'], p['secretText']]),
      [[added.body['keyId'], null]],
    );
    // The application's own secrets are not the service principal's: the lock does not touch them.
    await lockWith({ allProperties: true });
    assert.is((await addPassword(e, app.id, 1)).status, 200);
  });
});

test('each request records the ids its answer carried: Graph headers and innerError, ARM headers, Spot envelope, faults too', async () => {
  await withEmulator({}, async (e) => {
    const last = () => e.requests.at(-1)!;
    const missing = await graph(e, 'GET', '/applications/00000000-0000-0000-0000-000000000001', undefined, { 'client-request-id': 'mine-1' });
    assert.is(missing.status, 404);
    const inner = errorOf(missing)['innerError'] as Record<string, unknown>;
    assert.equal(last().ids, { 'request-id': missing.headers.get('request-id'), 'client-request-id': 'mine-1' });
    assert.equal([inner['request-id'], inner['client-request-id']], [missing.headers.get('request-id'), 'mine-1']);

    e.faults.add({ api: 'graph', method: 'GET', status: 503 });
    const fault = await graph(e, 'GET', '/organization');
    assert.is(fault.status, 503);
    assert.is((errorOf(fault)['innerError'] as Record<string, unknown>)['request-id'], fault.headers.get('request-id'));
    assert.is(last().ids!['request-id'], fault.headers.get('request-id'));

    const arm = await call(`${e.urls.arm}/subscriptions?api-version=2022-12-01`, await token(e, e.urls.arm), 'GET');
    assert.is(arm.status, 200);
    assert.equal(last().ids, {
      'x-ms-request-id': arm.headers.get('x-ms-request-id'),
      'x-ms-correlation-request-id': arm.headers.get('x-ms-correlation-request-id'),
    });

    const spotUrl = `${e.urls.spot}/setup/account`;
    const spot = await call(spotUrl, e.env.SPOTINST_TOKEN!, 'GET');
    assert.equal(last().ids, { 'request.id': (spot.body['request'] as Record<string, unknown>)['id'] });
    e.faults.add({ api: 'spot', status: 500 });
    const spotFault = await call(spotUrl, e.env.SPOTINST_TOKEN!, 'GET');
    assert.is(spotFault.status, 500);
    assert.equal(last().ids, { 'request.id': (spotFault.body['request'] as Record<string, unknown>)['id'] });
  });
});

/** An app with a service principal and a password, and a way to hand them to Spot; `assign` gives it Contributor first. */
async function linkable(e: Emulator, assign = true): Promise<{ link: () => Promise<Answer>; appId: string; spId: string }> {
  const app = await newApp(e);
  await graph(e, 'POST', '/servicePrincipals', { appId: app.appId });
  const password = await addPassword(e, app.id, 6);
  const sp = e.store.spByAppId(app.appId)!;
  const subscriptionId = e.env.AZURE_SUBSCRIPTION_ID!;
  if (assign) e.store.addAssignment({ scope: `/subscriptions/${subscriptionId}`, subscriptionId, role: 'Contributor', principalId: sp.id, now: Date.now() });
  const link = () =>
    call(`${e.urls.spot}/azure/setup/credentials?accountId=${e.env.SPOTINST_ACCOUNT}`, e.env.SPOTINST_TOKEN!, 'POST', {
      clientId: app.appId,
      clientSecret: password.body['secretText'],
      tenantId: e.env.AZURE_TENANT_ID,
      subscriptionId,
      expirationDate: password.body['endDateTime'],
    });
  return { link, appId: app.appId, spId: sp.id };
}

function spotErrors(answer: Answer): unknown {
  return (answer.body['response'] as Record<string, unknown>)['errors'];
}

test('Spot refuses credentials with AuthorizationFailed until RBAC has caught up with the role assignment, or forever without one', async () => {
  const refusal = (appId: string, spId: string, e: Emulator) => [
    {
      code: 'AuthorizationFailed',
      message: `The client '${appId}' with object id '${spId}' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read' over scope '/subscriptions/${e.env.AZURE_SUBSCRIPTION_ID}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    },
  ];
  await withEmulator({ lag: { spotRbacRefusals: 2 } }, async (e) => {
    const { link, appId, spId } = await linkable(e);
    for (let i = 0; i < 2; i++) {
      const refused = await link();
      assert.is(refused.status, 400);
      assert.equal(spotErrors(refused), refusal(appId, spId, e));
    }
    assert.is((await link()).status, 200);
    assert.is(e.store.spot.credentials.get(e.env.SPOTINST_ACCOUNT!)?.clientId, appId);
  });
  await withEmulator({ lag: { spotRbacMs: 600_000 } }, async (e) => {
    const { link } = await linkable(e);
    assert.is((await link()).status, 400);
    e.lag.spotRbacMs = 0;
    assert.is((await link()).status, 200);
  });
  await withEmulator({}, async (e) => {
    const { link, appId, spId } = await linkable(e, false);
    for (let i = 0; i < 3; i++) assert.equal(spotErrors(await link()), refusal(appId, spId, e));
  });
});

test('an injected 500 on POST /azure/setup/credentials is answered once; the retry gets the 200', async () => {
  await withEmulator({}, async (e) => {
    const { link } = await linkable(e);
    e.faults.add({ api: 'spot', method: 'POST', path: /^\/azure\/setup\/credentials\?/, status: 500, times: 1 });
    assert.is((await link()).status, 500);
    assert.is((await link()).status, 200);
  });
});

test.run();
