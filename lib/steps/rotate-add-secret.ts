import { addHeldSecret, heldUntilLinked } from './shared.ts';
import type { Step } from './step.ts';

/**
 * Adds the rotation's new client secret and holds its value in memory only until Spot has it. A crash
 * before Spot has it leaves a secret nobody holds; rotate-remove-old removes it with the old one.
 */
export const rotateAddSecret: Step<'rotate-add-secret'> = {
  id: 'rotate-add-secret',
  title: 'Add a new client secret',
  isDone: heldUntilLinked('rotate-add-secret', 'rotate-link'),
  async run(ctx) {
    const created = await addHeldSecret(ctx, this.id);
    return {
      outputs: { newSecretKeyId: created.keyId, newSecretExpiresAt: created.endDateTime },
      summary: `added client secret ${created.keyId}, valid until ${created.endDateTime.slice(0, 10)}`,
    };
  },
};
