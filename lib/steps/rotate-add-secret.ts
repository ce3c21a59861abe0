import { addOwnSecret } from './secret.ts';
import { need, type Step } from './step.ts';

/**
 * Adds the rotation's new client secret and holds its value in the state until Spot has it. A crash
 * before the answer is recorded leaves a secret nobody saw; rotate-remove-old removes it with the old one.
 */
export const rotateAddSecret: Step = {
  id: 'rotate-add-secret',
  title: 'Add a new client secret',
  // As for `secret`: without the held value (and without a link) the new secret is useless, so add another.
  isDone: (state) => state.steps['rotate-add-secret'] !== undefined && (state.secret !== undefined || state.steps['rotate-link'] !== undefined),
  async run(ctx) {
    const created = await addOwnSecret(ctx, this.id, need(ctx, 'applicationObjectId'));
    ctx.state.secret = { keyId: created.keyId, value: created.secretText };
    return {
      outputs: { newSecretKeyId: created.keyId, newSecretExpiresAt: created.endDateTime },
      summary: `added client secret ${created.keyId}, valid until ${created.endDateTime.slice(0, 10)}`,
    };
  },
};
