import { type Config, loadConfig, type OptionTable } from '../config/config.ts';
import { describeFailure, OnboardError } from '../core/errors.ts';
import { Redactor } from '../core/redact.ts';
import type { Reporter } from '../core/reporter.ts';
import { lineReporter, liveReporter } from './progress.ts';

export interface CliIo {
  redactor: Redactor;
  /** Progress lines: stdout normally, stderr when stdout is reserved for --json. */
  report: Reporter;
  /** Prints to stdout through the redactor. */
  print: (text: string) => void;
  signal: AbortSignal;
}

/** Grace after Ctrl-C for the request in flight; the state on disk is consistent at every moment, so giving up is safe. */
const INTERRUPT_GRACE_MS = 5_000;

/**
 * The edge every script shares: redaction of known secrets, Ctrl-C handling, and turning errors into
 * one paragraph and an exit code (stack traces only with --verbose). Only this sets the exit code.
 */
export async function runCli(
  options: { json: () => boolean; verbose: () => boolean; plain?: () => boolean; secrets: (string | undefined)[] },
  main: (io: CliIo) => Promise<void>,
): Promise<void> {
  const redactor = new Redactor();
  for (const secret of options.secrets) redactor.add(secret);
  const out = (stream: NodeJS.WriteStream) => (text: string) => stream.write(`${redactor.redact(text)}\n`);
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write('\nInterrupted: finishing the request in flight and saving state (press Ctrl-C again to quit now).\n');
    setTimeout(() => {
      process.stderr.write('Stopped. Run the same command again to resume where it stopped.\n');
      process.exit(130);
    }, INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await main({
      redactor,
      report: progressReporter(options, redactor),
      print: out(process.stdout),
      signal: controller.signal,
    });
    process.exitCode = 0;
  } catch (error) {
    process.stderr.write(`${redactor.redact(describeFailure(error, options.verbose()))}\n`);
    process.exitCode = error instanceof OnboardError ? error.exitCode : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Chosen at the first line, once the options are parsed: progress goes to stderr under --json; a
 * terminal gets live lines unless --no-color or NO_COLOR asks for plain ones.
 */
function progressReporter(options: { json: () => boolean; plain?: () => boolean }, redactor: Redactor): Reporter {
  let chosen: Reporter | undefined;
  const pick = (): Reporter => {
    if (chosen) return chosen;
    const stream = options.json() ? process.stderr : process.stdout;
    const live = stream.isTTY === true && !(options.plain?.() ?? false) && !process.env.NO_COLOR;
    chosen = live
      ? liveReporter({ stream, redact: (text) => redactor.redact(text) })
      : lineReporter({ write: (line) => stream.write(`${redactor.redact(line)}\n`) });
    return chosen;
  };
  return {
    stepStart: (...a) => pick().stepStart(...a),
    stepDone: (...a) => pick().stepDone(...a),
    stepFailed: (...a) => pick().stepFailed(...a),
    retrying: (...a) => pick().retrying(...a),
    info: (...a) => pick().info(...a),
    warn: (...a) => pick().warn(...a),
  };
}

/**
 * A script's whole edge: parse its options (every problem at once), answer --help, register the Spot
 * token for redaction, show config warnings, then run `main` inside `runCli`.
 */
export async function runScript(script: { options: OptionTable; help: string }, main: (config: Config, io: CliIo) => Promise<void>): Promise<void> {
  let config: Config | undefined;
  await runCli(
    {
      json: () => config?.json ?? false,
      verbose: () => config?.verbose ?? process.argv.includes('--verbose'),
      // Several subscriptions run at once: one live line cannot show them, so fleet runs print plain lines.
      plain: () => (config?.plain || config?.fleet) ?? false,
      secrets: [process.env.SPOTINST_TOKEN, process.env.AZURE_CLIENT_SECRET],
    },
    async (io) => {
      config = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), stdinIsTTY: process.stdin.isTTY === true }, script.options);
      if (config.help) return io.print(script.help);
      for (const [name, value] of Object.entries(config.fromEnvFile)) process.env[name] ||= value;
      io.redactor.add(config.spotToken);
      io.redactor.add(process.env.AZURE_CLIENT_SECRET);
      for (const warning of config.warnings) io.report.warn(warning);
      await main(config, io);
    },
  );
}
