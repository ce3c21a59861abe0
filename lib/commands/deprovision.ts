import type { Config } from '../config/config.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError } from '../core/errors.ts';
import { isDone, loadRecordedOutputs, runSteps } from '../core/runner.ts';
import { type SessionDeps, withSession } from '../core/session.ts';
import { SECRET_DISPLAY_NAME } from '../domain/client-secrets.ts';
import { ownRoleAssignment } from '../domain/role-assignments.ts';
import { listSpotAccounts } from '../domain/spot-accounts.ts';
import { removeApp } from '../steps/remove-app.ts';
import { removeRole } from '../steps/remove-role.ts';
import { removeServicePrincipal } from '../steps/remove-service-principal.ts';
import { removeSpotAccount } from '../steps/remove-spot-account.ts';
import type { Step } from '../steps/step.ts';
import { checkSignInToStateTenant } from './shared.ts';

/** The role first, so the principal loses its access before it disappears; the Spot account last. */
export const DEPROVISION_STEPS: Step[] = [removeRole, removeServicePrincipal, removeApp];

export interface DeprovisionDeps extends SessionDeps {
  /** Asks the person at the terminal; true means go ahead. */
  confirm: (question: string) => Promise<boolean>;
}

/** What became of each recorded object; the fields of `--json`. */
export interface DeprovisionResult {
  accountId: string;
  deprovisionedAt: string;
  /** Each object by its id, and 'removed', 'already gone' or 'kept' (not created by this tool, or not recorded). */
  objects: { kind: string; id: string; result: string }[];
  statePath: string;
}

/**
 * Removes what the state file records this tool created, after a confirmation that names it, and
 * marks the file deprovisioned. Each removal is a recorded step, so a re-run finishes an interrupted
 * one and a finished one is a no-op.
 */
export async function deprovision(config: Config, deps: DeprovisionDeps): Promise<DeprovisionResult> {
  return withSession(config, deps, { lock: true }, async (ctx, store) => {
    const { state } = ctx;
    if (Object.keys(state.steps).length === 0) {
      throw new OnboardError(
        'state',
        `Nothing is recorded for Spot account ${ctx.accountId} in ${store.path}, so there is nothing this tool may remove.`,
        'Run this where you ran provision.ts, or pass --state with the state file it wrote.',
      );
    }
    const steps = config.deleteSpotAccount ? [...DEPROVISION_STEPS, removeSpotAccount] : DEPROVISION_STEPS;
    loadRecordedOutputs(ctx);
    const pending = steps.filter((step) => !isDone(step, ctx));
    if (pending.length > 0) {
      if (!config.assumeYes && !config.interactive) {
        throw new OnboardError(
          'usage',
          'deprovision deletes the objects this tool created and asks first, but stdin is not a terminal.',
          'Pass --yes to confirm without a prompt (for scripts), or run it in a terminal.',
        );
      }
      if (pending.some((s) => s !== removeSpotAccount)) await checkSignInToStateTenant(ctx);
      // The token must work before Azure objects go; an account already deleted by hand is fine.
      if (pending.includes(removeSpotAccount)) await listSpotAccounts(await ctx.clients.spot());
      const plan = await describePlan(ctx, pending);
      if (config.assumeYes) {
        for (const line of plan) ctx.report.info(line);
      } else if (!(await deps.confirm(`${plan.join('\n')}\nRemove these?`))) {
        throw new OnboardError('interrupted', 'Cancelled: nothing was removed.', 'Run again and answer y, or pass --yes.');
      }
      await runSteps(ctx, steps, store);
    } else {
      ctx.report.info(`Everything ${store.path} records was already removed on ${state.deprovisioned ?? 'an earlier run'}.`);
    }
    // Nothing the file still holds may outlive the app: a held secret (interrupted provision or rotation) goes too.
    if (!state.deprovisioned || state.secret || state.rotation) {
      delete state.secret;
      delete state.rotation;
      state.deprovisioned ??= ctx.now().toISOString();
      await store.save(state);
    }
    const o = ctx.outputs;
    const objects = [
      { kind: 'role assignment', id: o.roleAssignmentId ?? '', result: o.roleAssignmentRemoval },
      { kind: 'service principal', id: o.servicePrincipalId ?? '', result: o.servicePrincipalRemoval },
      { kind: 'application', id: o.applicationObjectId ?? '', result: o.applicationRemoval },
      { kind: 'spot account', id: ctx.accountId, result: o.spotAccountRemoval ?? 'kept' },
    ];
    return {
      accountId: ctx.accountId,
      deprovisionedAt: state.deprovisioned,
      objects: objects.map((x) => ({ ...x, result: x.result ?? 'kept' })),
      statePath: store.path,
    };
  });
}

/** One line per object about to go, by name and id, and what else goes with it. */
async function describePlan(ctx: Context, pending: Step[]): Promise<string[]> {
  const o = ctx.outputs;
  const lines = [`This removes what spot-azure-onboard created for Spot account ${ctx.accountId}:`];
  for (const step of pending) {
    if (step === removeRole) {
      const own = await ownRoleAssignment(ctx.clients.arm, ctx.outputs);
      lines.push(
        own
          ? `  - role assignment ${own.id} (${o.roleName ?? 'Contributor'} for service principal ${o.servicePrincipalId})`
          : '  - (no role assignment: none was created by this tool)',
      );
    }
    if (step === removeServicePrincipal && o.servicePrincipalId) lines.push(`  - service principal ${o.servicePrincipalId} (appId ${o.appId})`);
    if (step === removeApp && o.applicationObjectId) {
      lines.push(`  - application "${o.appName}" (appId ${o.appId}, object id ${o.applicationObjectId})`);
      lines.push(...(await foreignSecrets(ctx, o.applicationObjectId)));
    }
    if (step === removeSpotAccount) lines.push(`  - the Spot account ${ctx.accountId} itself`);
  }
  return lines;
}

/** Secrets someone else added to the app are deleted with it: say so before it happens. */
async function foreignSecrets(ctx: Context, applicationObjectId: string): Promise<string[]> {
  const graph = await ctx.clients.graph();
  try {
    const application = await graph.getApplication(applicationObjectId);
    const foreign = application.passwordCredentials.filter((p) => p.displayName !== SECRET_DISPLAY_NAME);
    return foreign.length === 0
      ? []
      : [`    with ${foreign.length} client secret(s) not added by this tool: ${foreign.map((p) => p.displayName ?? p.keyId).join(', ')}`];
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return ['    (already gone)'];
    throw error;
  }
}
