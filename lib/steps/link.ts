import { ApiError, OnboardError } from '../errors.ts';
import { secretNotPropagated } from '../lag.ts';
import { retryOnLag } from '../retry.ts';
import { removeOwnSecretsExcept } from '../secrets.ts';
import { need, type Step } from './step.ts';

/** Hand the four values and the expiry to Spot, read them back, then forget the secret. */
export const link: Step = {
  id: 'link',
  title: 'Link the Spot account to the subscription',
  async run(ctx) {
    const spot = await ctx.clients.spot();
    const held = ctx.state.secret;
    if (!held) throw new Error('internal: the link step ran without a held client secret');
    const expected = { clientId: need(ctx, 'appId'), tenantId: need(ctx, 'tenantId'), subscriptionId: need(ctx, 'subscriptionId') };
    try {
      await retryOnLag(this.id, ctx.lagSchedule, secretNotPropagated,
        () => spot.setAzureCredentials(ctx.accountId, { ...expected, clientSecret: held.value, expirationDate: need(ctx, 'secretExpiresAt') }),
        { sleep: ctx.sleep, report: ctx.report });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        throw error.withHint('Spot could not validate the credentials. Check the Spot error above; once fixed, run the same command again (nothing is created twice).');
      }
      throw error;
    }

    const linked = await spot.getAzureCredentials(ctx.accountId);
    const mismatched = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => linked?.[k]?.toLowerCase() !== expected[k].toLowerCase());
    if (mismatched.length > 0) {
      throw new OnboardError('conflict', `Spot accepted the credentials, but reading them back shows different ${mismatched.join(', ')}.`,
        'Another process may be changing this Spot account; check the account in the Spot console, then run again.');
    }

    const pending = ctx.state.pending ?? {};
    let removed: string[] = [];
    if (pending.strays) {
      const graph = await ctx.clients.graph();
      removed = await removeOwnSecretsExcept(graph, need(ctx, 'applicationObjectId'), held.keyId);
      delete pending.strays;
    }
    delete ctx.state.secret;
    return {
      outputs: { linkedAt: ctx.now().toISOString() },
      summary: `Spot account ${ctx.accountId} now uses appId ${expected.clientId}${removed.length ? `; removed ${removed.length} unused secret(s) left by an interrupted run` : ''}`,
    };
  },
};
