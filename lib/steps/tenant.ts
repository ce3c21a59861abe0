import { assertSameTenant } from '../core/state.ts';
import type { Step } from './step.ts';

/** The directory the app will live in: the signed-in identity's own tenant. */
export const tenant: Step<'tenant'> = {
  id: 'tenant',
  title: 'Read the Entra ID tenant',
  readOnly: true,
  async run(ctx) {
    const graph = await ctx.clients.graph();
    const organization = await graph.tenant();
    assertSameTenant(ctx.state, ctx.statePath, organization.id);
    ctx.state.tenantId = organization.id;
    ctx.state.cloud = ctx.config.cloud;
    return { outputs: { tenantId: organization.id, tenantName: organization.displayName }, summary: `${organization.displayName} (${organization.id})` };
  },
};
