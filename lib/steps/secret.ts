import { SECRET_DISPLAY_NAME } from '../domain/client-secrets.ts';
import { addHeldSecret, heldUntilLinked, plannedSecretLifetime } from './shared.ts';
import type { Step } from './step.ts';

/**
 * Adds one client secret with an explicit end date. addPassword is the one call that cannot be found
 * again if its answer is lost (a crash, or the Graph client resending it after a 503/504 that Graph
 * had in fact carried out), so any extra secret is left to the link step, which removes every secret
 * of this tool but the linked one.
 */
export const secret: Step<'secret'> = {
  id: 'secret',
  title: 'Add a client secret',
  async plan(ctx) {
    const { endDateTime, fitted } = plannedSecretLifetime(ctx);
    return { action: 'create', detail: `add client secret "${SECRET_DISPLAY_NAME}" valid until ${endDateTime.slice(0, 10)}${fitted ? ` (${fitted})` : ''}` };
  },
  isDone: heldUntilLinked('secret', 'link'),
  doneNote(ctx) {
    const expiresAt = ctx.state.steps.secret?.outputs.secretExpiresAt;
    if (!ctx.config.secretExpiryExplicit || !ctx.state.steps.link || !expiresAt) return undefined;
    return `--secret-expiry ${ctx.config.secretExpiryMonths} applies at the next rotation (rotate-secret.ts gives the new secret that lifetime); the current secret keeps its end date ${expiresAt.slice(0, 10)}`;
  },
  async run(ctx) {
    const created = await addHeldSecret(ctx, this.id);
    const { fitted } = plannedSecretLifetime(ctx);
    return {
      outputs: { secretKeyId: created.keyId, secretExpiresAt: created.endDateTime },
      summary: `added client secret ${created.keyId}, valid until ${created.endDateTime.slice(0, 10)}${fitted ? ` (${fitted})` : ''}`,
    };
  },
};
