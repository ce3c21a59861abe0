import { removeOwnSecretsExcept } from '../domain/client-secrets.ts';
import { handToSpot, planRelease, releasePrevious } from './shared.ts';
import { need, type Step } from './step.ts';

/** Hand the four values and the expiry to Spot, read them back, remove this tool's other secrets, forget the value. */
export const link: Step<'link'> = {
  id: 'link',
  title: 'Link the Spot account to the subscription',
  async plan(ctx) {
    const linked = await (await ctx.clients.spot()).getAzureCredentials(ctx.accountId);
    const what = `give Spot account ${ctx.accountId} the application's credentials for subscription ${need(ctx, 'subscriptionId')} and read them back`;
    const release = await planRelease(ctx);
    const replacing = linked && linked.clientId !== ctx.outputs.appId ? `, replacing the credentials of clientId ${linked.clientId}` : '';
    return linked
      ? {
          action: 'update',
          detail: `${what} (it now holds clientId ${linked.clientId}, subscription ${linked.subscriptionId})${replacing}${release ? `; then ${release}` : ''}`,
        }
      : { action: 'create', detail: what };
  },
  async run(ctx) {
    const held = ctx.heldSecret;
    if (!held) throw new Error('internal: the link step ran without a held client secret');
    const expected = await handToSpot(ctx, this.id, held.value, need(ctx, 'secretExpiresAt'));

    // Every other secret of this tool is one nobody holds: lost in a crash, resent by a retry, or left
    // by an earlier run whose state is gone. One read finds them all, whatever happened.
    const removed = await removeOwnSecretsExcept(await ctx.clients.graph(), need(ctx, 'applicationObjectId'), held.keyId);
    delete ctx.heldSecret;
    const released = await releasePrevious(ctx);
    const replaced = ctx.outputs.spotLinkedClientId;
    return {
      outputs: { linkedAt: ctx.now().toISOString() },
      summary: [
        `Spot account ${ctx.accountId} now uses appId ${expected.clientId}`,
        ...(replaced && replaced !== expected.clientId ? [`replaced the credentials of clientId ${replaced}`] : []),
        ...(removed.length ? [`removed ${removed.length} unused secret(s) this tool had added before`] : []),
        ...(released ? [released] : []),
      ].join('; '),
    };
  },
};
