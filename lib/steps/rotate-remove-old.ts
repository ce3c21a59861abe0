import { removeOwnSecretsExcept } from '../domain/client-secrets.ts';
import { need, type Step } from './step.ts';

/**
 * Removes every secret this tool added except the one Spot now holds: the superseded one, and any
 * whose creation answer an interrupted run lost. Runs only after rotate-link, so Spot never holds a removed secret.
 */
export const rotateRemoveOld: Step<'rotate-remove-old'> = {
  id: 'rotate-remove-old',
  title: 'Remove the old client secret',
  async run(ctx) {
    if (!ctx.state.steps['rotate-link']) throw new Error('internal: rotate-remove-old ran before Spot held the new secret');
    const graph = await ctx.clients.graph();
    const removed = await removeOwnSecretsExcept(graph, need(ctx, 'applicationObjectId'), need(ctx, 'newSecretKeyId'));
    return {
      outputs: {},
      summary: removed.length > 0 ? `removed client secret${removed.length > 1 ? 's' : ''} ${removed.join(', ')}` : 'no old client secret was left to remove',
    };
  },
};
