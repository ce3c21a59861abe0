import type { Command } from '../cli/command.ts';
import type { Config } from '../config/config.ts';
import { optionsFor, optionsHelp } from '../config/options.ts';
import { OnboardError } from '../core/errors.ts';
import { loadRecordedOutputs, runSteps } from '../core/runner.ts';
import { type SessionDeps, withSession } from '../core/session.ts';
import type { State } from '../core/state.ts';
import { findSpotAccount } from '../domain/spot-accounts.ts';
import { rotateAddSecret } from '../steps/rotate-add-secret.ts';
import { rotateLink } from '../steps/rotate-link.ts';
import { rotateRemoveOld } from '../steps/rotate-remove-old.ts';
import { checkSecretPolicy } from '../steps/shared.ts';
import type { AnyStep } from '../steps/step.ts';
import { need } from '../steps/step.ts';
import { checkSignInToStateTenant, requireRecorded } from './shared.ts';

/** Add, link (and read back), then remove: the old secret goes only once Spot holds the new one. */
export const ROTATE_STEPS: AnyStep[] = [rotateAddSecret, rotateLink, rotateRemoveOld];

/** What a finished rotation did; the fields of `--json`. Never the secret. */
export interface RotationResult {
  accountId: string;
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
    // Spot must be able to take the new secret before one is added to the app.
    await findSpotAccount(await ctx.clients.spot(), ctx.accountId);
    loadRecordedOutputs(ctx);
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
    await store.save(state);
    const secret = state.steps.secret!.outputs;
    return {
      accountId: ctx.accountId,
      appId: ctx.outputs.appId!,
      secretKeyId: secret.secretKeyId!,
      secretExpiresAt: secret.secretExpiresAt!,
      replacedKeyIds,
      resumed,
      statePath: store.path,
    };
  });
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

const OPTIONS = optionsFor(['account-id', 'state', 'cloud', 'device-code', 'secret-expiry', 'max-wait', 'dotenv', 'yes', 'json', 'verbose', 'help']);

const HELP = `Replace the client secret of a link made by provision.ts: add a new secret, give it to Spot (waiting
for Entra ID to accept it), read it back, then remove the old secret this tool created. Secrets added
by anyone else are left alone. Interrupted runs are finished by running the same command again; Spot
holds a working secret at every moment.

Usage: npx tsx scripts/rotate-secret.ts [options]

Options:
${optionsHelp(OPTIONS)}

Exit codes: 0 rotated; 1 failed (the state file lets a re-run finish it); 2 usage; 130 interrupted.

Examples:
  npx tsx scripts/rotate-secret.ts --account-id act-1234abcd
  SPOTINST_ACCOUNT=act-1234abcd npx tsx scripts/rotate-secret.ts --secret-expiry 6 --json
`;

/** scripts/rotate-secret.ts */
export const rotateSecretCommand: Command = {
  name: 'rotate-secret',
  summary: 'replace the client secret Spot holds, then remove the old one',
  options: OPTIONS,
  help: HELP,
  async run(config, io) {
    const result = await rotateSecret(config, io);
    io.result(jsonFields(result), () => summary(result));
  },
};

function jsonFields(r: RotationResult) {
  const { accountId, appId, secretKeyId, secretExpiresAt, replacedKeyIds, resumed } = r;
  return { accountId, appId, secretKeyId, secretExpiresAt, replacedKeyIds, resumed };
}

function summary(r: RotationResult): string {
  return [
    '',
    `Done: Spot account ${r.accountId} uses a new client secret${r.resumed ? ' (an interrupted rotation was finished)' : ''}.`,
    `  application    appId ${r.appId}`,
    `  secret         ${r.secretKeyId}, expires ${r.secretExpiresAt.slice(0, 10)}`,
    `  removed        ${r.replacedKeyIds.join(', ') || 'nothing'}`,
    `  state file     ${r.statePath}`,
  ].join('\n');
}
