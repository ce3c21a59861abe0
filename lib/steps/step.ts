import type { Context } from '../core/context.ts';
import type { Outputs, StepId, StepOutputs } from './outputs.ts';

export type { Outputs, StepId, StepOutputs } from './outputs.ts';

export interface StepResult<K extends StepId = StepId> {
  /** Non-secret values the state file records and later steps read (ids, dates). */
  outputs: StepOutputs[K];
  /** One line for the person watching: what was created, reused or checked. */
  summary: string;
}

/** What a step would do, found by reading only: the line of the plan that --dry-run prints. */
export interface StepPlan<K extends StepId = StepId> {
  /** remove and keep: what deprovision's steps would do with an object the state records. */
  action: 'create' | 'reuse' | 'update' | 'remove' | 'keep';
  detail: string;
  /** What was found (ids of objects to reuse), so later steps can look further. */
  outputs?: Partial<StepOutputs[K]>;
}

/** One unit of the onboarding: find what exists, create what is missing, return what it found or made. */
export interface Step<K extends StepId = StepId> {
  id: K;
  title: string;
  /** Run on every invocation even when recorded as done (read-only checks). */
  always?: boolean;
  /**
   * Runs even when recorded, and is recorded again: its `run` reads what exists and changes only what
   * differs from what the options ask (a re-run with other options converges; one with the same sends no write).
   */
  reconcile?: boolean;
  /** Only reads: a plan runs it for real, since later steps need what it reads. */
  readOnly?: boolean;
  /** Read-only look at what `run` would do; without it the plan says the step will run. */
  plan?(ctx: Context): Promise<StepPlan<K>>;
  /** What a step that need not run says about an option given now that applies only later. */
  doneNote?(ctx: Context): string | undefined;
  /** Whether this step need not run again; the default is "the state has its record". */
  isDone?(ctx: Context): boolean;
  run(ctx: Context): Promise<StepResult<K>>;
}

/** Any one step, whatever its id: what a command's list of steps holds. */
export type AnyStep = { [K in StepId]: Step<K> }[StepId];

/** An output an earlier step must have produced; a missing one is a bug in the step order, not user error. */
export function need<N extends keyof Outputs>(ctx: Context, name: N): NonNullable<Outputs[N]> {
  const value = ctx.outputs[name];
  if (value === undefined) throw new Error(`internal: output "${name}" is not available yet`);
  return value as NonNullable<Outputs[N]>;
}
