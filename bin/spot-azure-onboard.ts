#!/usr/bin/env node
import { runProgram } from '../lib/cli/program.ts';
import { COMMANDS } from '../lib/commands/index.ts';
import packageJson from '../package.json' with { type: 'json' };

process.exitCode = await runProgram(
  { name: 'spot-azure-onboard', version: packageJson.version, commands: COMMANDS },
  { argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), exitNow: (code) => process.exit(code) },
);
