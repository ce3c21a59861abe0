import type { TokenCredential } from '@azure/identity';
import type { Config } from './config.ts';
import type { ArmApi } from './clients/arm.ts';
import type { GraphApi } from './clients/graph.ts';
import type { SpotApi } from './clients/spot.ts';
import { createArmApi } from './clients/arm.ts';
import { createCredential } from './clients/credential.ts';
import { createGraphApi } from './clients/graph.ts';
import { createSpotApi } from './clients/spot.ts';
import { OnboardError } from './errors.ts';
import type { Redactor } from './redact.ts';
import type { Reporter } from './report.ts';
import type { RetryEffects, RetrySchedule } from './retry.ts';
import type { State } from './state.ts';

/** API clients, each built (and its SDK loaded) only when a step first needs it. */
export interface Clients {
  credential(): Promise<TokenCredential>;
  graph(): Promise<GraphApi>;
  arm(): Promise<ArmApi>;
  spot(): Promise<SpotApi>;
}

/** Everything a step may use; effects come in here so tests can drive the real clients against the emulator. */
export interface Context {
  config: Config;
  accountId: string;
  state: State;
  /** Non-secret outputs of the steps so far, keyed by output name. */
  outputs: Record<string, string>;
  clients: Clients;
  report: Reporter;
  redactor: Redactor;
  lagSchedule: RetrySchedule;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
  /** Writes the state now; steps call it before a request whose effect could otherwise be lost. */
  saveState: () => Promise<void>;
  statePath: string;
  signal: AbortSignal;
}

/** `make` runs on the first call and its promise is shared; a failure is not kept, so a later call tries again. */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
}

/** `effects`: where the Graph client's connection retries sleep and are shown, and where a device code sign-in shows its code. */
export function createClients(config: Config, effects: RetryEffects): Clients {
  const credential = once(() => createCredential(config, (message) => effects.report.info(message)));
  return {
    credential,
    graph: once(async () => createGraphApi(await credential(), config.endpoints.graph, effects)),
    arm: once(async () => createArmApi(await credential(), config.endpoints.arm)),
    spot: once(async () => {
      if (!config.spotToken) {
        throw new OnboardError('invalid-input', 'SPOTINST_TOKEN is not set.',
          'Create a token in the Spot console (Settings → API → Permanent Tokens) as an Organization Admin, then export SPOTINST_TOKEN=… or put it in .env (never on the command line).');
      }
      return createSpotApi({ baseUrl: config.endpoints.spot, token: config.spotToken });
    }),
  };
}

/** A sleep that ends early, with an error, when the run is interrupted. */
export function abortableSleep(signal: AbortSignal): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(interrupted());
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(interrupted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

export function interrupted(): OnboardError {
  return new OnboardError('interrupted', 'Interrupted.', 'Run the same command again to pick up where it stopped.');
}
