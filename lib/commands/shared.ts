import { checkSignIn } from '../clients/credential.ts';
import type { Context } from '../core/context.ts';
import { OnboardError } from '../core/errors.ts';
import { assertSameTenant, type State } from '../core/state.ts';

/**
 * One token now, so a sign-in problem is reported as such before the first Graph or ARM call; then,
 * for a state that records its tenant, a check that it is the one signed in to: in another tenant
 * every object the state records would look "already gone".
 */
export async function checkSignInToStateTenant(ctx: Context): Promise<void> {
  const tokenTenant = await checkSignIn(await ctx.clients.credential(), ctx.config.endpoints, ctx.config.credentialSources);
  if (!ctx.state.tenantId) return;
  // The token names its tenant, which needs no Graph permission (a status job's service principal may have none).
  const signedIn = tokenTenant ?? (await (await ctx.clients.graph()).tenant()).id;
  assertSameTenant(ctx.state, ctx.statePath, signedIn);
}

/** The day-two commands start from a state file that records something; `why` finishes the sentence. */
export function requireRecorded(state: State, path: string, why = ''): void {
  if (Object.keys(state.steps).length > 0) return;
  throw new OnboardError(
    'state',
    `Nothing is recorded for Spot account ${state.accountId} in ${path}${why}.`,
    'Run this where you ran provision.ts, or pass --state with the state file it wrote; to link the account, run provision.ts.',
  );
}
