import { runScript } from '../lib/cli/run-script.ts';
import { statusCommand } from '../lib/commands/status.ts';

process.exitCode = await runScript(statusCommand, { argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), exitNow: (code) => process.exit(code) });
