import type { NewPassword } from '../clients/graph.ts';
import type { LinkedCredentials } from '../clients/spot.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError } from '../core/errors.ts';
import { retryOnLag } from '../core/retry.ts';
import { SECRET_DISPLAY_NAME, secretEndDate } from '../domain/client-secrets.ts';
import { newObjectNotFound, secretNotPropagated } from '../domain/replication-lag.ts';
import { need, type StepId } from './step.ts';

// What the two secret steps (secret, rotate-add-secret) and the two Spot steps (link, rotate-link) share.

/**
 * A step that adds a secret is done once recorded while its value is still held, or once `linkStepId`
 * gave it to Spot; a recorded secret whose value is gone (and never reached Spot) is useless, so add another.
 */
export function heldUntilLinked(stepId: StepId, linkStepId: StepId): (ctx: Context) => boolean {
  return ({ state, heldSecret }) => state.steps[stepId] !== undefined && (heldSecret !== undefined || state.steps[linkStepId] !== undefined);
}

/**
 * Adds a client secret under this tool's display name, with an explicit end date, and holds its value
 * in the state until Spot has it; the value is redacted from then on.
 */
export async function addHeldSecret(ctx: Context, stepId: string): Promise<NewPassword> {
  const created = await addOwnSecret(ctx, stepId, need(ctx, 'applicationObjectId'));
  ctx.heldSecret = { keyId: created.keyId, value: created.secretText };
  return created;
}

async function addOwnSecret(ctx: Context, stepId: string, applicationObjectId: string): Promise<NewPassword> {
  const graph = await ctx.clients.graph();
  const endDateTime = secretEndDate(ctx.now(), ctx.config.secretExpiryMonths);
  let created: NewPassword;
  try {
    created = await retryOnLag(stepId, ctx.lagSchedule, newObjectNotFound, () => graph.addPassword(applicationObjectId, SECRET_DISPLAY_NAME, endDateTime), {
      sleep: ctx.sleep,
      report: ctx.report,
    });
  } catch (error) {
    throw explainPolicy(error, ctx.config.secretExpiryMonths);
  }
  ctx.redactor.add(created.secretText);
  return created;
}

/** Tenant app-management policies refuse long-lived or any password credentials (Graph
 * api-reference/v1.0/resources/tenantappmanagementpolicy.md). */
function explainPolicy(error: unknown, months: number): unknown {
  if (!(error instanceof ApiError && error.api === 'graph' && error.status === 400)) return error;
  if (error.code === 'CredentialInvalidLifetimeAsPerAppPolicy' || /lifetime/i.test(error.message)) {
    return error.withHint(
      `Your tenant's app management policy limits secret lifetimes; run again with a shorter --secret-expiry (now ${months} months), e.g. --secret-expiry 6.`,
    );
  }
  if (/credential type not allowed/i.test(error.message)) {
    return error.withHint(
      'Your tenant blocks client secrets for applications (app management policy). Ask an administrator for an exemption for this app; Spot needs a client secret.',
    );
  }
  return error;
}

/**
 * Posts the credentials with `secret` to Spot, retrying while Entra ID has not yet propagated a new
 * secret, then reads them back and checks that Spot holds this app, tenant and subscription.
 */
export async function handToSpot(ctx: Context, stepId: string, secret: string, expirationDate: string): Promise<Omit<LinkedCredentials, 'expirationDate'>> {
  // A secret read back from the state by a resumed run was never seen by this run's redactor.
  ctx.redactor.add(secret);
  const spot = await ctx.clients.spot();
  const expected = { clientId: need(ctx, 'appId'), tenantId: need(ctx, 'tenantId'), subscriptionId: need(ctx, 'subscriptionId') };
  try {
    await retryOnLag(
      stepId,
      ctx.lagSchedule,
      secretNotPropagated,
      () => spot.setAzureCredentials(ctx.accountId, { ...expected, clientSecret: secret, expirationDate }),
      { sleep: ctx.sleep, report: ctx.report },
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      throw error.withHint('Spot refused the credentials: fix what its message names, then run the same command again (nothing is created twice).');
    }
    throw error;
  }

  const linked = await spot.getAzureCredentials(ctx.accountId);
  const mismatched = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => linked?.[k]?.toLowerCase() !== expected[k].toLowerCase());
  if (mismatched.length > 0) {
    throw new OnboardError(
      'conflict',
      `Spot accepted the credentials, but reading them back shows different ${mismatched.join(', ')}.`,
      'Another process may be changing this Spot account; check the account in the Spot console, then run again.',
    );
  }
  return expected;
}
