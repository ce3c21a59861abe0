import type { NewPassword } from '../clients/graph.ts';
import type { LinkedCredentials } from '../clients/spot.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError } from '../core/errors.ts';
import { retryOnLag } from '../core/retry.ts';
import { SECRET_DISPLAY_NAME } from '../domain/client-secrets.ts';
import { anyOf, newObjectNotFound, roleNotYetEffective, secretNotPropagated } from '../domain/replication-lag.ts';
import { type SecretLifetime, secretLifetime, secretRules } from '../domain/secret-policy.ts';
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
 * in memory until Spot has it; the value is redacted from then on.
 */
export async function addHeldSecret(ctx: Context, stepId: string): Promise<NewPassword> {
  const created = await addOwnSecret(ctx, stepId, need(ctx, 'applicationObjectId'));
  ctx.heldSecret = { keyId: created.keyId, value: created.secretText };
  return created;
}

/** The end date a secret added now gets: what --secret-expiry asks, fitted under the policy preflight read. */
export function plannedSecretLifetime(ctx: Context): SecretLifetime {
  return secretLifetime(ctx.now(), { months: ctx.config.secretExpiryMonths, explicit: ctx.config.secretExpiryExplicit }, ctx.secretRules);
}

/**
 * Reads the tenant's app management policy (for an application created at `createdAt`) into the
 * context, and stops before any change when it refuses what was asked. Reading it needs
 * Policy.Read.All, which many callers lack (Graph answers 403): then the run goes on without it, and
 * addPassword's own refusal is explained.
 */
export async function checkSecretPolicy(ctx: Context, createdAt: Date): Promise<void> {
  const policy = await (await ctx.clients.graph()).defaultAppManagementPolicy();
  if (!policy) {
    ctx.report.info("could not read the tenant's app management policy (it needs Policy.Read.All); going on without it");
    return;
  }
  ctx.secretRules = secretRules(policy, createdAt);
  // Throws when the policy refuses what was asked (an explicit --secret-expiry over its maximum, or no secrets at all).
  plannedSecretLifetime(ctx);
}

async function addOwnSecret(ctx: Context, stepId: string, applicationObjectId: string): Promise<NewPassword> {
  const graph = await ctx.clients.graph();
  const { endDateTime } = plannedSecretLifetime(ctx);
  let created: NewPassword;
  try {
    created = await retryOnLag(stepId, ctx.lagSchedule, newObjectNotFound, () => graph.addPassword(applicationObjectId, SECRET_DISPLAY_NAME, endDateTime), {
      sleep: ctx.sleep,
      report: ctx.report,
    });
  } catch (error) {
    throw explainPolicy(error, ctx);
  }
  ctx.redactor.add(created.secretText);
  return created;
}

/**
 * Tenant (or application) app management policies refuse long-lived or any password credentials with
 * these codes; Graph's message names the policy but not its limit (Graph
 * api-reference/v1.0/resources/tenantappmanagementpolicy.md), so the limit comes from the policy
 * preflight read, when it could.
 */
function explainPolicy(error: unknown, ctx: Context): unknown {
  if (!(error instanceof ApiError && error.api === 'graph' && error.status === 400)) return error;
  const max = ctx.secretRules?.maxLifetime;
  if (error.code === 'CredentialInvalidLifetimeAsPerAppPolicy') {
    return error.withHint(
      max
        ? `The tenant's policy allows secrets of at most ${max.iso}; a policy assigned to this application may allow less. Run again with a shorter --secret-expiry (now ${ctx.config.secretExpiryMonths} months), or ask an administrator to exempt this application through an app management policy.`
        : `An app management policy limits secret lifetimes (the tenant's could not be read to say how far). Run again with a shorter --secret-expiry (now ${ctx.config.secretExpiryMonths} months), e.g. --secret-expiry 3, or ask an administrator to exempt this application through an app management policy.`,
    );
  }
  if (error.code === 'CredentialTypeNotAllowedAsPerAppPolicy') {
    return error.withHint(
      'An app management policy forbids client secrets on this application, and Spot signs in with one. Ask an administrator to exempt this application through an app management policy that allows password credentials, then run again.',
    );
  }
  return error;
}

/**
 * Posts the credentials with `secret` to Spot, retrying while Entra ID has not yet propagated a new
 * secret or Azure RBAC the new role assignment, then reads them back and checks that Spot holds this app, tenant and subscription.
 */
export async function handToSpot(ctx: Context, stepId: string, secret: string, expirationDate: string): Promise<Omit<LinkedCredentials, 'expirationDate'>> {
  const spot = await ctx.clients.spot();
  const expected = { clientId: need(ctx, 'appId'), tenantId: need(ctx, 'tenantId'), subscriptionId: need(ctx, 'subscriptionId') };
  try {
    await retryOnLag(
      stepId,
      ctx.lagSchedule,
      anyOf(secretNotPropagated, roleNotYetEffective),
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
