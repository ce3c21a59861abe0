import { checkSignIn } from '../clients/credential.ts';
import type { Config } from '../config/config.ts';
import type { Context } from '../core/context.ts';
import { OnboardError } from '../core/errors.ts';
import { assertSameTenant, readJsonFile, type State } from '../core/state.ts';
import { isRecordedState, liveLinks } from '../core/state-dir.ts';

/**
 * One token now, so a sign-in problem is reported as such before the first Graph or ARM call; then,
 * for a state that records its tenant, a check that it is the one signed in to: in another tenant
 * every object the state records would look "already gone".
 */
export async function checkSignInToStateTenant(ctx: Context): Promise<void> {
  const tokenTenant = await checkSignIn(await ctx.clients.credential(), ctx.config.endpoints, ctx.config.credentialSources);
  if (!ctx.state.tenantId) return;
  // The token names its tenant, which needs no Graph permission (a status job's service principal may have none).
  const signedIn = tokenTenant ?? (await (await ctx.clients.graph()).tenant()).id;
  assertSameTenant(ctx.state, ctx.statePath, signedIn);
}

/** The day-two commands start from a state file that records something; `why` finishes the sentence. */
export function requireRecorded(state: State, path: string, why = ''): void {
  if (Object.keys(state.steps).length > 0) return;
  throw new OnboardError(
    'state',
    `Nothing is recorded for Spot account ${state.accountId} in ${path}${why}.`,
    'Run this where you ran provision.ts, or pass --state with the state file it wrote; to link the account, run provision.ts.',
  );
}

/** How many accounts a usage error lists before it says "and N more". */
const LISTED = 20;

/**
 * The one link a day-two command acts on, when the command line does not name its account: the
 * account the --state file records, else the only state file in the state directory. Several are a
 * usage error that lists them; `allFlag`: the command takes --all, so suggest it.
 */
export async function resolveLink(config: Config, { allFlag }: { allFlag: boolean }): Promise<Config> {
  // SPOTINST_ACCOUNT, often set in .env for provisioning, does not outweigh the account a --state file names.
  if (config.accountId && (config.accountIdFlagged || !config.statePath)) return config;
  if (config.statePath) {
    const state = await readJsonFile(config.statePath, isRecordedState, {
      unreadable: 'Check its permissions, or pass --state with another path.',
      invalid: 'Pass --state with a state file provision.ts wrote, or --account-id act-… as well.',
    });
    if (!state) {
      throw new OnboardError(
        'state',
        `Nothing is recorded in ${config.statePath}: there is no such file.`,
        'Pass --state with the state file provision.ts wrote; to link an account, run provision.ts.',
      );
    }
    return Object.freeze({ ...config, accountId: state.accountId });
  }
  const links = await liveLinks(config.stateDir);
  if (links.length === 1) return Object.freeze({ ...config, accountId: links[0]!.accountId, statePath: links[0]!.path });
  const either = `--account-id act-… (or SPOTINST_ACCOUNT)${allFlag ? ', or --all to cover every link' : ''}`;
  if (links.length === 0) {
    throw new OnboardError(
      'usage',
      `No Spot account given, and ${config.stateDir} holds no state file to take it from.`,
      `Run this where you ran provision.ts, name the directory it used with --state-dir or its file with --state, or pass ${either}.`,
    );
  }
  const listed = links.slice(0, LISTED).map((l) => `${l.accountId}${l.subscriptionId ? ` (subscription ${l.subscriptionId})` : ''}`);
  const more = links.length > LISTED ? `, and ${links.length - LISTED} more` : '';
  throw new OnboardError(
    'usage',
    `No Spot account given, and ${config.stateDir} holds the state of ${links.length} links: ${listed.join(', ')}${more}.`,
    `Name one with ${either}.`,
  );
}

/** Rows as aligned columns, the last one left ragged (it holds free text). */
export function columns(rows: string[][]): string[] {
  const widths = rows[0]!.slice(0, -1).map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((cells) =>
    cells
      .map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd(),
  );
}
