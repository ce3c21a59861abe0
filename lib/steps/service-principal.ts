import { retryOnLag } from '../core/retry.ts';
import { applicationNotReplicated } from '../domain/replication-lag.ts';
import { need, type Step } from './step.ts';

/** Find-or-create the application's service principal: the identity that holds the role. */
export const servicePrincipal: Step<'service-principal'> = {
  id: 'service-principal',
  title: 'Create the service principal',
  async plan(ctx) {
    const appId = ctx.outputs.appId;
    const found = appId ? await (await ctx.clients.graph()).findServicePrincipal(appId) : undefined;
    if (!found) return { action: 'create', detail: 'create the service principal of the application' };
    return { action: 'reuse', detail: `service principal ${found.id}`, outputs: { servicePrincipalId: found.id } };
  },
  async run(ctx) {
    const graph = await ctx.clients.graph();
    const appId = need(ctx, 'appId');
    const { servicePrincipal: sp, created } = await retryOnLag(this.id, ctx.lagSchedule, applicationNotReplicated, () => graph.upsertServicePrincipal(appId), {
      sleep: ctx.sleep,
      report: ctx.report,
    });
    return { outputs: { servicePrincipalId: sp.id }, summary: `${created ? 'created' : 'reused'} service principal ${sp.id}` };
  },
};
