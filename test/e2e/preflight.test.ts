import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Emulator, type EmulatorOptions, startEmulator } from '../emulator/server.ts';
import { type CliRun, cliEnv, runCli, workdir } from './cli.ts';

// Every row is a mistake a user makes, or an Azure/Spot condition that must stop the run: the real CLI
// against its own emulator, the exit code, a fragment of the message, and proof that nothing changed.

type Of<T> = T | ((emulator: Emulator) => T);

interface Outcome {
  run: CliRun;
  emulator: Emulator;
  env: Record<string, string>;
}

interface Row {
  name: string;
  seed?: Partial<EmulatorOptions>;
  args?: Of<string[]>;
  /** Merged over the emulator's environment; undefined removes a variable. */
  env?: Of<Record<string, string | undefined>>;
  /** Faults or store changes before the run. */
  arrange?: (emulator: Emulator) => void;
  code: number;
  says: Of<string[]>;
  /** Checks beyond the message fragments. */
  also?: (outcome: Outcome) => void;
}

const of = <T>(value: Of<T> | undefined, emulator: Emulator, fallback: T): T =>
  value === undefined ? fallback : typeof value === 'function' ? (value as (e: Emulator) => T)(emulator) : value;

const secretLike = () => randomBytes(24).toString('hex');
const wrongToken = secretLike();
const wrongClientSecret = secretLike();
const strangerAccount = 'act-0000beef';
const unknownTenant = randomUUID();

/** The ids of the emulator's subscriptions, by display name. */
const subscriptionId = (emulator: Emulator, name: string) => emulator.store.subscriptions.find((s) => s.displayName === name)!.subscriptionId;

const usage: Row[] = [
  {
    name: 'a malformed Spot account id',
    args: ['--account-id', 'act-12345'],
    code: 2,
    says: ['Spot account id "act-12345" is malformed: it is "act-" followed by 8 hex digits'],
  },
  {
    name: 'a Spot account id with a non-hex digit, from the environment',
    env: { SPOTINST_ACCOUNT: 'act-1234abcz' },
    code: 2,
    says: ['Spot account id "act-1234abcz" is malformed'],
  },
  {
    name: 'a subscription id that is not a GUID',
    args: ['--subscription', 'my-subscription'],
    code: 2,
    says: ['Subscription id "my-subscription" is not a GUID', 'az account list'],
  },
  {
    name: 'a tenant id that is not a GUID',
    env: { AZURE_TENANT_ID: 'contoso' },
    code: 2,
    says: ['AZURE_TENANT_ID "contoso" is not a GUID'],
  },
  {
    name: 'a credential source DefaultAzureCredential does not know',
    env: { AZURE_TOKEN_CREDENTIALS: 'AzureCli' },
    code: 2,
    says: ['AZURE_TOKEN_CREDENTIALS "AzureCli" is not one of: prod, dev, EnvironmentCredential'],
  },
  {
    name: 'a secret expiry of zero months',
    args: ['--secret-expiry', '0'],
    code: 2,
    says: ['--secret-expiry must be a whole number from 1 to 24 (got "0")'],
  },
  {
    name: 'a secret expiry beyond what Entra ID allows',
    args: ['--secret-expiry', '25'],
    code: 2,
    says: ['--secret-expiry must be a whole number from 1 to 24 (got "25")'],
  },
  {
    name: 'a fractional secret expiry',
    args: ['--secret-expiry', '1.5'],
    code: 2,
    says: ['--secret-expiry must be a whole number from 1 to 24 (got "1.5")'],
  },
  {
    name: 'a blank app name',
    args: ['--app-name', '   '],
    code: 2,
    says: ['--app-name must be 1 to 120 characters, not blank'],
  },
  {
    name: 'an app name over the length limit',
    args: ['--app-name', 'x'.repeat(121)],
    code: 2,
    says: ['--app-name must be 1 to 120 characters (got 121)'],
  },
  {
    name: 'a misspelt option, with the closest valid one suggested',
    args: ['--acount-id', 'act-1234abcd'],
    code: 2,
    says: ['Unknown option --acount-id (did you mean --account-id?)', '--help'],
  },
  {
    name: 'another misspelt option',
    args: ['--secret-expiri', '6'],
    code: 2,
    says: ['Unknown option --secret-expiri (did you mean --secret-expiry?)'],
  },
  {
    name: 'an option without its value',
    args: ['--subscription'],
    code: 2,
    says: ['--subscription needs a value'],
  },
  {
    name: 'every input problem at once',
    args: ['--account-id', 'act-XYZ', '--subscription', 'nope', '--secret-expiry', '99', '--app-name', '', '--dry-runn'],
    env: { AZURE_TENANT_ID: 'not-a-guid' },
    code: 2,
    says: [
      '"act-XYZ" is malformed',
      '"nope" is not a GUID',
      '--secret-expiry must be',
      '--app-name needs a value',
      'AZURE_TENANT_ID "not-a-guid"',
      'Unknown option --dry-runn',
    ],
    also: ({ run }) => assert.is(run.stderr.match(/^ {2}- /gm)?.length, 6, `each problem once:\n${run.stderr}`),
  },
  {
    name: 'no Spot account at all',
    env: { SPOTINST_ACCOUNT: undefined },
    code: 2,
    says: ['No Spot account given', '--account-id'],
  },
];

