import { deleteGraphObject } from '../domain/applications.ts';
import type { Step } from './step.ts';

/** Deletes the service principal this tool made, by the object id in the state. */
export const removeServicePrincipal: Step<'remove-service-principal'> = {
  id: 'remove-service-principal',
  title: 'Delete the service principal',
  async plan({ outputs: o }) {
    if (!o.servicePrincipalId) return { action: 'keep', detail: 'no service principal was recorded' };
    return { action: 'remove', detail: `service principal ${o.servicePrincipalId} (appId ${o.appId})` };
  },
  async run(ctx) {
    const id = ctx.outputs.servicePrincipalId;
    if (!id) return { outputs: { servicePrincipalRemoval: 'kept' }, summary: 'no service principal was recorded' };
    const graph = await ctx.clients.graph();
    const result = await deleteGraphObject(() => graph.deleteServicePrincipal(id));
    return { outputs: { servicePrincipalRemoval: result }, summary: `${result === 'removed' ? 'deleted' : 'already gone:'} service principal ${id}` };
  },
};
