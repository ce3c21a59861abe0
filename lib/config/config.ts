import { join, resolve } from 'node:path';
import { CREDENTIAL_SOURCE_CHOICES, isCredentialSourceChoice } from '../clients/credential.ts';
import { UsageError } from '../core/errors.ts';
import { CLOUD_NAMES, CLOUDS, type CloudName } from '../domain/clouds.ts';
import { ACCOUNT_ID, GUID } from '../domain/ids.ts';
import { readEnvFile } from './env-file.ts';
import { MAX_CONCURRENCY, OPTIONS, type OptionName, type OptionSpec, type OptionTable, type ParsedValues, parseOptions } from './options.ts';

const SPOT_API = 'https://api.spotinst.io';
/** Entra ID accepts client secrets of up to 24 months through its portal; longer ones are a policy risk. */
const MAX_SECRET_MONTHS = 24;
/** Graph does not publish a displayName limit for applications; 120 keeps portal lists readable. */
const MAX_APP_NAME = 120;
/** Where state files live unless --state-dir or --state says otherwise: one per Spot account, in the directory the tool is run from. */
export const DEFAULT_STATE_DIR = '.spot-azure-onboard';
/** The fleet record beside the links' state files (lib/commands/provision/fleet.ts); not a link's state. */
/** Ten years: a longer --if-expiring-within is a typo, not a schedule. */
const MAX_EXPIRY_DAYS = 3650;

/** The chosen cloud's endpoints and Spot's; each can be overridden from the environment (a proxy, the test emulator). */
export interface Endpoints {
  authorityHost: string;
  arm: string;
  graph: string;
  spot: string;
}

export interface Config {
  accountId?: string;
  /** --account-id was given (not only SPOTINST_ACCOUNT): it wins over the account a --state file records. */
  accountIdFlagged: boolean;
  /** The one subscription to link; unset when several are given (fleet mode). */
  subscriptionId?: string;
  /** Every --subscription given (or AZURE_SUBSCRIPTION_ID), de-duplicated. */
  subscriptionIds: string[];
  /** --all-subscriptions: every Enabled subscription the identity can see. */
  allSubscriptions: boolean;
  /** Several subscriptions, each linked to its own Spot account (lib/commands/fleet.ts). */
  fleet: boolean;
  /** Fleet mode: create a Spot account for a subscription that has none. */
  createAccounts: boolean;
  /** Fleet mode: how many subscriptions are provisioned at once. */
  concurrency: number;
  cloud: CloudName;
  /** The role to assign: a role name, a role definition GUID or id, or `spot-minimal`. */
  role: string;
  /** --role was given: a re-run of a link that holds another role moves it to this one. */
  roleExplicit: boolean;
  /** --relink: an account linked to another subscription may be moved to this one. */
  relink: boolean;
  tenantId?: string;
  /** AZURE_CLIENT_ID when it names a public client: the one a device code sign-in goes through (the Azure CLI's when unset). */
  clientId?: string;
  /** --device-code: sign in with a device code in a browser instead of DefaultAzureCredential. */
  deviceCode: boolean;
  /** The --audit-log file, resolved. */
  auditLogPath?: string;
  /** The --state path, resolved; without it the state lives at `statePathFor`. */
  statePath?: string;
  /** --state-dir, resolved: where each link's `<account-id>.json` and fleet.jsonl live. */
  stateDir: string;
  /** --all (status, rotate-secret): every link recorded in the state directory. */
  all: boolean;
  /** --if-expiring-within: rotate only a secret that ends within this many days. */
  expiringWithinDays?: number;
  cwd: string;
  appName?: string;
  secretExpiryMonths: number;
  /** --secret-expiry was given: a policy that allows less stops the run instead of shortening it. */
  secretExpiryExplicit: boolean;
  maxWaitSeconds: number;
  /** --yes was given: go ahead without asking, destructive scripts included. */
  assumeYes: boolean;
  /** Prompts are allowed: stdin is a terminal and --yes was not given. */
  interactive: boolean;
  /** deprovision only: delete the Spot account too. */
  deleteSpotAccount: boolean;
  json: boolean;
  /** Show the plan and change nothing. */
  dryRun: boolean;
  /** Plain, timestamped progress lines even on a terminal (--no-color or NO_COLOR). */
  plain: boolean;
  verbose: boolean;
  help: boolean;
  spotToken?: string;
  /** AZURE_TOKEN_CREDENTIALS: which sources DefaultAzureCredential tries (it reads the variable itself). */
  credentialSources?: string;
  endpoints: Endpoints;
  /** Things worth saying before the run starts (they do not stop it). */
  warnings: string[];
  /**
   * Variables the env file supplies and the real environment lacks. The Azure SDK reads its own
   * variables (AZURE_CLIENT_ID, AZURE_TOKEN_CREDENTIALS…) from process.env, so the script's edge
   * copies these there, as `process.loadEnvFile` would.
   */
  fromEnvFile: Readonly<Record<string, string>>;
}

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  stdinIsTTY: boolean;
}