const preflight: Row[] = [
  {
    name: 'no Spot token, before any request is sent',
    env: { SPOTINST_TOKEN: undefined, AZURE_CLIENT_SECRET: wrongClientSecret },
    code: 1,
    says: ['SPOTINST_TOKEN is not set', 'Permanent Tokens', 'Organization Admin'],
    also: ({ emulator }) =>
      assert.equal(
        emulator.requests.map((r) => `${r.api} ${r.method} ${r.path}`),
        [],
        'a request went out without a Spot token',
      ),
  },
  {
    name: 'a Spot token the API rejects (401)',
    env: { SPOTINST_TOKEN: wrongToken },
    code: 1,
    says: ['token is invalid or expired', 'Permanent Tokens'],
  },
  {
    name: 'a Spot token without the right to list accounts (403)',
    arrange: (e) => e.faults.add({ api: 'spot', method: 'GET', path: /^\/setup\/account/, status: 403 }),
    code: 1,
    says: ['not an Organization Admin token'],
  },
  {
    name: "a Spot account outside the token's organization, listing the ones it can see",
    seed: { accounts: [{ name: 'prod' }, { name: 'staging' }] },
    env: { SPOTINST_ACCOUNT: strangerAccount },
    code: 1,
    says: (e) => [`Spot account ${strangerAccount} is not in the organization`, ...e.store.spot.accounts.map((a) => `${a.accountId} (${a.name})`)],
  },
  {
    name: 'a Spot account problem before an Azure sign-in problem',
    env: { SPOTINST_ACCOUNT: strangerAccount, AZURE_CLIENT_SECRET: wrongClientSecret },
    code: 1,
    says: [`Spot account ${strangerAccount} is not in the organization`],
  },
  {
    name: 'an Azure client secret Entra ID rejects, naming the sources tried',
    env: { AZURE_CLIENT_SECRET: wrongClientSecret },
    code: 1,
    says: [
      'Azure sign-in failed: AADSTS7000215: Invalid client secret provided.',
      'Sources tried (as AZURE_TOKEN_CREDENTIALS=EnvironmentCredential asks): environment variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET).',
      'Run "az login"',
    ],
  },
  {
    name: 'no Azure credential at all',
    env: { AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined },
    code: 1,
    says: [
      'Azure sign-in failed: EnvironmentCredential is unavailable.',
      'Sources tried (as AZURE_TOKEN_CREDENTIALS=EnvironmentCredential asks): environment variables',
      'Run "az login"',
    ],
  },
  {
    name: 'a tenant that does not exist',
    env: { AZURE_TENANT_ID: unknownTenant },
    code: 1,
    says: [
      "Azure sign-in failed: the tenant's sign-in endpoints could not be resolved",
      'check that AZURE_TENANT_ID names an existing tenant',
      'Run "az login"',
    ],
  },
  {
    name: 'a subscription that does not exist, listing the visible ones with their state',
    seed: { subscriptions: [{ displayName: 'Prod' }, { displayName: 'Old', state: 'Disabled' }] },
    args: () => ['--subscription', '11111111-2222-3333-4444-555555555555'],
    code: 1,
    says: (e) => [
      'Subscription 11111111-2222-3333-4444-555555555555 was not found',
      `Prod (${subscriptionId(e, 'Prod')}, Enabled)`,
      `Old (${subscriptionId(e, 'Old')}, Disabled)`,
      '--subscription',
    ],
  },
  {
    name: 'a disabled subscription',
    seed: { subscriptions: [{ displayName: 'Prod' }, { displayName: 'Old', state: 'Disabled' }] },
    args: (e) => ['--subscription', subscriptionId(e, 'Old')],
    code: 1,
    says: (e) => [`Subscription ${subscriptionId(e, 'Old')} is Disabled, not Enabled`, `Prod (${subscriptionId(e, 'Prod')}, Enabled)`],
  },
  {
    name: 'a subscription the caller has no access to',
    seed: { subscriptions: [{ displayName: 'Prod' }, { displayName: 'Theirs', callerRole: null }] },
    args: (e) => ['--subscription', subscriptionId(e, 'Theirs')],
    code: 1,
    says: (e) => [`Subscription ${subscriptionId(e, 'Theirs')} was not found, or you cannot see it`, `Prod (${subscriptionId(e, 'Prod')}, Enabled)`],
  },
  {
    name: 'no Enabled subscription when none is named',
    seed: { subscriptions: [{ displayName: 'Old', state: 'Disabled' }] },
    env: { AZURE_SUBSCRIPTION_ID: undefined },
    code: 1,
    says: (e) => ['No Enabled subscription is visible', `Old (${subscriptionId(e, 'Old')}, Disabled)`],
  },
  {
    name: 'several Enabled subscriptions when none is named',
    seed: { subscriptions: [{ displayName: 'Prod' }, { displayName: 'Test' }] },
    env: { AZURE_SUBSCRIPTION_ID: undefined },
    code: 1,
    says: ['Several subscriptions are Enabled', 'Prod (', 'Test (', '--subscription'],
  },
  {
    name: 'a Contributor, whose notActions exclude role assignments',
    seed: { callerRole: 'Contributor' },
    code: 1,
    says: ['may not assign roles', 'Microsoft.Authorization/roleAssignments/write', 'Owner or User Access Administrator'],
  },
  {
    name: 'a Reader',
    seed: { callerRole: 'Reader' },
    code: 1,
    says: ['may not assign roles', 'Owner or User Access Administrator'],
  },
  {
    name: 'a Spot error that echoes the token, redacted',
    arrange: (e) =>
      e.faults.add({
        api: 'spot',
        method: 'GET',
        path: /^\/setup\/account/,
        status: 400,
        body: {
          response: {
            status: { code: 400, message: 'Bad Request' },
            errors: [{ code: 'BAD_TOKEN_FORMAT', message: `token ${e.store.spot.token} is malformed` }],
          },
        },
      }),
    code: 1,
    says: ['BAD_TOKEN_FORMAT', 'token *** is malformed', 'Fix what the message names'],
  },
  {
    name: 'an ARM error that echoes the client secret, redacted even with --verbose',
    args: ['--verbose'],
    arrange: (e) =>
      e.faults.add({
        api: 'arm',
        method: 'GET',
        path: /\/subscriptions\/[^/]+\?/,
        status: 400,
        body: { error: { code: 'BadRequest', message: `client secret ${e.store.caller.clientSecret} is not acceptable` } },
      }),
    code: 1,
    says: ['BadRequest', 'client secret *** is not acceptable', 'Fix what the message names'],
  },
];

