import { runCli } from '../lib/cli.ts';
import { loadConfig, OPTIONS, optionsHelp, type Config } from '../lib/config.ts';
import type { ProvisionResult } from '../lib/provision.ts';

const HELP = `Link a Spot account to an Azure subscription: Entra ID app, service principal, client secret,
Contributor role, and the Spot credentials — safe to repeat and to interrupt.

Usage: npx tsx scripts/provision.ts [options]

Options:
${optionsHelp(OPTIONS)}

Environment: SPOTINST_TOKEN (Spot API token, never a flag), AZURE_TENANT_ID, AZURE_CLIENT_ID and
AZURE_CLIENT_SECRET (optional service principal sign-in; otherwise az login is used),
AZURE_AUTHORITY_HOST, AZURE_ARM_ENDPOINT, AZURE_GRAPH_ENDPOINT, SPOTINST_BASE_URL (endpoints).

Examples:
  npx tsx scripts/provision.ts --account-id act-1234abcd --subscription 00000000-0000-0000-0000-000000000000
  SPOTINST_TOKEN=… SPOTINST_ACCOUNT=act-1234abcd AZURE_SUBSCRIPTION_ID=… npx tsx scripts/provision.ts --yes --json
`;

let config: Config | undefined;
await runCli(
  { json: () => config?.json ?? false, verbose: () => config?.verbose ?? process.argv.includes('--verbose'), secrets: [process.env.SPOTINST_TOKEN, process.env.AZURE_CLIENT_SECRET] },
  async ({ redactor, report, print, signal }) => {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), stdinIsTTY: process.stdin.isTTY === true });
    if (config.help) return print(HELP);
    redactor.add(config.spotToken);
    for (const warning of config.warnings) report.warn(warning);
    const { provision } = await import('../lib/provision.ts');
    const result = await provision(config, { report, redactor, signal });
    print(config.json ? JSON.stringify(jsonFields(result), null, 2) : summary(result));
  },
);

function jsonFields(r: ProvisionResult) {
  const { accountId, tenantId, subscriptionId, appId, applicationObjectId, servicePrincipalId, roleAssignmentId, secretKeyId, secretExpiresAt } = r;
  return { accountId, tenantId, subscriptionId, appId, applicationObjectId, servicePrincipalId, roleAssignmentId, secretKeyId, secretExpiresAt };
}

function summary(r: ProvisionResult): string {
  return [
    '',
    `Done: Spot account ${r.accountId} is linked to Azure.`,
    `  tenant         ${r.tenantId}`,
    `  subscription   ${r.subscriptionName} (${r.subscriptionId})`,
    `  application    ${r.appName} (appId ${r.appId})`,
    `  secret expires ${r.secretExpiresAt.slice(0, 10)}`,
    `  state file     ${r.statePath}`,
  ].join('\n');
}
