import type { Subscription } from '../clients/arm.ts';
import { checkSignIn } from '../clients/credential.ts';
import type { LinkedCredentials, SpotAccount } from '../clients/spot.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError } from '../core/errors.ts';
import { isDone } from '../core/runner.ts';
import { sameId } from '../domain/ids.ts';
import { allows, ROLE_ASSIGNMENT_DELETE, ROLE_ASSIGNMENT_WRITE, ROLE_DEFINITION_WRITE } from '../domain/permissions.ts';
import { resolveRoleDefinition } from '../domain/roles.ts';
import { findSpotAccount } from '../domain/spot-accounts.ts';
import { role } from './role.ts';
import { AccountLinkedElsewhere, checkSecretPolicy, startRelink } from './shared.ts';
import type { Step } from './step.ts';

/**
 * Read-only checks, in the order a user would fix them: Spot token and account, Azure sign-in, the
 * subscription, the right to assign roles on it. Nothing is created until all of them pass.
 */
export const preflight: Step<'preflight'> = {
  id: 'preflight',
  title: 'Check the Spot token, Azure sign-in and the subscription',
  always: true,
  async run(ctx) {
    // Load the SDKs and start signing in while Spot answers: loading takes longer than the request.
    const credential = ctx.clients.credential();
    for (const loading of [credential, ctx.clients.arm(), ctx.clients.graph()]) loading.catch(() => {});
    const account = await findSpotAccount(await ctx.clients.spot(), ctx.accountId);
    await checkSignIn(await credential, ctx.config.endpoints, ctx.config.credentialSources);
    const subscription = await checkSubscription(ctx);
    const linked = await checkOneSubscriptionPerAccount(ctx, account, subscription.subscriptionId);
    await checkCanReleasePrevious(ctx);
    // A secret is added only until the link is made: then the policy decides its lifetime, and may refuse it.
    if (!ctx.state.steps.link) await checkSecretPolicy(ctx, ctx.now());
    if (!isDone(role, ctx)) {
      // The role is looked up now, so a misspelt --role stops the run before anything is created or changed.
      const chosen = await resolveRoleDefinition(ctx, subscription.subscriptionId);
      await checkCanAssignRoles(ctx, subscription.subscriptionId, chosen.toCreate ? [ROLE_DEFINITION_WRITE] : []);
    }
    return {
      outputs: {
        accountId: account.accountId,
        accountName: account.name,
        subscriptionId: subscription.subscriptionId,
        subscriptionName: subscription.displayName,
        ...(subscription.tenantId ? { subscriptionTenantId: subscription.tenantId } : {}),
        ...(linked ? { spotLinkedClientId: linked.clientId } : {}),
      },
      summary: `Spot account ${account.accountId} (${account.name}); subscription ${subscription.displayName} (${subscription.subscriptionId}) is Enabled${
        ctx.state.relinkFrom ? `; the account moves from subscription ${ctx.state.relinkFrom.subscriptionId} (--relink)` : ''
      }`,
    };
  },
};

async function checkSubscription(ctx: Context): Promise<Subscription> {
  const arm = await ctx.clients.arm();
  const wanted = ctx.config.subscriptionId ?? ctx.state.subscriptionId;
  if (ctx.state.subscriptionId && wanted && !sameId(wanted, ctx.state.subscriptionId)) {
    if (!ctx.config.relink) throw new AccountLinkedElsewhere(ctx.accountId, ctx.state.subscriptionId, wanted, `the state file ${ctx.statePath} says so`);
    startRelink(ctx, ctx.state.subscriptionId, wanted);
  }
  if (wanted) {
    let found: Subscription | undefined;
    try {
      found = await arm.getSubscription(wanted);
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 403))) throw error;
    }
    if (found?.state === 'Enabled') return found;
    const visible = await arm.listSubscriptions();
    const reason = found ? `is ${found.state}, not Enabled` : 'was not found, or you cannot see it';
    throw new OnboardError(
      'not-found',
      `Subscription ${wanted} ${reason}. Subscriptions you can see: ${describe(visible)}.`,
      'Pass an Enabled subscription with --subscription, or sign in as a user who can see it (az login --tenant …).',
    );
  }
  const visible = await arm.listSubscriptions();
  const enabled = visible.filter((s) => s.state === 'Enabled');
  if (enabled.length === 1) return enabled[0]!;
  throw new OnboardError(
    'invalid-input',
    enabled.length === 0
      ? `No Enabled subscription is visible to this identity (seen: ${describe(visible)}).`
      : `Several subscriptions are Enabled: ${describe(enabled)}.`,
    enabled.length === 0
      ? 'Sign in as a user with access to the subscription (az login), or enable it in the Azure portal.'
      : 'Choose one with --subscription <id> (or AZURE_SUBSCRIPTION_ID).',
  );
}

