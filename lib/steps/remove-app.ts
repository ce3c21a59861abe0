import { ApiError } from '../errors.ts';
import type { Step } from './step.ts';

/** Runs a Graph delete; an object that is already gone is what we wanted. */
export async function removeGraphObject(remove: () => Promise<void>): Promise<'removed' | 'already gone'> {
  try {
    await remove();
    return 'removed';
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return 'already gone';
    if (error instanceof ApiError && error.status === 403) {
      throw error.withHint('Deleting it needs the rights that created it: run as the same user, or as an Application Administrator, then run again.');
    }
    throw error;
  }
}

/** Deletes the application this tool made (and with it every secret it holds), by the object id in the state. */
export const removeApp: Step = {
  id: 'remove-app',
  title: 'Delete the Entra ID application',
  async run(ctx) {
    const id = ctx.outputs.applicationObjectId;
    if (!id) return { outputs: { applicationRemoval: 'kept' }, summary: 'no application was recorded' };
    const graph = await ctx.clients.graph();
    const result = await removeGraphObject(() => graph.deleteApplication(id));
    return { outputs: { applicationRemoval: result }, summary: `${result === 'removed' ? 'deleted' : 'already gone:'} application ${ctx.outputs.appName ?? ''} (appId ${ctx.outputs.appId ?? '?'}, object id ${id})` };
  },
};
