import type { NewPassword } from '../clients/graph.ts';
import type { LinkedCredentials } from '../clients/spot.ts';
import { stateDirOf } from '../config/config.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError, unlessNotFound } from '../core/errors.ts';
import { retryOnLag } from '../core/retry.ts';
import { StateStore } from '../core/state.ts';
import { liveLinks, type RecordedLink } from '../core/state-dir.ts';
import { SECRET_DISPLAY_NAME } from '../domain/client-secrets.ts';
import { sameId } from '../domain/ids.ts';
import { anyOf, newObjectNotFound, roleNotYetEffective, secretNotPropagated } from '../domain/replication-lag.ts';
import { ownRoleAssignment, subscriptionScope } from '../domain/role-assignments.ts';
import { type SecretLifetime, secretLifetime, secretRules } from '../domain/secret-policy.ts';
import { need, type StepId } from './step.ts';

// What the two secret steps (secret, rotate-add-secret) and the two Spot steps (link, rotate-link) share,
// and the move of an account to another subscription (--relink), which preflight starts and link finishes.

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

/** The lifetime asked for a new secret: --secret-expiry now, else the one an earlier run of this link was given, else the default. */
export function askedSecretMonths(ctx: Context): { months: number; explicit: boolean } {
  if (ctx.config.secretExpiryExplicit || ctx.state.secretExpiryMonths === undefined) {
    return { months: ctx.config.secretExpiryMonths, explicit: ctx.config.secretExpiryExplicit };
  }
  return { months: ctx.state.secretExpiryMonths, explicit: true };
}

/** Remembers an explicit --secret-expiry in the state, so the link's later secrets (rotations) get it too. */
export function rememberSecretExpiry(ctx: Context): boolean {
  if (!ctx.config.secretExpiryExplicit || ctx.state.secretExpiryMonths === ctx.config.secretExpiryMonths) return false;
  ctx.state.secretExpiryMonths = ctx.config.secretExpiryMonths;
  return true;
}

