import type { CliIo, Command } from '../cli/command.ts';
import type { Config } from '../config/config.ts';
import { optionsFor, optionsHelp } from '../config/options.ts';
import type { Context } from '../core/context.ts';
import { describeFailure, OnboardError } from '../core/errors.ts';
import { loadRecordedOutputs, runSteps } from '../core/runner.ts';
import { type SessionDeps, withSession } from '../core/session.ts';
import type { State } from '../core/state.ts';
import { sameId } from '../domain/ids.ts';
import { findSpotAccount } from '../domain/spot-accounts.ts';
import { rotateAddSecret } from '../steps/rotate-add-secret.ts';
import { rotateLink } from '../steps/rotate-link.ts';
import { rotateRemoveOld } from '../steps/rotate-remove-old.ts';
import { AccountLinkedElsewhere, checkSecretPolicy, rememberSecretExpiry } from '../steps/shared.ts';
import type { AnyStep } from '../steps/step.ts';
import { need } from '../steps/step.ts';
import { forEveryLink, type LinkOutcome } from './every-link.ts';
import { checkSignInToStateTenant, columns, requireRecorded, resolveLink } from './shared.ts';

/** Add, link (and read back), then remove: the old secret goes only once Spot holds the new one. */
export const ROTATE_STEPS: AnyStep[] = [rotateAddSecret, rotateLink, rotateRemoveOld];

const DAY_MS = 86_400_000;

/** What a finished rotation did (or why none was due); the fields of `--json`. Never the secret. */
export interface RotationResult {
  accountId: string;
  /** false: --if-expiring-within found the secret not due, and nothing was changed. */
  rotated: boolean;
  subscriptionId?: string;
  appId: string;
  secretKeyId: string;
  secretExpiresAt: string;
  /** The tool's secrets that were in use before and are now removed. */
  replacedKeyIds: string[];
  /** This run finished a rotation an earlier, interrupted run started. */
  resumed: boolean;
  statePath: string;
}

/**
 * Replaces the link's client secret. Progress lives in the state file (`rotation` plus the steps'
 * records, both cleared at the end), so a run interrupted anywhere is finished by the next one.
 */
export async function rotateSecret(config: Config, deps: SessionDeps): Promise<RotationResult> {
  return withSession(config, deps, { lock: true }, async (ctx, store) => {
    const { state } = ctx;
    requireLink(state, store.path);
    await checkSignInToStateTenant(ctx);
    loadRecordedOutputs(ctx);
    const result = (rotated: boolean, replacedKeyIds: string[], resumed: boolean): RotationResult => {
      const secret = state.steps.secret!.outputs;
      return {
        accountId: ctx.accountId,
        rotated,
        subscriptionId: ctx.outputs.subscriptionId,
        appId: ctx.outputs.appId!,
        secretKeyId: secret.secretKeyId,
        secretExpiresAt: secret.secretExpiresAt,
        replacedKeyIds,
        resumed,
        statePath: store.path,
      };
    };
    if (config.expiringWithinDays !== undefined && !state.rotation && !(await isDue(ctx, config.expiringWithinDays))) {
      ctx.report.info(`not due: client secret ${state.steps.secret!.outputs.secretKeyId} expires after the next ${config.expiringWithinDays} days`);
      return result(false, [], false);
    }
    // Spot must be able to take the new secret before one is added to the app, and must still serve this
    // link's subscription: giving it these credentials would otherwise move the account back.
    const spot = await ctx.clients.spot();
    await findSpotAccount(spot, ctx.accountId);
    const linked = await spot.getAzureCredentials(ctx.accountId);
    const own = ctx.outputs.subscriptionId;
    if (linked && own && !sameId(linked.subscriptionId, own)) {
      throw new AccountLinkedElsewhere(
        ctx.accountId,
        linked.subscriptionId,
        own,
        `Spot holds credentials of clientId ${linked.clientId} for it; ${store.path} records ${own}`,
      );
    }
    if (!state.steps['rotate-link']) {
      // The policy's restrictions apply by the application's creation date: it may predate them.
      const application = await (await ctx.clients.graph()).getApplication(need(ctx, 'applicationObjectId'));
      await checkSecretPolicy(ctx, application.createdDateTime ? new Date(application.createdDateTime) : ctx.now());
    }
    const resumed = state.rotation !== undefined;
    if (state.rotation) {
      ctx.report.info(`Finishing the rotation started at ${state.rotation.startedAt} by an interrupted run.`);
    } else {
      state.rotation = { startedAt: ctx.now().toISOString(), supersededKeyIds: [state.steps.secret!.outputs.secretKeyId!] };
      await store.save(state);
    }
    await runSteps(ctx, ROTATE_STEPS, store);

    const replacedKeyIds = state.rotation!.supersededKeyIds;
    for (const step of ROTATE_STEPS) delete state.steps[step.id];
    delete state.rotation;
    rememberSecretExpiry(ctx);
    await store.save(state);
    return result(true, replacedKeyIds, resumed);
  });
}

