import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
import { CREDENTIAL_SOURCE_CHOICES, isCredentialSourceChoice } from '../clients/credential.ts';
import { UsageError } from '../core/errors.ts';
import { CLOUD_NAMES, CLOUDS, type CloudName } from '../domain/clouds.ts';

const SPOT_API = 'https://api.spotinst.io';

/** The chosen cloud's endpoints and Spot's; each can be overridden from the environment (a proxy, the test emulator). */
export interface Endpoints {
  authorityHost: string;
  arm: string;
  graph: string;
  spot: string;
}

export interface Config {
  accountId?: string;
  /** The one subscription to link; unset when several are given (fleet mode). */
  subscriptionId?: string;
  /** Every --subscription given (or AZURE_SUBSCRIPTION_ID), de-duplicated. */
  subscriptionIds: string[];
  /** --all-subscriptions: every Enabled subscription the identity can see. */
  allSubscriptions: boolean;
  /** Several subscriptions, each linked to its own Spot account (lib/fleet.ts). */
  fleet: boolean;
  /** Fleet mode: create a Spot account for a subscription that has none. */
  createAccounts: boolean;
  /** Fleet mode: how many subscriptions are provisioned at once. */
  concurrency: number;
  cloud: CloudName;
  /** The role to assign: a role name, a role definition GUID or id, or `spot-minimal`. */
  role: string;
  tenantId?: string;
  /** AZURE_CLIENT_ID when it names a public client: the one a device code sign-in goes through (the Azure CLI's when unset). */
  clientId?: string;
  /** --device-code: sign in with a device code in a browser instead of DefaultAzureCredential. */
  deviceCode: boolean;
  /** The --state path, resolved; without it the state lives at `defaultStatePath`. */
  statePath?: string;
  cwd: string;
  appName?: string;
  secretExpiryMonths: number;
  maxWaitSeconds: number;
  yes: boolean;
  /** --yes itself was given (`yes` is also true without a terminal); destructive scripts ask for it explicitly. */
  assumeYes: boolean;
  /** deprovision only: delete the Spot account too. */
  deleteSpotAccount: boolean;
  json: boolean;
  /** Show the plan and change nothing. */
  dryRun: boolean;
  /** Plain, timestamped progress lines even on a terminal (--no-color or NO_COLOR). */
  plain: boolean;
  verbose: boolean;
  help: boolean;
  /** Prompts are allowed: stdin is a terminal and --yes was not given. */
  interactive: boolean;
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

/*
 * Why 4 subscriptions at a time by default: every subscription shares one Spot organization, and Spot
 * rate-limits per organization × route × method over 60 s (design.md §3); Graph throttles writes to
 * applications and service principals per tenant, and ARM role-assignment writes per principal, each
 * answering 429 with Retry-After. The clients wait those out, but a wide fan-out only trades them for
 * waiting; four keeps a run of hundreds of subscriptions well under those budgets and still about four
 * times faster than one at a time (each subscription is ~10 sequential requests).
 */
const DEFAULT_CONCURRENCY = 4;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once. */
  multiple?: boolean;
  env?: string;
  default?: string;
  help: string;
}

/** Every option, its environment variable and default: the one list that parsing and --help share. */
export const OPTIONS: Record<string, OptionSpec> = {
  'account-id': { type: 'string', env: 'SPOTINST_ACCOUNT', help: 'Spot account to link (act- and 8 hex digits)' },
  subscription: {
    type: 'string',
    multiple: true,
    env: 'AZURE_SUBSCRIPTION_ID',
    help: 'Azure subscription id; the only enabled one is used when omitted; repeat it to link several',
  },
  'all-subscriptions': { type: 'boolean', help: 'link every Enabled subscription, each to its own Spot account' },
  'create-accounts': { type: 'boolean', help: 'with several subscriptions: create a Spot account for each one that has none' },
  concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY), help: 'with several subscriptions: how many are linked at once (1-32)' },
  cloud: { type: 'string', default: 'AzurePublicCloud', help: `Azure cloud: ${CLOUD_NAMES.join(', ')}` },
  role: { type: 'string', default: 'Contributor', help: 'role to assign: a role name or id, or spot-minimal (a custom role with only what Spot needs)' },
  state: { type: 'string', default: '.spot-azure-onboard/<account-id>.json', help: 'state file that makes runs resumable' },
  'app-name': { type: 'string', default: 'Spot <account-id>', help: 'display name of the Entra ID application' },
  'secret-expiry': { type: 'string', default: '12', help: 'client secret lifetime in whole months (1-24)' },
  'max-wait': { type: 'string', default: '300', help: 'longest wait, in seconds, for Entra ID replication per step' },
  'device-code': { type: 'boolean', help: 'sign in with a device code in a browser (for machines without az login)' },
  'env-file': { type: 'string', default: '.env', help: 'file of environment variables to load (real ones win)' },
  yes: { type: 'boolean', help: 'never prompt (implied when stdin is not a terminal)' },
  json: { type: 'boolean', help: 'print one JSON object with the results on stdout; progress goes to stderr' },
  'dry-run': { type: 'boolean', help: 'show what would be created, reused or is already done, and change nothing' },
  'no-color': { type: 'boolean', env: 'NO_COLOR', help: 'plain timestamped progress lines instead of live ones' },
  verbose: { type: 'boolean', help: 'show stack traces and API details on failure' },
  help: { type: 'boolean', help: 'show this help' },
};

