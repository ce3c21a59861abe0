import { handToSpot } from './shared.ts';
import { need, type Step } from './step.ts';

/** Hands the new secret to Spot and reads it back; from then on it is the link's secret and the value is forgotten. */
export const rotateLink: Step<'rotate-link'> = {
  id: 'rotate-link',
  title: 'Give Spot the new client secret',
  async run(ctx) {
    const held = ctx.heldSecret;
    if (!held) throw new Error('internal: rotate-link ran without a held client secret');
    const expiresAt = need(ctx, 'newSecretExpiresAt');
    await handToSpot(ctx, this.id, held.value, expiresAt);
    // Recorded in the same write as this step: status and a later provision run see the secret Spot holds.
    ctx.state.steps.secret = { outputs: { secretKeyId: held.keyId, secretExpiresAt: expiresAt }, at: ctx.now().toISOString() };
    delete ctx.heldSecret;
    return { outputs: { rotatedAt: ctx.now().toISOString() }, summary: `Spot account ${ctx.accountId} now uses client secret ${held.keyId}` };
  },
};
