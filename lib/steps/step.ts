import type { Context } from '../core/context.ts';
import type { State } from '../core/state.ts';

export type StepId =
  | 'preflight'
  | 'tenant'
  | 'subscription'
  | 'app'
  | 'service-principal'
  | 'secret'
  | 'role'
  | 'link'
  | 'rotate-add-secret'
  | 'rotate-link'
  | 'rotate-remove-old'
  | 'remove-role'
  | 'remove-service-principal'
  | 'remove-app'
  | 'remove-spot-account';

export interface StepResult {
  /** Non-secret values the state file records and later steps read (ids, dates). */
  outputs: Record<string, string>;
  /** One line for the person watching: what was created, reused or checked. */
  summary: string;
}

/** What a step would do, found by reading only: the line of the plan that --dry-run prints. */
export interface StepPlan {
  action: 'create' | 'reuse' | 'update';
  detail: string;
  /** What was found (ids of objects to reuse), so later steps can look further. */
  outputs?: Record<string, string>;
}

/** One unit of the onboarding: find what exists, create what is missing, return what it found or made. */
export interface Step {
  id: StepId;
  title: string;
  /** Run on every invocation even when recorded as done (read-only checks). */
  always?: boolean;
  /** Only reads: a plan runs it for real, since later steps need what it reads. */
  readOnly?: boolean;
  /** Read-only look at what `run` would do; without it the plan says the step will run. */
  plan?(ctx: Context): Promise<StepPlan>;
  /** Whether the recorded state means this step need not run again; the default is "it has a record". */
  isDone?(state: State): boolean;
  run(ctx: Context): Promise<StepResult>;
}

/** An output an earlier step must have produced; a missing one is a bug in the step order, not user error. */
export function need(ctx: Context, name: string): string {
  const value = ctx.outputs[name];
  if (value === undefined) throw new Error(`internal: output "${name}" is not available yet`);
  return value;
}