export type OptionTable = Record<string, OptionSpec>;

/** The options of a script that looks after an existing link: a subset of OPTIONS, plus its own. */
export function optionsFor(names: (keyof typeof OPTIONS)[], own: OptionTable = {}): OptionTable {
  return { ...Object.fromEntries(names.map((name) => [name, OPTIONS[name]!])), ...own };
}

/** The options part of --help, from the table the script parses with. */
export function optionsHelp(options: OptionTable): string {
  return Object.entries(options)
    .map(([name, o]) => {
      const extra = [o.env && `env ${o.env}`, o.default && `default ${o.default}`].filter(Boolean).join('; ');
      return `  --${`${name}${o.type === 'string' ? ' <value>' : ''}`.padEnd(24)} ${o.help}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}

const ACCOUNT_ID = /^act-[0-9a-f]{8}$/;
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Entra ID accepts client secrets of up to 24 months through its portal; longer ones are a policy risk. */
const MAX_SECRET_MONTHS = 24;
/** Graph does not publish a displayName limit for applications; 120 keeps portal lists readable. */
const MAX_APP_NAME = 120;
/** Far above the default of 4 (lib/fleet.ts): more mostly buys throttling from Graph, ARM and Spot. */
const MAX_CONCURRENCY = 32;

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  stdinIsTTY: boolean;
}

/**
 * Flags, then environment (real, then the .env file), then defaults; all problems reported together.
 * `accepted` is the script's own option table: only its flags are parsed; the rest come from env or defaults.
 */
export function loadConfig({ argv, env: realEnv, cwd, stdinIsTTY }: ConfigSources, accepted: OptionTable = OPTIONS): Config {
  const problems: string[] = [];
  const { values, unknown } = parseOptions(argv, accepted, problems);
  // A string option without a value (`--subscription` last, `--app-name ''`) is reported as a problem, not used.
  const flag = (name: string) => (typeof values[name] === 'string' && values[name] !== '' ? values[name] : undefined);
  const flags = (name: string) =>
    [values[name]]
      .flat()
      .filter((v): v is string => typeof v === 'string')
      .map((v) => v.trim())
      .filter(Boolean);
  const warnings: string[] = [];
  const fromEnvFile = readEnvFile(realEnv, resolve(cwd, flag('env-file') ?? '.env'), flag('env-file') !== undefined, problems, warnings);
  // The file holds only names the real environment leaves unset or empty.
  const env = { ...realEnv, ...fromEnvFile };
  const pick = (name: string) => flag(name) ?? (OPTIONS[name]?.env ? env[OPTIONS[name].env] : undefined) ?? OPTIONS[name]?.default;

  for (const name of unknown) {
    const guess = closest(name, Object.keys(accepted));
    problems.push(`Unknown option --${name}${guess ? ` (did you mean --${guess}?)` : ''}.`);
  }

  const accountId = nonEmpty(pick('account-id'));
  if (accountId !== undefined && !ACCOUNT_ID.test(accountId)) {
    problems.push(`Spot account id "${accountId}" is malformed: it is "act-" followed by 8 hex digits, e.g. act-1234abcd (Spot console → Settings → Account).`);
  }
  const allSubscriptions = values['all-subscriptions'] === true;
  const subscriptionFlags = flags('subscription');
  if (allSubscriptions && subscriptionFlags.length > 0) {
    problems.push('--all-subscriptions and --subscription cannot be combined: drop one (repeat --subscription to name several).');
  }
  const envSubscription = nonEmpty(env[OPTIONS.subscription!.env!]);
  const subscriptionIds = allSubscriptions ? [] : unique(subscriptionFlags.length > 0 ? subscriptionFlags : envSubscription ? [envSubscription] : []);
  for (const id of subscriptionIds) {
    if (!GUID.test(id)) problems.push(`Subscription id "${id}" is not a GUID (az account list --query "[].id" lists yours).`);
  }
  const subscriptionId = subscriptionIds.length === 1 ? subscriptionIds[0] : undefined;
  const fleet = allSubscriptions || subscriptionIds.length > 1;
  const createAccounts = values['create-accounts'] === true;
  if (fleet) {
    const single = (['account-id', 'state', 'app-name'] as const).filter((name) => flag(name) !== undefined);
    if (single.length > 0) {
      problems.push(
        `${single.map((n) => `--${n}`).join(', ')} name${single.length === 1 ? 's' : ''} one Spot account's link, but several subscriptions were given: each is linked to its own Spot account (the one whose providerExternalId is the subscription, or a new one with --create-accounts), with its own state file and application. Drop ${single.map((n) => `--${n}`).join(', ')}, or give one --subscription.`,
      );
    }
    if (values['dry-run'] === true)
      problems.push(
        "--dry-run plans one subscription's link; with several subscriptions, plan one at a time (--subscription <id> --account-id act-… --dry-run).",
      );
  } else if (createAccounts) {
    problems.push(
      '--create-accounts works with several subscriptions (--all-subscriptions, or --subscription more than once); for one subscription pass the Spot account with --account-id.',
    );
  }
  const concurrency = wholeNumber(pick('concurrency'), '--concurrency', 1, MAX_CONCURRENCY, problems);
  const cloudFlag = flag('cloud') ?? OPTIONS.cloud!.default!;
  const cloud = CLOUD_NAMES.find((name) => name.toLowerCase() === cloudFlag.toLowerCase());
  if (!cloud) problems.push(`--cloud "${cloudFlag}" is not one of: ${CLOUD_NAMES.join(', ')} (az cloud show --query name shows yours).`);
  const role = (flag('role') ?? OPTIONS.role!.default!).trim();
  if (role === '') problems.push('--role must name a role (e.g. Contributor), a role definition id, or spot-minimal.');
  const tenantId = nonEmpty(env.AZURE_TENANT_ID);
  if (tenantId !== undefined && !GUID.test(tenantId)) {
    problems.push(`AZURE_TENANT_ID "${tenantId}" is not a GUID (az account show --query tenantId shows yours).`);
  }
  const credentialSources = nonEmpty(env.AZURE_TOKEN_CREDENTIALS);
  if (credentialSources !== undefined && !isCredentialSourceChoice(credentialSources)) {
    problems.push(`AZURE_TOKEN_CREDENTIALS "${credentialSources}" is not one of: ${CREDENTIAL_SOURCE_CHOICES.join(', ')} (or unset it to try them all).`);
  }
  const secretExpiryMonths = wholeNumber(pick('secret-expiry'), '--secret-expiry', 1, MAX_SECRET_MONTHS, problems);
  const maxWaitSeconds = wholeNumber(pick('max-wait'), '--max-wait', 0, 3600, problems);
  const appName = flag('app-name');
  if (appName !== undefined && (appName.trim() === '' || appName.length > MAX_APP_NAME)) {
    problems.push(`--app-name must be 1 to ${MAX_APP_NAME} characters${appName.trim() === '' ? ', not blank' : ` (got ${appName.length})`}.`);
  }
  const cloudEndpoints = CLOUDS[cloud ?? 'AzurePublicCloud'];
  const endpoints = {
    authorityHost: endpoint(env.AZURE_AUTHORITY_HOST, cloudEndpoints.authorityHost, 'AZURE_AUTHORITY_HOST', problems),
    arm: endpoint(env.AZURE_ARM_ENDPOINT, cloudEndpoints.arm, 'AZURE_ARM_ENDPOINT', problems),
    graph: endpoint(env.AZURE_GRAPH_ENDPOINT, cloudEndpoints.graph, 'AZURE_GRAPH_ENDPOINT', problems),
    spot: endpoint(env.SPOTINST_BASE_URL, SPOT_API, 'SPOTINST_BASE_URL', problems),
  };

  const help = values.help === true;
  const yes = values.yes === true || !stdinIsTTY;
  // Guided mode asks for it; without a terminal it is one more problem to report with the rest.
  if (accountId === undefined && !fleet && yes && 'account-id' in accepted) {
    problems.push('No Spot account given: pass --account-id act-… or set SPOTINST_ACCOUNT (Spot console → Settings → Account shows the id).');
  }
  if (problems.length > 0 && !help) throw new UsageError(problems);

  const statePath = flag('state');
  return Object.freeze({
    // In fleet mode each subscription's account is found or created; SPOTINST_ACCOUNT names none of them.
    accountId: fleet ? undefined : accountId,
    subscriptionId,
    subscriptionIds,
    allSubscriptions,
    fleet,
    createAccounts,
    concurrency,
    cloud: cloud ?? 'AzurePublicCloud',
    role,
    tenantId,
    // With a secret or certificate beside it, AZURE_CLIENT_ID names a confidential app, which cannot run
    // a device code sign-in; then the Azure CLI's public client is used.
    clientId: nonEmpty(env.AZURE_CLIENT_SECRET) || nonEmpty(env.AZURE_CLIENT_CERTIFICATE_PATH) ? undefined : nonEmpty(env.AZURE_CLIENT_ID),
    deviceCode: values['device-code'] === true,
    statePath: statePath === undefined ? undefined : resolve(cwd, statePath),
    cwd,
    appName: appName?.trim(),
    secretExpiryMonths,
    maxWaitSeconds,
    yes,
    assumeYes: values.yes === true,
    deleteSpotAccount: values['delete-spot-account'] === true,
    json: values.json === true,
    verbose: values.verbose === true,
    help,
    dryRun: values['dry-run'] === true,
    // no-color.org: any non-empty NO_COLOR turns colour and animation off.
    plain: values['no-color'] === true || nonEmpty(env.NO_COLOR) !== undefined,
    interactive: !yes,
    spotToken: nonEmpty(env.SPOTINST_TOKEN),
    credentialSources,
    endpoints: Object.freeze(endpoints),
    warnings,
    fromEnvFile: Object.freeze(fromEnvFile),
  });
}

