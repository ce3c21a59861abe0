import { deleteGraphObject } from '../domain/applications.ts';
import type { Step } from './step.ts';

/** Deletes the application this tool made (and with it every secret it holds), by the object id in the state. */
export const removeApp: Step = {
  id: 'remove-app',
  title: 'Delete the Entra ID application',
  async run(ctx) {
    const id = ctx.outputs.applicationObjectId;
    if (!id) return { outputs: { applicationRemoval: 'kept' }, summary: 'no application was recorded' };
    const graph = await ctx.clients.graph();
    const result = await deleteGraphObject(() => graph.deleteApplication(id));
    return {
      outputs: { applicationRemoval: result },
      summary: `${result === 'removed' ? 'deleted' : 'already gone:'} application ${ctx.outputs.appName ?? ''} (appId ${ctx.outputs.appId ?? '?'}, object id ${id})`,
    };
  },
};
