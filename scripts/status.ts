import { runScript } from '../lib/cli/run-script.ts';
import type { LinkStatus } from '../lib/commands/status.ts';
import { optionsFor, optionsHelp } from '../lib/config/config.ts';
import { OnboardError } from '../lib/core/errors.ts';

const OPTIONS = optionsFor(['account-id', 'state', 'cloud', 'device-code', 'env-file', 'yes', 'json', 'verbose', 'help']);

const HELP = `Check, live, the link provision.ts made: the application and its service principal exist, the
Contributor assignment is on the subscription, Spot holds this app's clientId, tenantId and
subscriptionId, and the client secret has not expired. Reads only; safe to run from a scheduled job.

Usage: npx tsx scripts/status.ts [options]

Options:
${optionsHelp(OPTIONS)}

Each check is ok, warn or error. A secret that expires within 30 days is a warning; an expired or
removed secret, a missing object or credentials Spot holds for something else are errors.

Exit codes: 0 healthy (warnings included); 1 any error (drift, expiry, or the check itself failed);
2 usage.

Examples:
  npx tsx scripts/status.ts --account-id act-1234abcd
  SPOTINST_ACCOUNT=act-1234abcd npx tsx scripts/status.ts --json | jq '.checks[] | select(.status != "ok")'
`;

await runScript({ options: OPTIONS, help: HELP }, async (config, { redactor, report, print, signal }) => {
  const { linkStatus } = await import('../lib/commands/status.ts');
  const status = await linkStatus(config, { report, redactor, signal });
  print(config.json ? JSON.stringify(status, null, 2) : table(status));
  const failed = status.checks.filter((c) => c.status === 'error');
  if (failed.length > 0) {
    throw new OnboardError(
      'conflict',
      `The link of Spot account ${status.accountId} is not healthy: ${failed.map((c) => c.check).join(', ')}.`,
      'The detail of each failed check says what to do.',
    );
  }
});

function table(status: LinkStatus): string {
  const rows = [['check', 'status', 'detail'], ...status.checks.map((c) => [c.check, c.status, c.detail])];
  const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length));
  return [`Spot account ${status.accountId}`, ...rows.map((r) => `${r[0]!.padEnd(width(0))}  ${r[1]!.padEnd(width(1))}  ${r[2]}`)].join('\n');
}
