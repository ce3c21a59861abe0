/** What the runner and the steps tell the person watching. The writer behind it redacts secrets. */
export interface Reporter {
  stepStart(id: string, title: string): void;
  stepDone(id: string, summary: string): void;
  stepFailed(id: string, message: string): void;
  retrying(id: string, attempt: number, max: number, reason: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface LineReporterOptions {
  write: (line: string) => void;
  now?: () => Date;
  timestamps?: boolean;
}

/** Plain, timestamped lines: what a log file, a CI job or a screen reader wants. */
export function lineReporter({ write, now = () => new Date(), timestamps = true }: LineReporterOptions): Reporter {
  const emit = (mark: string, text: string) => {
    const time = timestamps ? `[${now().toISOString().slice(11, 19)}] ` : '';
    write(`${time}${mark} ${text}`);
  };
  return {
    stepStart: (id, title) => emit('…', `${id}: ${title}`),
    stepDone: (id, summary) => emit('✔', `${id}: ${summary}`),
    stepFailed: (id, message) => emit('✖', `${id}: ${message}`),
    retrying: (id, attempt, max, reason) => emit('↻', `retrying ${id} (${attempt}/${max}): ${reason}`),
    info: (message) => emit('ℹ', message),
    warn: (message) => emit('⚠', message),
  };
}
