import type { GraphApi } from '../clients/graph.ts';
import { ApiError } from '../core/errors.ts';

/** The display name this tool gives every client secret it adds: how it recognises its own, and only its own. */
export const SECRET_DISPLAY_NAME = 'spot-azure-onboard';

/**
 * Removes the secrets this tool added to the application except `keep`: ones whose creation answer was
 * lost in a crash, or replaced by a rotation. Secrets with any other display name are never touched.
 */
export async function removeOwnSecretsExcept(graph: GraphApi, applicationObjectId: string, keep: string): Promise<string[]> {
  const application = await graph.getApplication(applicationObjectId);
  const strays = application.passwordCredentials.filter((p) => p.displayName === SECRET_DISPLAY_NAME && p.keyId !== keep);
  for (const stray of strays) {
    try {
      await graph.removePassword(applicationObjectId, stray.keyId);
    } catch (error) {
      // Already removed (by a run that crashed after removing it): the goal is met.
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 400))) throw error;
    }
  }
  return strays.map((s) => s.keyId);
}
