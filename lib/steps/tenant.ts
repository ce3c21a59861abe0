import { OnboardError } from '../errors.ts';
import type { Step } from './step.ts';

/** The directory the app will live in: the signed-in identity's own tenant. */
export const tenant: Step = {
  id: 'tenant',
  title: 'Read the Entra ID tenant',
  readOnly: true,
  async run(ctx) {
    const graph = await ctx.clients.graph();
    const organization = await graph.tenant();
    if (ctx.state.tenantId && ctx.state.tenantId !== organization.id) {
      throw new OnboardError('state', `The state file was made in tenant ${ctx.state.tenantId}, but you are signed in to tenant ${organization.id}.`,
        'Sign in to the tenant the state file was made for (az login --tenant …), or pass --state with a different path.');
    }
    ctx.state.tenantId = organization.id;
    return { outputs: { tenantId: organization.id, tenantName: organization.displayName }, summary: `${organization.displayName} (${organization.id})` };
  },
};
