import { asRetry } from './audit.ts';
import type { Reporter } from './reporter.ts';

export interface RetrySchedule {
  /** Give up once this much time has been spent waiting. */
  maxWaitMs: number;
  /** First delay; each later one doubles, up to `maxDelayMs`. */
  initialDelayMs: number;
  /** Kept at half a second so a run ends within about half a second of Azure catching up. */
  maxDelayMs: number;
}

export const defaultLagSchedule: RetrySchedule = { maxWaitMs: 5 * 60_000, initialDelayMs: 200, maxDelayMs: 500 };

export interface RetryEffects {
  sleep: (ms: number) => Promise<void>;
  report: Reporter;
}

/** The delays the schedule allows, in order; its length is the bound on retries. */
export function delays(schedule: RetrySchedule): number[] {
  const out: number[] = [];
  let total = 0;
  let next = schedule.initialDelayMs;
  while (total < schedule.maxWaitMs) {
    const delay = Math.min(next, schedule.maxDelayMs, schedule.maxWaitMs - total);
    out.push(delay);
    total += delay;
    next *= 2;
  }
  return out;
}

/**
 * Runs `attempt` until it succeeds, retrying only while `retryReason` names the failure as one we
 * expect to pass (a documented replication-lag error). Anything else is thrown at once; so is the
 * last failure once the schedule is spent.
 */
export async function retryOnLag<T>(
  stepId: string,
  schedule: RetrySchedule,
  retryReason: (error: unknown) => string | undefined,
  attempt: () => Promise<T>,
  { sleep, report }: RetryEffects,
): Promise<T> {
  const waits = delays(schedule);
  for (let n = 0; ; n++) {
    try {
      return await asRetry(n, attempt);
    } catch (error) {
      const reason = retryReason(error);
      const wait = waits[n];
      if (reason === undefined || wait === undefined) throw error;
      report.retrying(stepId, n + 1, waits.length, reason);
      await sleep(wait);
    }
  }
}