// Failures only the mutating call reveals: the app exists by then, so check the hint and that no secret leaked.
const revealedByChange: Row[] = [
  {
    name: 'app registration denied to users (Graph 403 Authorization_RequestDenied)',
    seed: { graphAppRegistrationAllowed: false },
    code: 1,
    says: ['You may not register applications', 'Users can register applications', 'Application Developer'],
    also: ({ emulator }) => assert.is(emulator.store.applications.length, 0),
  },
  {
    name: 'addPassword refused for its lifetime by a policy the caller could not read (CredentialInvalidLifetimeAsPerAppPolicy)',
    seed: {
      policyReadAllowed: false,
      appManagementPolicy: {
        isEnabled: true,
        applicationRestrictions: { passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: 'P90D' }] },
      },
    },
    code: 1,
    says: ['CredentialInvalidLifetimeAsPerAppPolicy', 'shorter --secret-expiry (now 12 months)', "the tenant's could not be read"],
    also: ({ emulator }) =>
      assert.equal(
        emulator.store.applications.map((a) => a.passwordCredentials.length),
        [0],
      ),
  },
  {
    name: 'addPassword refused by a policy that forbids secrets, which the caller could not read (CredentialTypeNotAllowedAsPerAppPolicy)',
    seed: {
      policyReadAllowed: false,
      appManagementPolicy: { isEnabled: true, applicationRestrictions: { passwordCredentials: [{ restrictionType: 'passwordAddition', state: 'enabled' }] } },
    },
    code: 1,
    says: ['Credential type not allowed', 'forbids client secrets on this application', 'exempt this application'],
    also: ({ emulator }) =>
      assert.equal(
        emulator.store.applications.map((a) => a.passwordCredentials.length),
        [0],
      ),
  },
  {
    name: 'Spot refusing the credentials (400 with errors), echoing the token',
    arrange: (e) =>
      e.faults.add({
        api: 'spot',
        method: 'POST',
        path: /^\/azure\/setup\/credentials\?/,
        status: 400,
        body: {
          request: { id: 'fault' },
          response: {
            status: { code: 400, message: 'Bad Request' },
            errors: [{ code: 'SUBSCRIPTION_ALREADY_LINKED', message: `Subscription is linked to another account (token ${e.store.spot.token})` }],
          },
        },
      }),
    code: 1,
    says: ['SUBSCRIPTION_ALREADY_LINKED', 'Subscription is linked to another account (token ***)', 'Spot refused the credentials: fix what its message names'],
    also: ({ emulator }) => assert.is(emulator.store.spot.credentials.size, 0),
  },
];

