import type { Config } from '../config/config.ts';
import type { OptionTable } from '../config/options.ts';
import type { Redactor } from '../core/redact.ts';
import type { Reporter } from '../core/reporter.ts';
import type { FleetProgress } from './fleet-progress.ts';

/** What the script edge hands a command: output, redaction and interruption. */
export interface CliIo {
  redactor: Redactor;
  /** Progress lines: stdout normally, stderr when stdout is reserved for --json. */
  report: Reporter;
  /** Prints to stdout through the redactor. */
  print: (text: string) => void;
  /** The command's result on stdout: `json` under --json (one object, nothing else), else `text()`. */
  result: (json: unknown, text: () => string) => void;
  signal: AbortSignal;
  /** Progress over `total` links at once, where the progress lines go (never stdout under --json). */
  fleetProgress: (total: number) => FleetProgress;
}

/** One command a user runs: `scripts/<name>.ts`, its options and help, and what it does. */
export interface Command {
  name: string;
  /** One line for the packaged CLI's list of commands. */
  summary: string;
  options: OptionTable;
  help: string;
  /** Throws an OnboardError for anything but success; the edge turns it into a message and an exit code. */
  run(config: Config, io: CliIo): Promise<void>;
}
