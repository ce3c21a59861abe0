import { createInterface } from 'node:readline/promises';
import { runScript } from '../lib/cli/run-script.ts';
import type { DeprovisionResult } from '../lib/commands/deprovision.ts';
import { optionsFor, optionsHelp } from '../lib/config/config.ts';

const OPTIONS = optionsFor(['account-id', 'state', 'cloud', 'device-code', 'env-file', 'yes', 'json', 'verbose', 'help'], {
  'delete-spot-account': { type: 'boolean', help: 'also delete the Spot account itself' },
});

const HELP = `Remove what provision.ts created for a Spot account — the Contributor role assignment, the service
principal and the Entra ID application, by the ids in the state file and nothing else — after a
confirmation that names them. Objects already gone are fine; a second run changes nothing. The state
file is kept, marked deprovisioned (provision.ts refuses it: move it away to link the account again).

Usage: npx tsx scripts/deprovision.ts [options]

Options:
${optionsHelp(OPTIONS)}

Without a terminal on stdin, --yes is required. Spot keeps the (now useless) Azure credentials unless
--delete-spot-account deletes the account.

Exit codes: 0 removed (or nothing left to remove); 1 failed (run again to finish); 2 usage, or no
terminal and no --yes; 130 interrupted, or the confirmation was declined.

Examples:
  npx tsx scripts/deprovision.ts --account-id act-1234abcd
  SPOTINST_ACCOUNT=act-1234abcd npx tsx scripts/deprovision.ts --yes --delete-spot-account --json
`;

await runScript({ options: OPTIONS, help: HELP }, async (config, { redactor, report, print, signal }) => {
  const { deprovision } = await import('../lib/commands/deprovision.ts');
  const result = await deprovision(config, { report, redactor, signal, confirm: askYesNo });
  print(config.json ? JSON.stringify(jsonFields(result), null, 2) : summary(result));
});

/** A plain y/N question on the terminal; anything but y or yes is no, and so is Ctrl-C. */
async function askYesNo(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  const cancel = new AbortController();
  // The terminal delivers Ctrl-C to readline, not as a process signal.
  terminal.once('SIGINT', () => cancel.abort());
  try {
    return /^y(es)?$/i.test((await terminal.question(`${question} [y/N] `, { signal: cancel.signal })).trim());
  } catch {
    return false;
  } finally {
    terminal.close();
  }
}

function jsonFields(r: DeprovisionResult) {
  const { accountId, deprovisionedAt, objects } = r;
  return { accountId, deprovisionedAt, objects };
}

function summary(r: DeprovisionResult): string {
  const spotKept = r.objects.some((x) => x.kind === 'spot account' && x.result === 'kept');
  return [
    '',
    `Done: what this tool created for Spot account ${r.accountId} is gone.`,
    ...r.objects.filter((x) => x.id).map((x) => `  ${x.kind.padEnd(18)} ${x.result.padEnd(13)} ${x.id}`),
    `  state file         ${r.statePath} (marked deprovisioned)`,
    ...(spotKept ? [`Spot account ${r.accountId} still holds credentials for the deleted application; --delete-spot-account deletes the account.`] : []),
  ].join('\n');
}