/** What every section of loadConfig reads from, and where it reports. */
interface Inputs {
  /** A flag's value; a string option without a value (`--subscription` last, `--app-name ''`) is a problem, not a value. */
  flag(name: OptionName): string | undefined;
  /** Every value of a repeatable flag, trimmed, blanks dropped. */
  flags(name: OptionName): string[];
  /** A boolean flag. */
  given(name: OptionName): boolean;
  /** Flag, then its environment variable, then its default. */
  pick(name: OptionName): string | undefined;
  /** The real environment with the env file's additions. */
  env: Record<string, string | undefined>;
  accepted: OptionTable;
  problems: string[];
}

/**
 * Flags, then environment (real, then the .env file), then defaults; all problems reported together.
 * `accepted` is the script's own option table: only its flags are parsed; the rest come from env or defaults.
 */
export function loadConfig({ argv, env: realEnv, cwd, stdinIsTTY }: ConfigSources, accepted: OptionTable = OPTIONS): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const values = parseOptions(argv, accepted, problems);
  const envFile = flagOf(values, 'dotenv');
  const fromEnvFile = readEnvFile(realEnv, resolve(cwd, envFile ?? '.env'), envFile !== undefined, { problems, warnings });
  const inputs = inputsFrom(values, { ...realEnv, ...fromEnvFile }, accepted, problems);

  const spot = spotSection(inputs);
  const subscriptions = subscriptionSection(inputs);
  const azure = azureSection(inputs);
  const link = linkSection(inputs);
  const modes = modeSection(inputs, stdinIsTTY);
  const state = stateSection(inputs, cwd);
  // Provisioning (the command that takes --subscription) needs the account: guided mode asks for it, and
  // without a terminal it is one more problem to report with the rest. The day-two commands read it
  // from the state file.
  if (spot.accountId === undefined && !subscriptions.fleet && !modes.interactive && 'subscription' in accepted) {
    problems.push('No Spot account given: pass --account-id act-… or set SPOTINST_ACCOUNT (Spot console → Settings → Account shows the id).');
  }
  if (problems.length > 0 && !modes.help) throw new UsageError(problems);

  const auditLog = inputs.flag('audit-log');
  return Object.freeze({
    ...spot,
    // In fleet mode each subscription's account is found or created, and --all reads each from its
    // state file; SPOTINST_ACCOUNT names none of them.
    accountId: subscriptions.fleet || state.all ? undefined : spot.accountId,
    ...subscriptions,
    ...azure,
    ...link,
    ...modes,
    ...state,
    auditLogPath: auditLog === undefined ? undefined : resolve(cwd, auditLog),
    cwd,
    warnings,
    fromEnvFile: Object.freeze(fromEnvFile),
  });
}

/** One state file per Spot account, in the state directory, unless --state names it. */
export function statePathFor(config: Pick<Config, 'statePath' | 'stateDir'>, accountId: string): string {
  return config.statePath ?? join(config.stateDir, `${accountId}.json`);
}

/** The directory of the state files that are not named with --state (and of fleet.jsonl). */
export function stateDirOf(config: Pick<Config, 'stateDir'>): string {
  return config.stateDir;
}