/** One state file per Spot account, in the directory the tool is run from. */
export function statePathFor(config: Pick<Config, 'statePath' | 'cwd'>, accountId: string): string {
  return config.statePath ?? resolve(config.cwd, '.spot-azure-onboard', `${accountId}.json`);
}

function parseOptions(argv: string[], accepted: OptionTable, problems: string[]) {
  const options = Object.fromEntries(Object.entries(accepted).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple === true }]));
  const { values, tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const unknown: string[] = [];
  const stray: string[] = [];
  let afterUnknown = false;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      // The value of a misspelt option ("--acount-id act-…") is not a second problem.
      if (!afterUnknown) stray.push(token.value);
      afterUnknown = false;
      continue;
    }
    afterUnknown = false;
    if (token.kind !== 'option') continue;
    const spec = accepted[token.name];
    if (!spec) {
      unknown.push(token.name);
      afterUnknown = token.value === undefined;
      continue;
    }
    if (spec.type === 'string' && (token.value === undefined || token.value === '')) problems.push(`--${token.name} needs a value.`);
    if (spec.type === 'boolean' && token.value !== undefined) problems.push(`--${token.name} takes no value.`);
  }
  if (stray.length > 0) problems.push(`Unexpected argument${stray.length > 1 ? 's' : ''}: ${stray.join(' ')}.`);
  return { values, unknown };
}

/**
 * The file's variables that the real environment does not set (it wins); empty ones, as in a copied
 * .env.example, count as unset. A missing default .env is fine.
 */
function readEnvFile(env: Record<string, string | undefined>, path: string, named: boolean, problems: string[], warnings: string[]): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (named) problems.push(`--env-file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
    return {};
  }
  const fromFile = Object.entries(parseEnv(text) as Record<string, string>).filter(([name, value]) => value.trim() !== '' && !env[name]);
  if (fromFile.some(([name]) => name === 'SPOTINST_TOKEN' || name === 'AZURE_CLIENT_SECRET') && (statSync(path).mode & 0o004) !== 0) {
    warnings.push(`${path} holds secrets and is readable by every user on this machine; run: chmod 600 ${path}`);
  }
  return Object.fromEntries(fromFile);
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

/** The option a typo most likely meant, if any is close enough to suggest. */
function closest(input: string, candidates: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(input, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(input.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
