import { ApiError } from '../core/errors.ts';
import { appNameFor, uniqueNameFor } from '../domain/applications.ts';
import type { Step } from './step.ts';

/** Find-or-create the Entra ID application, keyed on uniqueName, never on the display name. */
export const app: Step<'app'> = {
  id: 'app',
  title: 'Register the Entra ID application',
  async plan(ctx) {
    const graph = await ctx.clients.graph();
    const uniqueName = uniqueNameFor(ctx.accountId);
    const found = await graph.findApplication(uniqueName);
    if (!found) return { action: 'create', detail: `register application "${appNameFor(ctx.accountId, ctx.config.appName)}" (uniqueName ${uniqueName})` };
    return {
      action: 'reuse',
      detail: `application ${found.displayName} (appId ${found.appId}), found by uniqueName ${uniqueName}`,
      outputs: { appId: found.appId, applicationObjectId: found.id, appName: found.displayName },
    };
  },
  async run(ctx) {
    const graph = await ctx.clients.graph();
    const displayName = appNameFor(ctx.accountId, ctx.config.appName);
    let result: Awaited<ReturnType<typeof graph.upsertApplication>>;
    try {
      result = await graph.upsertApplication(uniqueNameFor(ctx.accountId), displayName);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403 && error.code === 'Authorization_RequestDenied') {
        throw error.withHint(
          'Ask an administrator to turn on "Users can register applications" (Entra ID → User settings) or to give you the Application Developer role, then run again.',
          'You may not register applications in this tenant (Graph 403 Authorization_RequestDenied).',
        );
      }
      throw error;
    }
    const { application, created } = result;
    return {
      outputs: { appId: application.appId, applicationObjectId: application.id, appName: application.displayName, uniqueName: uniqueNameFor(ctx.accountId) },
      summary: `${created ? 'created' : 'reused'} application ${application.displayName} (appId ${application.appId})`,
    };
  },
};
