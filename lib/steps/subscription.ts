import { OnboardError } from '../core/errors.ts';
import { need, type Step } from './step.ts';

/** Records the subscription preflight checked, and that it belongs to the tenant the app is created in. */
export const subscription: Step<'subscription'> = {
  id: 'subscription',
  title: 'Choose the subscription',
  readOnly: true,
  async run(ctx) {
    const subscriptionId = need(ctx, 'subscriptionId');
    const subscriptionName = need(ctx, 'subscriptionName');
    const owner = ctx.outputs.subscriptionTenantId;
    const tenantId = need(ctx, 'tenantId');
    if (owner && owner !== tenantId) {
      throw new OnboardError(
        'invalid-input',
        `Subscription ${subscriptionId} belongs to tenant ${owner}, but you are signed in to tenant ${tenantId}; a service principal from one tenant cannot hold roles in another.`,
        `Sign in to the subscription's tenant: az login --tenant ${owner} (or set AZURE_TENANT_ID).`,
      );
    }
    ctx.state.subscriptionId = subscriptionId;
    return { outputs: { subscriptionId, subscriptionName }, summary: `${subscriptionName} (${subscriptionId})` };
  },
};
