import { runScript } from '../lib/cli/run-script.ts';
import type { Clients } from '../lib/clients/clients.ts';
import type { SpotAccount } from '../lib/clients/spot.ts';
import type { PromptContext } from '../lib/commands/guide.ts';
import type { ProvisionResult } from '../lib/commands/provision.ts';
import { type Config, OPTIONS, optionsHelp } from '../lib/config/config.ts';
import type { PlanEntry } from '../lib/core/runner.ts';
import { portalAppUrl, SPOT_CONSOLE_URL } from '../lib/domain/portal-links.ts';

const HELP = `Link a Spot account to an Azure subscription: Entra ID app, service principal, client secret,
a role on the subscription (Contributor unless --role says otherwise), and the Spot credentials —
safe to repeat and to interrupt.

Usage: npx tsx scripts/provision.ts [options]

Options:
${optionsHelp(OPTIONS)}

Environment: SPOTINST_TOKEN (Spot API token, never a flag), AZURE_TENANT_ID, AZURE_CLIENT_ID and
AZURE_CLIENT_SECRET (optional service principal sign-in; otherwise az login, or --device-code),
AZURE_TOKEN_CREDENTIALS (limit the sign-in sources tried), NO_COLOR (plain progress lines),
AZURE_AUTHORITY_HOST, AZURE_ARM_ENDPOINT, AZURE_GRAPH_ENDPOINT, SPOTINST_BASE_URL (endpoints).
Variables may also come from .env in the working directory (or --env-file); real ones win.

Examples:
  Guided, at a terminal: asks for the token (hidden), the account and the subscription, shows the plan:
    npx tsx scripts/provision.ts
  CI, nothing asked, one JSON object on stdout:
    SPOTINST_TOKEN=… SPOTINST_ACCOUNT=act-1234abcd AZURE_SUBSCRIPTION_ID=… npx tsx scripts/provision.ts --yes --json
`;

const MARKS: Record<PlanEntry['action'], string> = {
  done: 'already done',
  check: 'checked',
  create: 'will create',
  reuse: 'will reuse',
  update: 'will update',
};

await runScript({ options: OPTIONS, help: HELP }, async (parsed, io) => {
  let config = parsed;
  if (config.fleet) {
    // Several subscriptions (--all-subscriptions, or --subscription more than once): lib/fleet.ts.
    const { fleetTable, provisionFleet, throwIfIncomplete } = await import('../lib/commands/fleet.ts');
    const fleet = await provisionFleet(config, { report: io.report, redactor: io.redactor, signal: io.signal });
    io.print(config.json ? JSON.stringify({ subscriptions: fleet.rows, linked: fleet.linked, failed: fleet.failed }, null, 2) : fleetTable(fleet));
    return throwIfIncomplete(fleet);
  }
  // Under --json, stdout holds only the final JSON object: the plan and the prompts go to the screen through stderr.
  const screen = config.json ? process.stderr : process.stdout;
  const show = (text: string) => screen.write(`${io.redactor.redact(text)}\n`);
  const prompts: PromptContext = { output: screen };
  let clients: Clients | undefined;
  let createdAccount: SpotAccount | undefined;
  if (config.interactive) ({ config, clients, createdAccount } = await (await import('../lib/commands/guide.ts')).guide(config, { ...io, prompts }));
  const { planProvision, provision } = await import('../lib/commands/provision.ts');
  const deps = { report: io.report, redactor: io.redactor, signal: io.signal, clients };

  if (config.dryRun || config.interactive) {
    const plan = await planProvision(config, deps);
    if (config.dryRun) return io.print(config.json ? JSON.stringify({ plan }, null, 2) : describePlan(plan, 'Dry run: nothing was changed.'));
    show(describePlan(plan, ''));
    if (plan.every((p) => p.action === 'done' || p.action === 'check')) show('Everything is already in place.');
    else await confirmOrCancel(prompts, createdAccount);
  }
  const result = await provision(config, deps);
  io.print(config.json ? JSON.stringify(jsonFields(result), null, 2) : summary(result, config));
});

function describePlan(plan: PlanEntry[], footer: string): string {
  const width = Math.max(...plan.map((p) => MARKS[p.action].length));
  return ['', 'Plan:', ...plan.map((p) => `  ${MARKS[p.action].padEnd(width)}  ${p.id}: ${p.detail}`), footer].join('\n');
}

async function confirmOrCancel(prompts: PromptContext, createdAccount: SpotAccount | undefined): Promise<void> {
  const { prompting } = await import('../lib/commands/guide.ts');
  const { OnboardError } = await import('../lib/core/errors.ts');
  const changed = createdAccount
    ? `only Spot account ${createdAccount.accountId} "${createdAccount.name}" was created; choosing "Create a new Spot account" again reuses it.`
    : 'nothing was changed.';
  if (!(await prompting(prompts, (p, context) => p.confirm({ message: 'Go ahead?', default: true }, context), changed))) {
    throw new OnboardError('interrupted', `Cancelled; ${changed}`, 'Run the command again when you are ready.');
  }
}

function jsonFields(r: ProvisionResult) {
  const { accountId, tenantId, subscriptionId, appId, applicationObjectId, servicePrincipalId, roleAssignmentId, secretKeyId, secretExpiresAt } = r;
  return { accountId, tenantId, subscriptionId, appId, applicationObjectId, servicePrincipalId, roleAssignmentId, secretKeyId, secretExpiresAt };
}

function summary(r: ProvisionResult, c: Config): string {
  return [
    '',
    `Done: Spot account ${r.accountId} is linked to Azure.`,
    `  tenant         ${r.tenantName} (${r.tenantId})`,
    `  subscription   ${r.subscriptionName} (${r.subscriptionId})`,
    `  application    ${r.appName} (appId ${r.appId})`,
    `  secret expires ${r.secretExpiresAt.slice(0, 10)} — rotate before then: npx tsx scripts/rotate-secret.ts --account-id ${r.accountId}`,
    `  state file     ${r.statePath}`,
    `  Azure portal   ${portalAppUrl(c.endpoints.arm, r.appId)}`,
    `  Spot console   ${SPOT_CONSOLE_URL} (account ${r.accountId})`,
  ].join('\n');
}