/** The end date a secret added now gets: the lifetime asked (`askedSecretMonths`), fitted under the policy preflight read. */
export function plannedSecretLifetime(ctx: Context): SecretLifetime {
  return secretLifetime(ctx.now(), askedSecretMonths(ctx), ctx.secretRules);
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
        ? `The tenant's policy allows secrets of at most ${max.iso}; a policy assigned to this application may allow less. Run again with a shorter --secret-expiry (now ${askedSecretMonths(ctx).months} months), or ask an administrator to exempt this application through an app management policy.`
        : `An app management policy limits secret lifetimes (the tenant's could not be read to say how far). Run again with a shorter --secret-expiry (now ${askedSecretMonths(ctx).months} months), e.g. --secret-expiry 3, or ask an administrator to exempt this application through an app management policy.`,
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

/**
 * A Spot account holds one Azure subscription. Linking it to another one moves it: the workloads on
 * the first lose Spot. Only --relink (or a yes in a guided run) allows that.
 */
export class AccountLinkedElsewhere extends OnboardError {
  readonly from: string;
  readonly to: string;

  constructor(accountId: string, from: string, to: string, source: string, hint?: string) {
    super(
      'conflict',
      `Spot account ${accountId} is linked to subscription ${from} (${source}); this run asks for subscription ${to}. A Spot account holds one subscription: linking ${to} would move the account, and ${from}'s workloads would lose Spot.`,
      hint ??
        `To move the account to ${to}, run again with --relink (the tool's role assignment on ${from} is removed and its record there marked superseded); to link ${to} as well, use another Spot account (another --account-id, or --create-accounts with several subscriptions).`,
    );
    this.from = from;
    this.to = to;
  }
}

/**
 * Starts moving the account off `fromSubscriptionId` (--relink): remembered in the state until the
 * link step has released it, so a run stopped midway still removes what the tool left there. A state
 * that records the old subscription forgets what it did there, so this run does it for the new one.
 */
export function startRelink(ctx: Context, fromSubscriptionId: string, toSubscriptionId: string): void {
  if (sameId(fromSubscriptionId, toSubscriptionId)) return;
  // A move already under way from elsewhere is finished first; one whose target has turned back to the
  // subscription it was leaving starts again, away from the subscription the state now records.
  if (ctx.state.relinkFrom && !sameId(ctx.state.relinkFrom.subscriptionId, toSubscriptionId)) return;
  const recordsIt = sameId(ctx.state.subscriptionId, fromSubscriptionId);
  const role = recordsIt ? ctx.state.steps.role?.outputs : undefined;
  ctx.state.relinkFrom = {
    subscriptionId: fromSubscriptionId,
    ...(role?.roleAssignmentId ? { roleAssignmentId: role.roleAssignmentId } : {}),
    ...(role?.roleAssignmentPreexisting ? { roleAssignmentPreexisting: role.roleAssignmentPreexisting } : {}),
  };
  // A superseded record moving back: its role was removed by the move away, and Spot holds the other link.
  const forget = recordsIt ? (['subscription', 'role', 'link'] as const) : ctx.state.superseded ? (['role', 'link'] as const) : [];
  for (const id of forget) {
    for (const key of Object.keys(ctx.state.steps[id]?.outputs ?? {})) delete (ctx.outputs as Record<string, unknown>)[key];
    delete ctx.state.steps[id];
  }
  if (recordsIt) delete ctx.state.subscriptionId;
  delete ctx.state.superseded;
}

/** What releasing the old subscription would do, for the plan: the tool's role assignment there, and the records that go stale. */
export async function planRelease(ctx: Context): Promise<string | undefined> {
  const from = ctx.state.relinkFrom;
  if (!from) return undefined;
  const principalId = ctx.outputs.servicePrincipalId;
  const own = principalId ? await ownRoleAssignment(() => ctx.clients.arm(), { ...from, servicePrincipalId: principalId }) : undefined;
  const records = await staleRecords(ctx, from.subscriptionId);
  return [
    own
      ? `remove the tool's role assignment ${own.name} on ${own.scope}`
      : `no role assignment of the tool's to remove on ${subscriptionScope(from.subscriptionId)}`,
    ...(records.length ? [`mark ${records.map((r) => r.path).join(', ')} superseded`] : []),
  ].join('; ');
}

/** Once Spot holds the new subscription: removes the tool's role assignment on the old one and marks its records superseded. */
export async function releasePrevious(ctx: Context): Promise<string | undefined> {
  const from = ctx.state.relinkFrom;
  if (!from) return undefined;
  const to = need(ctx, 'subscriptionId');
  if (sameId(from.subscriptionId, to)) {
    // The move turned back before it finished: the subscription it was leaving is the one just linked.
    delete ctx.state.relinkFrom;
    return undefined;
  }
  const found = await ownRoleAssignment(() => ctx.clients.arm(), { ...from, servicePrincipalId: need(ctx, 'servicePrincipalId') });
  const own = found && !sameId(found.id, ctx.outputs.roleAssignmentId) ? found : undefined;
  if (own) await unlessNotFound((await ctx.clients.arm()).deleteRoleAssignment(own.scope, own.name));
  const records = await staleRecords(ctx, from.subscriptionId);
  for (const record of records) {
    const store = new StateStore(record.path, ctx.now);
    await store.lock();
    try {
      const state = await store.load(ctx.accountId);
      state.superseded = { at: ctx.now().toISOString(), by: ctx.statePath, subscriptionId: to };
      await store.save(state);
    } finally {
      await store.unlock();
    }
  }
  delete ctx.state.relinkFrom;
  const removed = own
    ? `removed the tool's role assignment ${own.name} there`
    : from.roleAssignmentPreexisting === 'true'
      ? 'kept the role assignment there, which existed before this tool'
      : 'the tool held no role assignment there';
  return `released subscription ${from.subscriptionId}: ${removed}${records.length ? `; marked ${records.length} state record(s) of it superseded` : ''}`;
}

/** The other live state files of this account in the state directory that record the old subscription. */
async function staleRecords(ctx: Context, subscriptionId: string): Promise<RecordedLink[]> {
  const links = await liveLinks(stateDirOf(ctx.config));
  return links.filter((link) => link.path !== ctx.statePath && link.accountId === ctx.accountId && sameId(link.subscriptionId, subscriptionId));
}
