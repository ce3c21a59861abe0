import type { Command } from '../cli/command.ts';
import { deprovisionCommand } from './deprovision.ts';
import { provisionCommand } from './provision/index.ts';
import { rotateSecretCommand } from './rotate-secret.ts';
import { statusCommand } from './status.ts';

/** Every command, in the order the packaged CLI lists them; the first runs when none is named. Each has its scripts/<name>.ts. */
export const COMMANDS: readonly [Command, ...Command[]] = [provisionCommand, statusCommand, rotateSecretCommand, deprovisionCommand];
