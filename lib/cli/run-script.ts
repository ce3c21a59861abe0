import { type Config, loadConfig } from '../config/config.ts';
import { describeFailure, OnboardError } from '../core/errors.ts';
import { Redactor } from '../core/redact.ts';
import type { Reporter } from '../core/reporter.ts';
import { type AuditLog, openAuditLog } from './audit-log.ts';
import type { CliIo, Command } from './command.ts';
import { fleetProgress } from './fleet-progress.ts';
import { lineReporter, liveReporter } from './progress.ts';

/** Grace after Ctrl-C for the request in flight; the state on disk is consistent at every moment, so giving up is safe. */
const INTERRUPT_GRACE_MS = 5_000;

/** What the edge needs from the process; only scripts/*.ts pass the real ones, so only they end the process. */
export interface ProcessEdge {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Ends the process at once: a second Ctrl-C, or the grace after the first ran out. */
  exitNow: (code: number) => never;
}

/**
 * A script's whole edge: parse its options (every problem at once), answer --help, register the known
 * secrets for redaction, show config warnings, then run the command; Ctrl-C aborts it. Returns the exit
 * code: 0, or the failure's own (usage 2, interrupted 130, anything else 1), after printing one
 * paragraph for the failure (stack traces only with --verbose).
 */
export async function runScript(command: Command, edge: ProcessEdge): Promise<number> {
  const redactor = new Redactor();
  redactor.add(edge.env.SPOTINST_TOKEN);
  redactor.add(edge.env.AZURE_CLIENT_SECRET);
  let config: Config | undefined;
  let auditLog: AuditLog | undefined;
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) edge.exitNow(130);
    controller.abort();
    process.stderr.write('\nInterrupted: finishing the request in flight and saving state (press Ctrl-C again to quit now).\n');
    setTimeout(() => {
      process.stderr.write('Stopped. Run the same command again to resume where it stopped.\n');
      edge.exitNow(130);
    }, INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIo = {
    redactor,
    report: progressReporter(() => config, redactor),
    print: (text) => process.stdout.write(`${redactor.redact(text)}\n`),
    result: (json, text) => io.print(config?.json ? JSON.stringify(json, null, 2) : text()),
    signal: controller.signal,
    fleetProgress: (total) => {
      const stream = config?.json ? process.stderr : process.stdout;
      return fleetProgress({ total, live: stream.isTTY === true && !config?.plain, write: (text) => stream.write(redactor.redact(text)) });
    },
  };
  try {
    config = loadConfig({ argv: edge.argv, env: edge.env, cwd: edge.cwd, stdinIsTTY: process.stdin.isTTY === true }, command.options);
    if (config.help) {
      io.print(command.help);
      return 0;
    }
    for (const [name, value] of Object.entries(config.fromEnvFile)) edge.env[name] ||= value;
    redactor.add(config.spotToken);
    redactor.add(edge.env.AZURE_CLIENT_SECRET);
    for (const warning of config.warnings) io.report.warn(warning);
    if (config.auditLogPath) auditLog = openAuditLog(config.auditLogPath, config.endpoints, redactor, (message) => io.report.warn(message));
    await command.run(config, io);
    return 0;
  } catch (error) {
    const verbose = config?.verbose ?? edge.argv.includes('--verbose');
    process.stderr.write(`${redactor.redact(describeFailure(error, verbose))}\n`);
    return error instanceof OnboardError ? error.exitCode : 1;
  } finally {
    auditLog?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Chosen at the first line, once the options are parsed: progress goes to stderr under --json; a
 * terminal gets live lines unless --no-color or NO_COLOR asks for plain ones. Several subscriptions
 * run at once in fleet mode: one live line cannot show them, so fleet runs print plain lines.
 */
function progressReporter(config: () => Config | undefined, redactor: Redactor): Reporter {
  let chosen: Reporter | undefined;
  const pick = (): Reporter => {
    if (chosen) return chosen;
    const c = config();
    const stream = c?.json ? process.stderr : process.stdout;
    // Fleets and --all draw their own live summary line (fleet-progress.ts): a second live line would fight it.
    const live = stream.isTTY === true && !c?.plain && !c?.fleet && !c?.all;
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
