import type { Application } from '../clients/graph.ts';
import type { Context } from '../core/context.ts';
import { ApiError, OnboardError } from '../core/errors.ts';
import { applicationShape, appNameFor, shapeDifferences, uniqueNameFor } from '../domain/applications.ts';
import type { Step, StepOutputs } from './step.ts';

/**
 * Find-or-create the Entra ID application, keyed on uniqueName, never on the display name; on a re-run,
 * bring it to the shape asked for (name, notes, tags, the property lock), changing only what differs.
 */
export const app: Step<'app'> = {
  id: 'app',
  title: 'Register the Entra ID application',
  reconcile: true,
  async plan(ctx) {
    const graph = await ctx.clients.graph();
    const uniqueName = uniqueNameFor(ctx.accountId);
    const found = await graph.findApplication(uniqueName);
    const wanted = applicationShape(ctx.accountId, displayNameFor(ctx));
    if (!found)
      return { action: 'create', detail: `register application "${wanted.displayName}" (uniqueName ${uniqueName}) with notes, tags and the property lock` };
    const differ = Object.keys(shapeDifferences(found, wanted));
    const what = `application ${found.displayName} (appId ${found.appId}), found by uniqueName ${uniqueName}`;
    return differ.length === 0
      ? { action: 'reuse', detail: what, outputs: outputsOf(found) }
      : { action: 'update', detail: `${what}: set ${differ.join(', ')}`, outputs: outputsOf(found) };
  },
  async run(ctx) {
    const graph = await ctx.clients.graph();
    const wanted = applicationShape(ctx.accountId, displayNameFor(ctx));
    const uniqueName = uniqueNameFor(ctx.accountId);
    // Recorded by an earlier run: read it and change only what differs (a re-run sends no write when nothing does).
    const recorded = ctx.state.steps.app?.outputs;
    const found = recorded ? await graph.findApplication(uniqueName) : undefined;
    if (recorded && !found) {
      // Creating a new one would leave the recorded service principal, role and Spot link pointing at the old one.
      throw new OnboardError(
        'conflict',
        `The application this state records (appId ${recorded.appId}, uniqueName ${uniqueName}) no longer exists: it was deleted outside this tool.`,
        'Run deprovision.ts to clear what is left of the link, move the state file away, then run provision.ts again to link the account anew.',
      );
    }
    if (found) {
      const differ = shapeDifferences(found, wanted);
      const fields = Object.keys(differ);
      if (fields.length === 0) return { outputs: outputsOf(found), summary: `application ${found.displayName} (appId ${found.appId}) is as asked` };
      await graph.updateApplication(found.id, differ);
      return { outputs: outputsOf({ ...found, ...differ }), summary: `updated application ${wanted.displayName} (appId ${found.appId}): ${fields.join(', ')}` };
    }
    let result: Awaited<ReturnType<typeof graph.upsertApplication>>;
    try {
      result = await graph.upsertApplication(uniqueName, wanted);
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
      outputs: outputsOf(application),
      summary: `${created ? 'created' : 'reused'} application ${application.displayName} (appId ${application.appId})`,
    };
  },
};

/** --app-name, else the name an earlier run recorded (a re-run without the flag keeps it), else the default. */
function displayNameFor(ctx: Context): string {
  return ctx.config.appName ?? ctx.state.steps.app?.outputs.appName ?? appNameFor(ctx.accountId, undefined);
}

function outputsOf(application: Pick<Application, 'appId' | 'id' | 'displayName' | 'uniqueName'>): StepOutputs['app'] {
  return {
    appId: application.appId,
    applicationObjectId: application.id,
    appName: application.displayName,
    ...(application.uniqueName ? { uniqueName: application.uniqueName } : {}),
  };
}
