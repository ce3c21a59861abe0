import { parseArgs } from 'node:util';
import { CLOUD_NAMES } from '../domain/clouds.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once. */
  multiple?: boolean;
  env?: string;
  default?: string;
  /** Older names that still work. */
  aliases?: string[];
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

/*
 * Why 4 subscriptions at a time by default: every subscription shares one Spot organization, and Spot
 * rate-limits per organization × route × method over 60 s (spotinst/openapi, "Rate limits"); Graph
 * throttles writes to applications and service principals per tenant, and ARM role-assignment writes per
 * principal, each answering 429 with Retry-After. The clients wait those out, but a wide fan-out only
 * trades them for waiting; four keeps a run of hundreds of subscriptions well under those budgets and
 * still about four times faster than one at a time (each subscription is ~10 sequential requests).
 */
export const DEFAULT_CONCURRENCY = 4;
/** Far above the default: more mostly buys throttling from Graph, ARM and Spot. */
export const MAX_CONCURRENCY = 32;

/** Every option, its environment variable and default: the one list that parsing and --help share. */
export const OPTIONS = {
  'account-id': { type: 'string', env: 'SPOTINST_ACCOUNT', help: 'Spot account to link (act- and 8 hex digits)' },
  subscription: {
    type: 'string',
    multiple: true,
    env: 'AZURE_SUBSCRIPTION_ID',
    help: 'Azure subscription id; the only enabled one is used when omitted; repeat it to link several',
  },
  'all-subscriptions': { type: 'boolean', help: 'link every Enabled subscription, each to its own Spot account' },
  'create-accounts': { type: 'boolean', help: 'with several subscriptions: create a Spot account for each one that has none' },
  concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY), help: `with several subscriptions: how many are linked at once (1-${MAX_CONCURRENCY})` },
  cloud: { type: 'string', default: 'AzurePublicCloud', help: `Azure cloud: ${CLOUD_NAMES.join(', ')}` },
  role: { type: 'string', default: 'Contributor', help: 'role to assign: a role name or id, or spot-minimal (a custom role with only what Spot needs)' },
  state: { type: 'string', default: '<state-dir>/<account-id>.json', help: "one link's state file (the record that makes runs resumable)" },
  'state-dir': { type: 'string', default: '.spot-azure-onboard', help: 'directory of the state files: one per Spot account, and fleet.jsonl' },
  all: { type: 'boolean', help: 'every link recorded in the state directory' },
  'if-expiring-within': { type: 'string', help: 'rotate only a secret that expires within this many days; otherwise report "not due" and change nothing' },
  relink: {
    type: 'boolean',
    help: "move the Spot account to this subscription when it is linked to another one (the tool's role there is removed)",
  },
  'app-name': { type: 'string', default: 'Spot <account-id>', help: 'display name of the Entra ID application' },
  'secret-expiry': { type: 'string', default: '12', help: 'client secret lifetime in whole months (1-24)' },
  'max-wait': { type: 'string', default: '300', help: 'longest wait, in seconds, for Entra ID replication per step' },
  'device-code': { type: 'boolean', help: 'sign in with a device code in a browser (for machines without az login)' },
  'audit-log': { type: 'string', help: 'append one JSON line per HTTP request (service, URL, status, request ids; never a secret) to this file' },
  /*
   * Not --env-file, its old name, kept as an alias: Node reads every argument that starts with
   * --env-file as its own option, wherever it stands (nodejs/node src/node_dotenv.cc,
   * Dotenv::GetPathFromArgs), so `--env-file /missing` ends in Node's "node: /missing: not found"
   * (exit 9) before this tool starts. --dotenv names the file format and no option of Node's.
   */
  dotenv: { type: 'string', default: '.env', aliases: ['env-file'], help: 'file of environment variables to load (real ones win)' },
  yes: { type: 'boolean', help: 'never prompt (implied when stdin is not a terminal)' },
  json: { type: 'boolean', help: 'print one JSON object with the results on stdout; progress goes to stderr' },
  'dry-run': { type: 'boolean', help: 'show what would be created, reused or is already done, and change nothing' },
  'no-color': { type: 'boolean', env: 'NO_COLOR', help: 'plain timestamped progress lines instead of live ones' },
  verbose: { type: 'boolean', help: 'show stack traces and API details on failure' },
  help: { type: 'boolean', help: 'show this help' },
  'delete-spot-account': { type: 'boolean', help: 'also delete the Spot account itself' },
} satisfies OptionTable;

export type OptionName = keyof typeof OPTIONS;

/** The options one script accepts: a subset of OPTIONS, in the order --help lists them. */
export function optionsFor(names: OptionName[]): OptionTable {
  return Object.fromEntries(names.map((name) => [name, OPTIONS[name]]));
}

/** The options part of --help, from the table the script parses with. */
export function optionsHelp(options: OptionTable): string {
  return Object.entries(options)
    .map(([name, o]) => {
      const extra = [o.env && `env ${o.env}`, o.default && `default ${o.default}`, ...(o.aliases ?? []).map((alias) => `also --${alias}`)]
        .filter(Boolean)
        .join('; ');
      return `  --${`${name}${o.type === 'string' ? ' <value>' : ''}`.padEnd(24)} ${o.help}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * The flags of `accepted` that argv sets. Every problem goes to `problems`: an unknown option (with
 * the closest known one), a string option without a value, a value given to a boolean, stray words.
 */
export function parseOptions(argv: string[], accepted: OptionTable, problems: string[]): ParsedValues {
  const options = Object.fromEntries(Object.entries(accepted).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple === true }]));
  const { values, tokens } = parseArgs({ args: withoutAliases(argv, accepted), options, strict: false, allowPositionals: true, tokens: true });
  const stray: string[] = [];
  const unknown: string[] = [];
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
      const guess = closest(token.name, Object.keys(accepted));
      unknown.push(`Unknown option --${token.name}${guess ? ` (did you mean --${guess}?)` : ''}.`);
      afterUnknown = token.value === undefined;
      continue;
    }
    if (spec.type === 'string' && (token.value === undefined || token.value === '')) problems.push(`--${token.name} needs a value.`);
    if (spec.type === 'boolean' && token.value !== undefined) problems.push(`--${token.name} takes no value.`);
  }
  if (stray.length > 0) problems.push(`Unexpected argument${stray.length > 1 ? 's' : ''}: ${stray.join(' ')}.`);
  problems.push(...unknown);
  return values;
}

/** argv with every old option name (`aliases`) replaced by the current one. */
function withoutAliases(argv: string[], accepted: OptionTable): string[] {
  const current = new Map(Object.entries(accepted).flatMap(([name, spec]) => (spec.aliases ?? []).map((alias) => [alias, name] as const)));
  return argv.map((arg) => {
    const option = /^--([^=]+)(=.*)?$/.exec(arg);
    const name = option && current.get(option[1]!);
    return name ? `--${name}${option[2] ?? ''}` : arg;
  });
}

/** The name a typo most likely meant, if any is close enough to suggest. */
export function closest(input: string, candidates: string[]): string | undefined {
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