/**
 * Whether the linked secret ends within `days`, as the application says (live, not as recorded): a
 * secret removed from the application is due at once. One read, no change.
 */
async function isDue(ctx: Context, days: number): Promise<boolean> {
  const keyId = ctx.state.steps.secret!.outputs.secretKeyId;
  const application = await (await ctx.clients.graph()).getApplication(need(ctx, 'applicationObjectId'));
  const secret = application.passwordCredentials.find((p) => p.keyId === keyId);
  return !secret || Date.parse(secret.endDateTime) - ctx.now().getTime() <= days * DAY_MS;
}

/** Rotation starts from a finished link: one whose secret the state records and Spot holds. */
function requireLink(state: State, path: string): void {
  requireRecorded(state, path);
  if (state.deprovisioned) {
    throw new OnboardError(
      'state',
      `The link recorded in ${path} was deprovisioned on ${state.deprovisioned}; it has no secret to rotate.`,
      'To link the account again, move the state file away and run provision.ts.',
    );
  }
  if (!state.steps.link || !state.steps.secret?.outputs.secretKeyId) {
    throw new OnboardError(
      'state',
      `Provisioning of Spot account ${state.accountId} has not finished (${path} records no link yet).`,
      'Run provision.ts again to finish it; it gives Spot a fresh secret, so no rotation is needed.',
    );
  }
}

const OPTIONS = optionsFor([
  'account-id',
  'state',
  'state-dir',
  'all',
  'if-expiring-within',
  'concurrency',
  'cloud',
  'device-code',
  'secret-expiry',
  'max-wait',
  'dotenv',
  'audit-log',
  'yes',
  'json',
  'no-color',
  'verbose',
  'help',
]);

const HELP = `Replace the client secret of a link made by provision.ts: add a new secret, give it to Spot (waiting
for Entra ID to accept it), read it back, then remove the old secret this tool created. Secrets added
by anyone else are left alone. Interrupted runs are finished by running the same command again; Spot
holds a working secret at every moment.

Usage: npx tsx scripts/rotate-secret.ts [options]

Options:
${optionsHelp(OPTIONS)}

Which link: the one --account-id names, the one --state names, else the only state file in the state
directory. --all rotates every link there, --concurrency at a time; one failing does not stop the
others. With --if-expiring-within <days>, a secret that ends later is "not due" and nothing changes
(an interrupted rotation is always finished).

Exit codes: 0 rotated or not due (with --all, every link); 1 failed (the state file lets a re-run
finish it); 2 usage; 130 interrupted.

Examples:
  npx tsx scripts/rotate-secret.ts
  npx tsx scripts/rotate-secret.ts --account-id act-1234abcd --secret-expiry 6 --json
  The daily scheduled job: every link whose secret ends within 30 days gets a new one:
    npx tsx scripts/rotate-secret.ts --all --if-expiring-within 30 --yes
`;

/** scripts/rotate-secret.ts */
export const rotateSecretCommand: Command = {
  name: 'rotate-secret',
  summary: 'replace the client secret Spot holds, then remove the old one',
  options: OPTIONS,
  help: HELP,
  run: (config, io) => (config.all ? rotateEvery(config, io) : rotateOne(config, io)),
};

