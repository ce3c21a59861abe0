import { runScript } from '../lib/cli/run-script.ts';
import { deprovisionCommand } from '../lib/commands/deprovision.ts';

process.exitCode = await runScript(deprovisionCommand, {
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  exitNow: (code) => process.exit(code),
});
