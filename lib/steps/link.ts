import type { LinkedCredentials } from '../clients/spot.ts';
import type { Context } from '../context.ts';
import { ApiError, OnboardError } from '../errors.ts';
import { secretNotPropagated } from '../lag.ts';
import { retryOnLag } from '../retry.ts';
import { removeOwnSecretsExcept } from '../secrets.ts';
import { need, type Step } from './step.ts';

/** Hand the four values and the expiry to Spot, read them back, remove this tool's other secrets, forget the value. */
export const link: Step = {
  id: 'link',
  title: 'Link the Spot account to the subscription',
  async plan(ctx) {
    const linked = await (await ctx.clients.spot()).getAzureCredentials(ctx.accountId);
    const what = `give Spot account ${ctx.accountId} the application's credentials and read them back`;
    return linked
      ? { action: 'update', detail: `${what} (it now holds clientId ${linked.clientId}, subscription ${linked.subscriptionId})` }
      : { action: 'create', detail: what };
  },
  async run(ctx) {
    const held = ctx.state.secret;
    if (!held) throw new Error('internal: the link step ran without a held client secret');
    const expected = await handToSpot(ctx, this.id, held.value, need(ctx, 'secretExpiresAt'));

    // Every other secret of this tool is one nobody holds: lost in a crash, resent by a retry, or left
    // by an earlier run whose state is gone. One read finds them all, whatever happened.
    const removed = await removeOwnSecretsExcept(await ctx.clients.graph(), need(ctx, 'applicationObjectId'), held.keyId);
    delete ctx.state.secret;
    return {
      outputs: { linkedAt: ctx.now().toISOString() },
      summary: `Spot account ${ctx.accountId} now uses appId ${expected.clientId}${removed.length ? `; removed ${removed.length} unused secret(s) this tool had added before` : ''}`,
    };
  },
};

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
    await retryOnLag(stepId, ctx.lagSchedule, secretNotPropagated,
      () => spot.setAzureCredentials(ctx.accountId, { ...expected, clientSecret: secret, expirationDate }),
      { sleep: ctx.sleep, report: ctx.report });
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      throw error.withHint('Spot refused the credentials: fix what its message names, then run the same command again (nothing is created twice).');
    }
    throw error;
  }

  const linked = await spot.getAzureCredentials(ctx.accountId);
  const mismatched = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => linked?.[k]?.toLowerCase() !== expected[k].toLowerCase());
  if (mismatched.length > 0) {
    throw new OnboardError('conflict', `Spot accepted the credentials, but reading them back shows different ${mismatched.join(', ')}.`,
      'Another process may be changing this Spot account; check the account in the Spot console, then run again.');
  }
  return expected;
}