function stateSection({ flag, given, problems }: Inputs, cwd: string) {
  const all = given('all');
  if (all) {
    const single = (['account-id', 'state'] as const).filter((name) => flag(name) !== undefined);
    if (single.length > 0) {
      const names = single.map((n) => `--${n}`).join(' and ');
      problems.push(`--all covers every link in the state directory, but ${names} name${single.length === 1 ? 's' : ''} one. Drop ${names}, or drop --all.`);
    }
  }
  const within = flag('if-expiring-within');
  const statePath = flag('state');
  return {
    all,
    expiringWithinDays: within === undefined ? undefined : wholeNumber(within, '--if-expiring-within', 0, MAX_EXPIRY_DAYS, problems),
    statePath: statePath === undefined ? undefined : resolve(cwd, statePath),
    stateDir: resolve(cwd, flag('state-dir') ?? DEFAULT_STATE_DIR),
  };
}

function spotSection({ flag, pick, env, problems }: Inputs) {
  const accountId = nonEmpty(pick('account-id'));
  const accountIdFlagged = flag('account-id') !== undefined;
  if (accountId !== undefined && !ACCOUNT_ID.test(accountId)) {
    problems.push(`Spot account id "${accountId}" is malformed: it is "act-" followed by 8 hex digits, e.g. act-1234abcd (Spot console → Settings → Account).`);
  }
  const spotToken = nonEmpty(env.SPOTINST_TOKEN);
  return { accountId, accountIdFlagged, spotToken };
}

function subscriptionSection({ flag, flags, given, pick, env, problems }: Inputs) {
  const allSubscriptions = given('all-subscriptions');
  const subscriptionFlags = flags('subscription');
  if (allSubscriptions && subscriptionFlags.length > 0) {
    problems.push('--all-subscriptions and --subscription cannot be combined: drop one (repeat --subscription to name several).');
  }
  const envSubscription = nonEmpty(env[OPTIONS.subscription.env]);
  const subscriptionIds = allSubscriptions ? [] : unique(subscriptionFlags.length > 0 ? subscriptionFlags : envSubscription ? [envSubscription] : []);
  for (const id of subscriptionIds) {
    if (!GUID.test(id)) problems.push(`Subscription id "${id}" is not a GUID (az account list --query "[].id" lists yours).`);
  }
  const fleet = allSubscriptions || subscriptionIds.length > 1;
  const createAccounts = given('create-accounts');
  if (fleet) {
    const single = (['account-id', 'state', 'app-name'] as const).filter((name) => flag(name) !== undefined);
    if (single.length > 0) {
      const names = single.map((n) => `--${n}`).join(', ');
      problems.push(
        `${names} name${single.length === 1 ? 's' : ''} one Spot account's link, but several subscriptions were given: each is linked to its own Spot account (the one whose providerExternalId is the subscription, or a new one with --create-accounts), with its own state file and application. Drop ${names}, or give one --subscription.`,
      );
    }
  } else if (createAccounts) {
    problems.push(
      '--create-accounts works with several subscriptions (--all-subscriptions, or --subscription more than once); for one subscription pass the Spot account with --account-id.',
    );
  }
  const concurrency = wholeNumber(pick('concurrency'), '--concurrency', 1, MAX_CONCURRENCY, problems);
  return {
    subscriptionId: subscriptionIds.length === 1 ? subscriptionIds[0] : undefined,
    subscriptionIds,
    allSubscriptions,
    fleet,
    createAccounts,
    concurrency,
  };
}

function azureSection({ flag, given, env, problems }: Inputs) {
  const cloudFlag = flag('cloud') ?? OPTIONS.cloud.default;
  const cloud = CLOUD_NAMES.find((name) => name.toLowerCase() === cloudFlag.toLowerCase());
  if (!cloud) problems.push(`--cloud "${cloudFlag}" is not one of: ${CLOUD_NAMES.join(', ')} (az cloud show --query name shows yours).`);
  const tenantId = nonEmpty(env.AZURE_TENANT_ID);
  if (tenantId !== undefined && !GUID.test(tenantId)) {
    problems.push(`AZURE_TENANT_ID "${tenantId}" is not a GUID (az account show --query tenantId shows yours).`);
  }
  const credentialSources = nonEmpty(env.AZURE_TOKEN_CREDENTIALS);
  if (credentialSources !== undefined && !isCredentialSourceChoice(credentialSources)) {
    problems.push(`AZURE_TOKEN_CREDENTIALS "${credentialSources}" is not one of: ${CREDENTIAL_SOURCE_CHOICES.join(', ')} (or unset it to try them all).`);
  }
  const cloudEndpoints = CLOUDS[cloud ?? 'AzurePublicCloud'];
  const endpoints: Endpoints = {
    authorityHost: endpoint(env.AZURE_AUTHORITY_HOST, cloudEndpoints.authorityHost, 'AZURE_AUTHORITY_HOST', problems),
    arm: endpoint(env.AZURE_ARM_ENDPOINT, cloudEndpoints.arm, 'AZURE_ARM_ENDPOINT', problems),
    graph: endpoint(env.AZURE_GRAPH_ENDPOINT, cloudEndpoints.graph, 'AZURE_GRAPH_ENDPOINT', problems),
    spot: endpoint(env.SPOTINST_BASE_URL, SPOT_API, 'SPOTINST_BASE_URL', problems),
  };
  return {
    cloud: cloud ?? 'AzurePublicCloud',
    tenantId,
    // With a secret or certificate beside it, AZURE_CLIENT_ID names a confidential app, which cannot run
    // a device code sign-in; then the Azure CLI's public client is used.
    clientId: nonEmpty(env.AZURE_CLIENT_SECRET) || nonEmpty(env.AZURE_CLIENT_CERTIFICATE_PATH) ? undefined : nonEmpty(env.AZURE_CLIENT_ID),
    deviceCode: given('device-code'),
    credentialSources,
    endpoints: Object.freeze(endpoints),
  };
}

