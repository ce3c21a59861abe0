import type { Context } from '../core/context.ts';
import { ApiError } from '../core/errors.ts';
import { deleteGraphObject } from '../domain/applications.ts';
import { SECRET_DISPLAY_NAME } from '../domain/client-secrets.ts';
import type { Step } from './step.ts';

/** Deletes the application this tool made (and with it every secret it holds), by the object id in the state. */
export const removeApp: Step<'remove-app'> = {
  id: 'remove-app',
  title: 'Delete the Entra ID application',
  async plan(ctx) {
    const o = ctx.outputs;
    if (!o.applicationObjectId) return { action: 'keep', detail: 'no application was recorded' };
    const also = await foreignSecrets(ctx, o.applicationObjectId);
    return { action: 'remove', detail: `application "${o.appName}" (appId ${o.appId}, object id ${o.applicationObjectId})${also ? `\n    ${also}` : ''}` };
  },
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

/** Secrets someone else added to the app are deleted with it: say so before it happens. */
async function foreignSecrets(ctx: Context, applicationObjectId: string): Promise<string | undefined> {
  const graph = await ctx.clients.graph();
  try {
    const application = await graph.getApplication(applicationObjectId);
    const foreign = application.passwordCredentials.filter((p) => p.displayName !== SECRET_DISPLAY_NAME);
    if (foreign.length === 0) return undefined;
    return `with ${foreign.length} client secret(s) not added by this tool: ${foreign.map((p) => p.displayName ?? p.keyId).join(', ')}`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return '(already gone)';
    throw error;
  }
}
