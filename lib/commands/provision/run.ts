import type { Config } from '../../config/config.ts';
import { OnboardError } from '../../core/errors.ts';
import { type PlanEntry, planSteps, runSteps } from '../../core/runner.ts';
import { type SessionDeps, withSession } from '../../core/session.ts';
import type { State } from '../../core/state.ts';
import { app } from '../../steps/app.ts';
import { link } from '../../steps/link.ts';
import { preflight } from '../../steps/preflight.ts';
import { role } from '../../steps/role.ts';
import { secret } from '../../steps/secret.ts';
import { servicePrincipal } from '../../steps/service-principal.ts';
import { plannedSecretLifetime, rememberSecretExpiry } from '../../steps/shared.ts';
import type { AnyStep } from '../../steps/step.ts';
import { subscription } from '../../steps/subscription.ts';
import { tenant } from '../../steps/tenant.ts';

export const PROVISION_STEPS: AnyStep[] = [preflight, tenant, subscription, app, servicePrincipal, secret, role, link];

/** What a finished onboarding made; the fields of `--json`. Never the secret. */
export interface ProvisionResult {
  accountId: string;
  tenantId: string;
  tenantName: string;
  subscriptionId: string;
  subscriptionName: string;
  appName: string;
  appId: string;
  applicationObjectId: string;
  servicePrincipalId: string;
  roleAssignmentId: string;
  secretKeyId: string;
  secretExpiresAt: string;
  /** Why this run's secret lives shorter than --secret-expiry's default: the tenant's policy allows no more. */
  secretLifetimeFitted?: string;
  statePath: string;
}

export async function provision(config: Config, deps: SessionDeps): Promise<ProvisionResult> {
  return withSession(config, deps, { lock: true }, async (ctx, store) => {
    refuseDeprovisioned(ctx.state, store.path);
    const remembered = rememberSecretExpiry(ctx);
    try {
      await runSteps(ctx, PROVISION_STEPS, store);
      // A re-run with every step done saves nothing of its own.
      if (remembered) await store.save(ctx.state);
    } catch (error) {
      if (error instanceof OnboardError && error.kind === 'interrupted') {
        throw new OnboardError('interrupted', `Interrupted; the state is saved in ${store.path}.`, 'Run the same command again to resume where it stopped.');
      }
      throw error;
    }
    const o = ctx.outputs;
    return {
      accountId: ctx.accountId,
      tenantId: o.tenantId!,
      tenantName: o.tenantName ?? o.tenantId!,
      subscriptionId: o.subscriptionId!,
      subscriptionName: o.subscriptionName!,
      appName: o.appName!,
      appId: o.appId!,
      applicationObjectId: o.applicationObjectId!,
      servicePrincipalId: o.servicePrincipalId!,
      roleAssignmentId: o.roleAssignmentId!,
      secretKeyId: o.secretKeyId!,
      secretExpiresAt: o.secretExpiresAt!,
      // The policy is read only by a run that adds the secret (see preflight).
      ...(ctx.secretRules ? { secretLifetimeFitted: plannedSecretLifetime(ctx).fitted } : {}),
      statePath: store.path,
    };
  });
}

/** What a run would do now, step by step, from the same walk as the run itself; changes nothing. */
export async function planProvision(config: Config, deps: SessionDeps): Promise<PlanEntry[]> {
  return withSession(config, deps, { lock: false }, async (ctx, store) => {
    refuseDeprovisioned(ctx.state, store.path);
    return planSteps(ctx, PROVISION_STEPS);
  });
}

function refuseDeprovisioned(state: State, path: string): void {
  if (!state.deprovisioned) return;
  throw new OnboardError(
    'state',
    `The state file ${path} records a link that was deprovisioned on ${state.deprovisioned}; it is kept as the record of what was removed.`,
    `To link Spot account ${state.accountId} again, move that file away (or pass --state with a new path) and run provision.ts again.`,
  );
}
