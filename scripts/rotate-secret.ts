import { runScript } from '../lib/cli/run-script.ts';
import type { RotationResult } from '../lib/commands/rotate-secret.ts';
import { optionsFor, optionsHelp } from '../lib/config/config.ts';

const OPTIONS = optionsFor(['account-id', 'state', 'cloud', 'device-code', 'secret-expiry', 'max-wait', 'env-file', 'yes', 'json', 'verbose', 'help']);

const HELP = `Replace the client secret of a link made by provision.ts: add a new secret, give it to Spot (waiting
for Entra ID to accept it), read it back, then remove the old secret this tool created. Secrets added
by anyone else are left alone. Interrupted runs are finished by running the same command again; Spot
holds a working secret at every moment.

Usage: npx tsx scripts/rotate-secret.ts [options]

Options:
${optionsHelp(OPTIONS)}

Exit codes: 0 rotated; 1 failed (the state file lets a re-run finish it); 2 usage; 130 interrupted.

Examples:
  npx tsx scripts/rotate-secret.ts --account-id act-1234abcd
  SPOTINST_ACCOUNT=act-1234abcd npx tsx scripts/rotate-secret.ts --secret-expiry 6 --json
`;

await runScript({ options: OPTIONS, help: HELP }, async (config, { redactor, report, print, signal }) => {
  const { rotateSecret } = await import('../lib/commands/rotate-secret.ts');
  const result = await rotateSecret(config, { report, redactor, signal });
  print(config.json ? JSON.stringify(jsonFields(result), null, 2) : summary(result));
});

function jsonFields(r: RotationResult) {
  const { accountId, appId, secretKeyId, secretExpiresAt, replacedKeyIds, resumed } = r;
  return { accountId, appId, secretKeyId, secretExpiresAt, replacedKeyIds, resumed };
}

function summary(r: RotationResult): string {
  return [
    '',
    `Done: Spot account ${r.accountId} uses a new client secret${r.resumed ? ' (an interrupted rotation was finished)' : ''}.`,
    `  application    appId ${r.appId}`,
    `  secret         ${r.secretKeyId}, expires ${r.secretExpiresAt.slice(0, 10)}`,
    `  removed        ${r.replacedKeyIds.join(', ') || 'nothing'}`,
    `  state file     ${r.statePath}`,
  ].join('\n');
}
