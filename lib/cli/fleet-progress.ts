import type { Reporter } from '../core/reporter.ts';

/** Progress of work over many links (or subscriptions) at once: what a person or a log can follow. */
export interface FleetProgress {
  /** One item's work began. */
  started(label: string): void;
  /** One item's work ended; `line` stays on screen (or in the log). */
  finished(label: string, ok: boolean, line: string): void;
  /**
   * What one item's work has to say while it runs (a retry, a warning), tagged with its label; with
   * `steps`, each finished step too (a fleet of subscriptions, where each step is worth a line).
   */
  reporter(label: string, options?: { steps?: boolean }): Reporter;
  /** Prints the closing summary and stops the clock. */
  close(): void;
}

export interface FleetProgressOptions {
  total: number;
  /** true: a terminal; the summary is one line redrawn in place below the finished items. */
  live: boolean;
  /** Raw output; a live summary is written without a newline. */
  write: (text: string) => void;
  now?: () => number;
  /** Calls `tick` every `ms` until the returned function is called; tests drive it by hand. */
  every?: (tick: () => void, ms: number) => () => void;
  /** Plain mode: how often the summary line is repeated. */
  plainIntervalMs?: number;
}

/** A log line every few seconds shows a pipeline reader that the job is alive without flooding it. */
const PLAIN_INTERVAL_MS = 5_000;
const LIVE_REDRAW_MS = 1_000;
const ERASE = '\r\x1b[2K';

const defaultEvery = (tick: () => void, ms: number) => {
  // unref: progress must never keep the process alive.
  const timer = setInterval(tick, ms).unref();
  return () => clearInterval(timer);
};

/**
 * At a terminal: finished items scroll up, and one summary line (done / failed / in flight / total,
 * elapsed, an estimate of the time left) is redrawn below them. In a pipeline: timestamped lines, and
 * the summary every few seconds and at the end.
 */
export function fleetProgress({
  total,
  live,
  write,
  now = Date.now,
  every = defaultEvery,
  plainIntervalMs = PLAIN_INTERVAL_MS,
}: FleetProgressOptions): FleetProgress {
  const started = now();
  let done = 0;
  let failed = 0;
  let inFlight = 0;
  const stamp = () => `[${new Date(now()).toISOString().slice(11, 19)}]`;
  const summary = () => {
    const elapsed = now() - started;
    const finished = done + failed;
    const left = finished > 0 && finished < total ? ` · about ${duration((elapsed / finished) * (total - finished))} left` : '';
    return `${done} done, ${failed} failed, ${inFlight} in flight of ${total} · ${duration(elapsed)} elapsed${left}`;
  };
  const drawSummary = () => write(`${ERASE}${summary()}`);
  const line = (text: string) => {
    if (!live) return write(`${stamp()} ${text}\n`);
    write(`${ERASE}${text}\n`);
    drawSummary();
  };
  const stop = live ? every(drawSummary, LIVE_REDRAW_MS) : every(() => write(`${stamp()} ⋯ ${summary()}\n`), plainIntervalMs);
  if (live) drawSummary();

  return {
    started() {
      inFlight++;
      if (live) drawSummary();
    },
    finished(_label, ok, text) {
      inFlight--;
      if (ok) done++;
      else failed++;
      line(`${ok ? '✔' : '✖'} ${text}`);
    },
    reporter: (label, { steps = false } = {}) => ({
      // Every step's start of hundreds of items would bury the summary; the in-flight count stands for them.
      stepStart: () => undefined,
      stepDone: (id, text) => (steps ? line(`✔ [${label}] ${id}: ${text}`) : undefined),
      stepFailed: (id, text) => (steps ? line(`✖ [${label}] ${id}: ${text}`) : undefined),
      retrying: (id, attempt, max, reason) => line(`↻ ${label} retrying ${id} (${attempt}/${max}): ${reason}`),
      info: (message) => line(`ℹ ${label} ${message}`),
      warn: (message) => line(`⚠ ${label} ${message}`),
    }),
    close() {
      stop();
      if (live) write(`${ERASE}${summary()}\n`);
      else write(`${stamp()} ⋯ ${summary()}\n`);
    },
  };
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
}