/**
 * The subscription the account serves now, from the account listing preflight already has: Spot sets
 * an account's providerExternalId to the subscription of the Azure credentials it holds (the fleet
 * finds accounts by it too). Another subscription means the account is in use there: stop, unless
 * --relink asks to move it. Only a fresh state meeting a linked account reads the credentials
 * themselves, to name the application whose credentials the link will replace.
 */
async function checkOneSubscriptionPerAccount(ctx: Context, account: SpotAccount, subscriptionId: string): Promise<LinkedCredentials | undefined> {
  const serves = account.providerExternalId ?? undefined;
  if (!serves) return undefined;
  if (!sameId(serves, subscriptionId)) {
    if (!ctx.config.relink) throw new AccountLinkedElsewhere(ctx.accountId, serves, subscriptionId, "Spot shows it as the account's providerExternalId");
    startRelink(ctx, serves, subscriptionId);
  }
  // A state that has its application already: Spot holds that one's credentials, or a lost run's of it.
  if (ctx.state.steps.app) return undefined;
  // spotinst/openapi documents 200 and 400 for this read (cloudCredentialsForAzure.yaml), not what an
  // account without credentials answers; a 400 or 404 reads as "none" (the link step's POST then says more).
  return (await ctx.clients.spot()).getAzureCredentials(ctx.accountId).catch((error: unknown) => {
    if (error instanceof ApiError && (error.status === 400 || error.status === 404)) return undefined;
    throw error;
  });
}

/**
 * A move removes the tool's role assignment on the subscription it leaves, after Spot has moved: a
 * caller who may not do that there would leave it behind, so it is checked before anything changes.
 */
async function checkCanReleasePrevious(ctx: Context): Promise<void> {
  const from = ctx.state.relinkFrom;
  if (!from || from.roleAssignmentPreexisting === 'true') return;
  const arm = await ctx.clients.arm();
  const permissions = await arm.permissions(from.subscriptionId).catch((error: unknown) => {
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) return [];
    throw error;
  });
  if (!allows(permissions, ROLE_ASSIGNMENT_DELETE)) {
    throw new OnboardError(
      'forbidden',
      `You may not remove role assignments on subscription ${from.subscriptionId}, which Spot account ${ctx.accountId} would leave: the tool's role assignment there would stay behind (your roles there do not include ${ROLE_ASSIGNMENT_DELETE}).`,
      `Ask for Owner or User Access Administrator on ${from.subscriptionId}, then run again; nothing was changed.`,
    );
  }
}

/** `alsoNeeded`: actions beyond assigning roles, e.g. creating the spot-minimal role definition. */
async function checkCanAssignRoles(ctx: Context, subscriptionId: string, alsoNeeded: string[]): Promise<void> {
  const arm = await ctx.clients.arm();
  let permissions: Awaited<ReturnType<typeof arm.permissions>> = [];
  try {
    permissions = await arm.permissions(subscriptionId);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
  }
  if (!allows(permissions, ROLE_ASSIGNMENT_WRITE)) {
    throw new OnboardError(
      'forbidden',
      `You may not assign roles on subscription ${subscriptionId}: your roles there do not include ${ROLE_ASSIGNMENT_WRITE}.`,
      'Ask for Owner or User Access Administrator on the subscription (Contributor is not enough), then run again.',
    );
  }
  const missing = alsoNeeded.filter((action) => !allows(permissions, action));
  if (missing.length > 0) {
    throw new OnboardError(
      'forbidden',
      `You may not create the spot-minimal custom role on subscription ${subscriptionId}: your roles there do not include ${missing.join(', ')}.`,
      'Ask for Owner or User Access Administrator on the subscription, or pass --role with an existing role (such as a custom role an administrator made from lib/spot-minimal-role.ts).',
    );
  }
}

function describe(subscriptions: Subscription[]): string {
  return subscriptions.map((s) => `${s.displayName} (${s.subscriptionId}, ${s.state})`).join(', ') || 'none';
}
