import { runScript } from '../lib/cli/run-script.ts';
import { rotateSecretCommand } from '../lib/commands/rotate-secret.ts';

process.exitCode = await runScript(rotateSecretCommand, {
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  exitNow: (code) => process.exit(code),
});