async function rotateOne(config: Config, io: CliIo): Promise<void> {
  const result = await rotateSecret(await resolveLink(config, { allFlag: true }), io);
  io.result(jsonFields(result), () => summary(result, config));
}

type RowStatus = 'rotated' | 'not due' | 'failed' | 'not run';

interface RotationRow {
  accountId: string;
  subscriptionId?: string;
  statePath: string;
  status: RowStatus;
  secretKeyId?: string;
  secretExpiresAt?: string;
  error?: string;
}

async function rotateEvery(config: Config, io: CliIo): Promise<void> {
  const outcomes = await forEveryLink(config, io, rotateSecret, (o) => {
    const row = rowOf(o);
    const what = row.status === 'failed' ? `failed: ${row.error}` : `${row.status}; secret expires ${row.secretExpiresAt?.slice(0, 10)}`;
    return { ok: row.status !== 'failed', line: `${row.accountId} ${what}` };
  });
  const rows = outcomes.map(rowOf);
  const count = (status: RowStatus) => rows.filter((r) => r.status === status).length;
  io.result({ links: rows, rotated: count('rotated'), notDue: count('not due'), failed: count('failed') }, () => rotationTable(rows));
  if (count('failed') > 0) {
    throw new OnboardError(
      'partial',
      `${count('failed')} of ${rows.length} links were not rotated: ${rows
        .filter((r) => r.status === 'failed')
        .map((r) => r.accountId)
        .join(', ')}.`,
      'Fix what each error says, then run the same command again: an interrupted rotation is finished, and links already rotated are not due.',
    );
  }
}

function rowOf({ link, result, error }: LinkOutcome<RotationResult>): RotationRow {
  const base = { accountId: link.accountId, subscriptionId: link.subscriptionId, statePath: link.path };
  if (result) {
    const { secretKeyId, secretExpiresAt, subscriptionId } = result;
    return { ...base, subscriptionId, status: result.rotated ? 'rotated' : 'not due', secretKeyId, secretExpiresAt };
  }
  if (error === undefined) return { ...base, status: 'not run' };
  return {
    ...base,
    status: 'failed',
    error: describeFailure(error, false)
      .replace(/^Error: /, '')
      .replace(/\s*\n\s*/g, ' '),
  };
}

function rotationTable(rows: RotationRow[]): string {
  const header = ['Spot account', 'subscription', 'status', 'secret expires', 'error'];
  const lines = rows.map((r) => [r.accountId, r.subscriptionId ?? '-', r.status, r.secretExpiresAt?.slice(0, 10) ?? '-', r.error ?? '']);
  const count = (status: RowStatus) => rows.filter((r) => r.status === status).length;
  const tally = `${count('rotated')} rotated, ${count('not due')} not due, ${count('failed')} failed of ${rows.length} links${count('not run') ? `; ${count('not run')} not run` : ''}.`;
  return ['', ...columns([header, ...lines]), '', tally].join('\n');
}

function jsonFields(r: RotationResult) {
  const { accountId, rotated, appId, secretKeyId, secretExpiresAt, replacedKeyIds, resumed } = r;
  return { accountId, rotated, appId, secretKeyId, secretExpiresAt, replacedKeyIds, resumed };
}

function summary(r: RotationResult, config: Config): string {
  if (!r.rotated) {
    return [
      '',
      `Not due: the client secret of Spot account ${r.accountId} expires ${r.secretExpiresAt.slice(0, 10)}, after the next ${config.expiringWithinDays} days (--if-expiring-within); nothing was changed.`,
      `  state file     ${r.statePath}`,
    ].join('\n');
  }
  return [
    '',
    `Done: Spot account ${r.accountId} uses a new client secret${r.resumed ? ' (an interrupted rotation was finished)' : ''}.`,
    `  application    appId ${r.appId}`,
    `  secret         ${r.secretKeyId}, expires ${r.secretExpiresAt.slice(0, 10)}`,
    `  removed        ${r.replacedKeyIds.join(', ') || 'nothing'}`,
    `  state file     ${r.statePath}`,
  ].join('\n');
}
