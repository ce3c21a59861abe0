import type { AnyStep, StepId, StepPlan } from '../steps/step.ts';
import type { Context } from './context.ts';
import { interrupted } from './interrupt.ts';
import type { StateStore } from './state.ts';

export interface PlanEntry {
  id: StepId;
  title: string;
  action: 'done' | 'check' | StepPlan['action'];
  detail: string;
}

/** What finished steps recorded, for the steps after them to read. */
export function loadRecordedOutputs(ctx: Context): void {
  for (const record of Object.values(ctx.state.steps)) Object.assign(ctx.outputs, record.outputs);
}

export function isDone(step: AnyStep, ctx: Context): boolean {
  return step.isDone ? step.isDone(ctx) : ctx.state.steps[step.id] !== undefined;
}

/**
 * Walks the steps in order. A step recorded as done is skipped (its outputs come from the state); any
 * other step runs, and its outputs are recorded only after it returns, so a crash mid-step means it
 * runs again — which is why every step is find-or-create.
 */
export async function runSteps(ctx: Context, steps: AnyStep[], store: StateStore): Promise<void> {
  loadRecordedOutputs(ctx);
  for (const step of steps) {
    if (ctx.signal.aborted) throw interrupted();
    if (!step.always && !step.reconcile && isDone(step, ctx)) {
      ctx.report.stepDone(step.id, withNote('already done', step, ctx));
      continue;
    }
    ctx.report.stepStart(step.id, step.title);
    let result: Awaited<ReturnType<AnyStep['run']>>;
    try {
      result = await step.run(ctx);
    } catch (error) {
      ctx.report.stepFailed(step.id, error instanceof Error ? error.message.split('\n')[0]! : String(error));
      throw error;
    }
    Object.assign(ctx.outputs, result.outputs);
    // Read-only checks leave nothing to record: the first write comes after the state's owner is confirmed.
    if (!step.always) {
      record(ctx, step.id, result.outputs);
      await store.save(ctx.state);
    }
    ctx.report.stepDone(step.id, result.summary);
  }
}

/**
 * The same walk as `runSteps`, changing nothing: steps recorded as done are reported from the state,
 * read-only steps run (their outputs feed the rest), and every other step says what it would do.
 */
export async function planSteps(ctx: Context, steps: AnyStep[]): Promise<PlanEntry[]> {
  loadRecordedOutputs(ctx);
  const plan: PlanEntry[] = [];
  for (const step of steps) {
    const entry = { id: step.id, title: step.title };
    if (!step.always && !step.reconcile && isDone(step, ctx)) {
      plan.push({ ...entry, action: 'done', detail: withNote('already done (from state)', step, ctx) });
    } else if (step.always || step.readOnly) {
      const result = await step.run(ctx);
      Object.assign(ctx.outputs, result.outputs);
      plan.push({ ...entry, action: 'check', detail: result.summary });
    } else if (step.plan) {
      const planned = await step.plan(ctx);
      Object.assign(ctx.outputs, planned.outputs ?? {});
      // A reconciling step that is recorded and finds nothing to change is as done as any other.
      if (step.reconcile && planned.action === 'reuse' && isDone(step, ctx)) plan.push({ ...entry, action: 'done', detail: 'already done (from state)' });
      else plan.push({ ...entry, action: planned.action, detail: planned.detail });
    } else {
      plan.push({ ...entry, action: 'create', detail: step.title });
    }
  }
  return plan;
}

function withNote(done: string, step: AnyStep, ctx: Context): string {
  const note = step.doneNote?.(ctx);
  return note ? `${done}; ${note}` : done;
}

/** A step's outputs under its id; `run` of that very step produced them, which the compiler cannot follow through AnyStep. */
function record(ctx: Context, id: StepId, outputs: Awaited<ReturnType<AnyStep['run']>>['outputs']): void {
  (ctx.state.steps as Record<StepId, unknown>)[id] = { outputs, at: ctx.now().toISOString() };
}
