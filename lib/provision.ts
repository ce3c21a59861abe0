import { abortableSleep, createClients, type Clients, type Context } from './context.ts';
import type { Config } from './config.ts';
import { statePathFor } from './config.ts';
import { OnboardError } from './errors.ts';
import type { Redactor } from './redact.ts';
import type { Reporter } from './report.ts';
import { defaultLagSchedule } from './retry.ts';
import { runSteps } from './runner.ts';
import { StateStore } from './state.ts';
import { app } from './steps/app.ts';
import { link } from './steps/link.ts';
import { preflight } from './steps/preflight.ts';
import { role } from './steps/role.ts';
import { secret } from './steps/secret.ts';
import { servicePrincipal } from './steps/service-principal.ts';
import type { Step } from './steps/step.ts';
import { subscription } from './steps/subscription.ts';
import { tenant } from './steps/tenant.ts';

export const PROVISION_STEPS: Step[] = [preflight, tenant, subscription, app, servicePrincipal, secret, role, link];

/** What a finished onboarding made; the fields of `--json`. Never the secret. */
export interface ProvisionResult {
  accountId: string;
  tenantId: string;
  subscriptionId: string;
  subscriptionName: string;
  appName: string;
  appId: string;
  applicationObjectId: string;
  servicePrincipalId: string;
  roleAssignmentId: string;
  secretKeyId: string;
  secretExpiresAt: string;
  statePath: string;
}

export interface ProvisionDeps {
  report: Reporter;
  redactor: Redactor;
  signal: AbortSignal;
  clients?: Clients;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export async function provision(config: Config, deps: ProvisionDeps): Promise<ProvisionResult> {
  const accountId = config.accountId;
  if (!accountId) {
    throw new OnboardError('usage', 'No Spot account given.', 'Pass --account-id act-… or set SPOTINST_ACCOUNT (Spot console → Settings → Account shows the id).');
  }
  const store = new StateStore(statePathFor(config, accountId));
  await store.lock();
  try {
    const state = await store.load(accountId);
    const ctx: Context = {
      config,
      accountId,
      state,
      outputs: {},
      clients: deps.clients ?? createClients(config),
      report: deps.report,
      redactor: deps.redactor,
      lagSchedule: { ...defaultLagSchedule, maxWaitMs: config.maxWaitSeconds * 1000 },
      sleep: deps.sleep ?? abortableSleep(deps.signal),
      now: deps.now ?? (() => new Date()),
      saveState: () => store.save(state),
      signal: deps.signal,
    };
    try {
      await runSteps(ctx, PROVISION_STEPS, store);
    } catch (error) {
      if (error instanceof OnboardError && error.kind === 'interrupted') {
        throw new OnboardError('interrupted', `Interrupted; the state is saved in ${store.path}.`, 'Run the same command again to resume where it stopped.');
      }
      throw error;
    }
    const o = ctx.outputs;
    return {
      accountId,
      tenantId: o.tenantId!,
      subscriptionId: o.subscriptionId!,
      subscriptionName: o.subscriptionName!,
      appName: o.appName!,
      appId: o.appId!,
      applicationObjectId: o.applicationObjectId!,
      servicePrincipalId: o.servicePrincipalId!,
      roleAssignmentId: o.roleAssignmentId!,
      secretKeyId: o.secretKeyId!,
      secretExpiresAt: o.secretExpiresAt!,
      statePath: store.path,
    };
  } finally {
    await store.unlock();
  }
}
