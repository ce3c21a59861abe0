import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config/config.ts';
import { OnboardError } from '../core/errors.ts';
import { once } from '../core/once.ts';
import type { RetryEffects } from '../core/retry.ts';
import { type ArmApi, createArmApi } from './arm.ts';
import { createCredential } from './credential.ts';
import { createGraphApi, type GraphApi } from './graph.ts';
import { createSpotApi, type SpotApi } from './spot.ts';
import { withTokenCache } from './token-cache.ts';

/** API clients, each built (and its SDK loaded) only when a step first needs it. */
export interface Clients {
  credential(): Promise<TokenCredential>;
  graph(): Promise<GraphApi>;
  arm(): Promise<ArmApi>;
  spot(): Promise<SpotApi>;
}

/** `effects`: where the Graph client's connection retries sleep and are shown, and where a device code sign-in shows its code. */
export function createClients(config: Config, effects: RetryEffects): Clients {
  const credential = once(async () => withTokenCache(await createCredential(config, (message) => effects.report.info(message))));
  return {
    credential,
    graph: once(async () => createGraphApi(await credential(), config.endpoints.graph, effects)),
    arm: once(async () => createArmApi(await credential(), config.endpoints.arm)),
    spot: once(async () => {
      if (!config.spotToken) {
        throw new OnboardError(
          'invalid-input',
          'SPOTINST_TOKEN is not set.',
          'Create a token in the Spot console (Settings → API → Permanent Tokens) as an Organization Admin, then export SPOTINST_TOKEN=… or put it in .env (never on the command line).',
        );
      }
      return createSpotApi({ baseUrl: config.endpoints.spot, token: config.spotToken });
    }),
  };
}