function linkSection({ flag, given, pick, problems }: Inputs) {
  const role = (flag('role') ?? OPTIONS.role.default).trim();
  if (role === '') problems.push('--role must name a role (e.g. Contributor), a role definition id, or spot-minimal.');
  const appName = flag('app-name');
  if (appName !== undefined && (appName.trim() === '' || appName.length > MAX_APP_NAME)) {
    problems.push(`--app-name must be 1 to ${MAX_APP_NAME} characters${appName.trim() === '' ? ', not blank' : ` (got ${appName.length})`}.`);
  }
  return {
    role,
    roleExplicit: flag('role') !== undefined,
    relink: given('relink'),
    appName: appName?.trim(),
    secretExpiryMonths: wholeNumber(pick('secret-expiry'), '--secret-expiry', 1, MAX_SECRET_MONTHS, problems),
    secretExpiryExplicit: flag('secret-expiry') !== undefined,
    maxWaitSeconds: wholeNumber(pick('max-wait'), '--max-wait', 0, 3600, problems),
    deleteSpotAccount: given('delete-spot-account'),
  };
}

function modeSection({ given, env }: Inputs, stdinIsTTY: boolean) {
  const assumeYes = given('yes');
  return {
    assumeYes,
    interactive: stdinIsTTY && !assumeYes,
    json: given('json'),
    dryRun: given('dry-run'),
    // no-color.org: any non-empty NO_COLOR turns colour and animation off.
    plain: given('no-color') || nonEmpty(env.NO_COLOR) !== undefined,
    verbose: given('verbose'),
    help: given('help'),
  };
}

function inputsFrom(values: ParsedValues, env: Record<string, string | undefined>, accepted: OptionTable, problems: string[]): Inputs {
  const flag = (name: OptionName) => flagOf(values, name);
  return {
    flag,
    flags: (name) =>
      [values[name]]
        .flat()
        .filter((v): v is string => typeof v === 'string')
        .map((v) => v.trim())
        .filter(Boolean),
    given: (name) => values[name] === true,
    pick: (name) => {
      const spec: OptionSpec = OPTIONS[name];
      return flag(name) ?? (spec.env ? env[spec.env] : undefined) ?? spec.default;
    },
    env,
    accepted,
    problems,
  };
}

function flagOf(values: ParsedValues, name: OptionName): string | undefined {
  const value = values[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Subscription ids are GUIDs: the same one in another case is the same subscription. */
function unique(ids: string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => !seen.has(id.toLowerCase()) && seen.add(id.toLowerCase()));
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function wholeNumber(raw: string | undefined, name: string, min: number, max: number, problems: string[]): number {
  const value = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw.trim()) || value < min || value > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw ?? ''}").`);
    return min;
  }
  return value;
}

function endpoint(raw: string | undefined, fallback: string, name: string, problems: string[]): string {
  const value = nonEmpty(raw) ?? fallback;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:') problems.push(`${name} must be an https:// address (got ${value}).`);
  } catch {
    problems.push(`${name} is not a URL (got ${value}).`);
  }
  return value.replace(/\/+$/, '');
}
