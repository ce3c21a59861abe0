import type { Reporter } from '../core/reporter.ts';

export interface LineReporterOptions {
  write: (line: string) => void;
  now?: () => Date;
}

/** Plain, timestamped lines: what a log file, a CI job or a screen reader wants. */
export function lineReporter({ write, now = () => new Date() }: LineReporterOptions): Reporter {
  const emit = (mark: string, text: string) => write(`[${now().toISOString().slice(11, 19)}] ${mark} ${text}`);
  return {
    stepStart: (id, title) => emit('…', `${id}: ${title}`),
    stepDone: (id, summary) => emit('✔', `${id}: ${summary}`),
    stepFailed: (id, message) => emit('✖', `${id}: ${message}`),
    retrying: (id, attempt, max, reason) => emit('↻', `retrying ${id} (${attempt}/${max}): ${reason}`),
    info: (message) => emit('ℹ', message),
    warn: (message) => emit('⚠', message),
  };
}

export interface LiveReporterOptions {
  /** A terminal: the live line is redrawn in place with ANSI erase-line codes. */
  stream: NodeJS.WriteStream;
  redact: (text: string) => string;
  now?: () => number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/**
 * For a person at a terminal: the running step is one live line with a spinner and its elapsed time;
 * retries show inside it ("waiting for Entra ID … 3/601"); a finished step leaves one line behind.
 */
export function liveReporter({ stream, redact, now = () => Date.now() }: LiveReporterOptions): Reporter {
  let current: { id: string; text: string; started: number } | undefined;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const elapsed = () => (current ? `${((now() - current.started) / 1000).toFixed(1)}s` : '');
  const draw = () => {
    if (!current) return;
    stream.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} ${redact(`${current.id}: ${current.text}`)} ${DIM}${elapsed()}${RESET}`);
  };
  const settle = (line: string) => {
    if (timer) clearInterval(timer);
    timer = undefined;
    stream.write(`\r\x1b[2K${redact(line)}\n`);
    current = undefined;
  };
  const above = (line: string) => {
    stream.write(`\r\x1b[2K${redact(line)}\n`);
    draw();
  };
  return {
    stepStart(id, title) {
      current = { id, text: title, started: now() };
      draw();
      // unref: a spinner must never keep the process alive.
      timer = setInterval(draw, 80).unref();
    },
    stepDone: (id, summary) => settle(`${GREEN}✔${RESET} ${id}: ${summary} ${current ? `${DIM}${elapsed()}${RESET}` : ''}`.trimEnd()),
    stepFailed: (id, message) => settle(`${RED}✖${RESET} ${id}: ${message}`),
    retrying(id, attempt, max, reason) {
      if (current?.id === id) {
        current.text = `${reason}… ${attempt}/${max}`;
        draw();
      } else above(`↻ retrying ${id} (${attempt}/${max}): ${reason}`);
    },
    info: (message) => above(`ℹ ${message}`),
    warn: (message) => above(`${YELLOW}⚠${RESET} ${message}`),
  };
}
