import type { Clients } from '../clients/clients.ts';
import type { Config } from '../config/config.ts';
import type { SecretRules } from '../domain/secret-policy.ts';
import type { Outputs } from '../steps/outputs.ts';
import type { Redactor } from './redact.ts';
import type { Reporter } from './reporter.ts';
import type { RetrySchedule } from './retry.ts';
import type { State } from './state.ts';

/** Everything a step may use; effects come in here so tests can drive the real clients against the emulator. */
export interface Context {
  config: Config;
  accountId: string;
  state: State;
  /** Non-secret outputs of the steps so far, keyed by output name. */
  outputs: Outputs;
  /**
   * The client secret from addPassword until Spot has accepted it: in memory only, never in the state
   * or any other file. A run that stops in between leaves nobody holding it; the next run adds a fresh
   * one and the link step removes the lost one.
   */
  heldSecret?: { keyId: string; value: string };
  /** What the tenant's app management policy allows a new secret, when preflight could read it. */
  secretRules?: SecretRules;
  clients: Clients;
  report: Reporter;
  redactor: Redactor;
  lagSchedule: RetrySchedule;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
  statePath: string;
  /**
   * Writes the state now: for a step that makes two changes, to record what it began before the first,
   * so a run stopped between them finishes the pair (the runner saves a step's outputs after it returns).
   */
  saveState: () => Promise<void>;
  signal: AbortSignal;
}
