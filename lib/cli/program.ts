import { closest } from '../config/options.ts';
import { describeFailure, UsageError } from '../core/errors.ts';
import type { Command } from './command.ts';
import { type ProcessEdge, runScript } from './run-script.ts';

/** The packaged CLI: its name and version, and its commands (the first is the default). */
export interface Program {
  name: string;
  version: string;
  commands: readonly [Command, ...Command[]];
}

/**
 * `<name> [command] [options]`: hands the rest of the command line to the named command's runScript,
 * exactly as its scripts/<command>.ts does; without a command name, the first command. `--version` and
 * `--help` before any command answer for the program itself.
 */
export async function runProgram(program: Program, edge: ProcessEdge): Promise<number> {
  const [first, ...rest] = edge.argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${program.version}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${programHelp(program)}\n`);
    return 0;
  }
  const named = program.commands.find((command) => command.name === first);
  if (named) return runScript(named, { ...edge, argv: rest });
  if (first === undefined || first.startsWith('-')) return runScript(program.commands[0], edge);
  const names = program.commands.map((command) => command.name);
  const guess = closest(first, names);
  const problem = `Unknown command "${first}"${guess ? ` (did you mean ${guess}?)` : ''}; the commands are ${names.join(', ')}.`;
  process.stderr.write(`${describeFailure(new UsageError([problem], `Run ${program.name} --help to see them.`), false)}\n`);
  return 2;
}

function programHelp({ name, version, commands }: Program): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `${name} ${version}: link a Spot account to an Azure subscription, safe to repeat and to interrupt.

Usage: ${name} [command] [options]

Commands:
${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Run ${name} <command> --help for its options. Each command takes the same options, environment
variables and exit codes as scripts/<command>.ts in the repository; ${name} --version prints the version.`;
}
