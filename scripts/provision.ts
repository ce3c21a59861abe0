import { runScript } from '../lib/cli/run-script.ts';
import { provisionCommand } from '../lib/commands/provision/index.ts';

process.exitCode = await runScript(provisionCommand, {
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  exitNow: (code) => process.exit(code),
});