/** The secrets of a run: whatever SPOTINST_TOKEN and AZURE_CLIENT_SECRET were, and the emulator's own. */
function secretsOf(emulator: Emulator, env: Record<string, string>): string[] {
  const app = emulator.store.applications.flatMap((a) => a.passwordCredentials.map((p) => p.secretText));
  return [emulator.store.spot.token, emulator.store.caller.clientSecret, env.SPOTINST_TOKEN, env.AZURE_CLIENT_SECRET, ...app].filter(
    (s): s is string => s !== undefined,
  );
}

async function play(row: Row): Promise<Outcome> {
  const emulator = await startEmulator(row.seed);
  try {
    row.arrange?.(emulator);
    const env = cliEnv(emulator, of(row.env, emulator, {}));
    emulator.resetCounters();
    const run = await runCli('provision.ts', of(row.args, emulator, []), { env, cwd: workdir() });
    return { run, emulator, env };
  } finally {
    await emulator.close();
  }
}

function assertOutcome(row: Row, outcome: Outcome): void {
  const { run, emulator, env } = outcome;
  const output = `${run.stdout}\n${run.stderr}`;
  assert.is(run.code, row.code, `exit code\n${output}`);
  for (const fragment of of(row.says, emulator, [])) assert.ok(run.stderr.includes(fragment), `missing "${fragment}" in:\n${run.stderr}`);
  for (const secret of secretsOf(emulator, env)) assert.not.ok(output.includes(secret), `a secret was printed:\n${output}`);
  const verbose = of(row.args, emulator, []).includes('--verbose');
  row.also?.(outcome);
  assert.is(/^\s+at /m.test(run.stderr), verbose, verbose ? 'no stack trace with --verbose' : `a stack trace without --verbose:\n${run.stderr}`);
}

// Rows share nothing, so they run two at a time: each is mostly a process start-up.
const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
const outcomes = new Map<Row, Promise<Outcome>>();
function schedule(rows: Row[]): void {
  for (const row of rows) {
    const lane = outcomes.size % lanes.length;
    const outcome = lanes[lane]!.then(() => play(row));
    outcomes.set(row, outcome);
    lanes[lane] = outcome.catch(() => {});
  }
}

// Started with this suite, not on import: uvu imports every test file before running any.
test.before(() => schedule([...usage, ...preflight, ...revealedByChange]));

for (const row of usage) {
  test(`stops with a usage error on ${row.name}, before any request`, async () => {
    const outcome = await outcomes.get(row)!;
    assertOutcome(row, outcome);
    assert.equal(
      outcome.emulator.requests.map((r) => `${r.api} ${r.method} ${r.path}`),
      [],
      'a usage error sent a request',
    );
  });
}

for (const row of preflight) {
  test(`stops before any change on ${row.name}`, async () => {
    const outcome = await outcomes.get(row)!;
    assertOutcome(row, outcome);
    assert.equal(outcome.emulator.mutating(), [], 'preflight let a change through');
  });
}

for (const row of revealedByChange) {
  test(`explains ${row.name}`, async () => {
    assertOutcome(row, await outcomes.get(row)!);
  });
}

test.run();
