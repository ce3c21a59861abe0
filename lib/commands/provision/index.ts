import type { CliIo, Command } from '../../cli/command.ts';
import type { Config } from '../../config/config.ts';
import { optionsFor, optionsHelp } from '../../config/options.ts';
import { AccountLinkedElsewhere } from '../../steps/shared.ts';
import { fleetTable, provisionFleet, throwIfIncomplete } from './fleet.ts';
import { fleetPlanTable, planFleet, throwIfPlanFails } from './fleet-plan.ts';
import { confirmOrCancel, confirmRelink, guide, type PromptContext } from './guide.ts';
import { describePlan, jsonFields, summary } from './output.ts';
import { planProvision, provision } from './run.ts';

const OPTIONS = optionsFor([
  'account-id',
  'subscription',
  'all-subscriptions',
  'create-accounts',
  'concurrency',
  'cloud',
  'role',
  'state',
  'state-dir',
  'relink',
  'app-name',
  'secret-expiry',
  'max-wait',
  'device-code',
  'dotenv',
  'audit-log',
  'yes',
  'json',
  'dry-run',
  'no-color',
  'verbose',
  'help',
]);

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
Variables may also come from .env in the working directory (or --dotenv); real ones win.

Examples:
  Guided, at a terminal: asks for the token (hidden), the account and the subscription, shows the plan:
    npx tsx scripts/provision.ts
  Every subscription you can see, each to its own Spot account; the plan first, then the run:
    npx tsx scripts/provision.ts --all-subscriptions --create-accounts --dry-run
    npx tsx scripts/provision.ts --all-subscriptions --create-accounts --yes
  CI, nothing asked, one JSON object on stdout:
    SPOTINST_TOKEN=… SPOTINST_ACCOUNT=act-1234abcd AZURE_SUBSCRIPTION_ID=… npx tsx scripts/provision.ts --yes --json
`;

/** scripts/provision.ts: one subscription (guided at a terminal), or several at once (fleet.ts). */
export const provisionCommand: Command = {
  name: 'provision',
  summary: 'link a Spot account to an Azure subscription (the default; guided at a terminal)',
  options: OPTIONS,
  help: HELP,
  run: (config, io) => (config.fleet ? provisionSeveral(config, io) : provisionOne(config, io)),
};

/** Several subscriptions (--all-subscriptions, or --subscription more than once), each to its own Spot account. */
async function provisionSeveral(config: Config, io: CliIo): Promise<void> {
  if (config.dryRun) {
    const plan = await planFleet(config, io);
    io.result({ dryRun: true, subscriptions: plan }, () => fleetPlanTable(plan));
    return throwIfPlanFails(plan);
  }
  const fleet = await provisionFleet(config, io);
  io.result({ subscriptions: fleet.rows, linked: fleet.linked, failed: fleet.failed }, () => fleetTable(fleet));
  throwIfIncomplete(fleet);
}

/** One subscription: guided at a terminal (what is missing is asked, the plan is confirmed), or straight through. */
async function provisionOne(given: Config, io: CliIo): Promise<void> {
  // Under --json, stdout holds only the final JSON object: the plan and the prompts go to the screen through stderr.
  const screen = given.json ? process.stderr : process.stdout;
  const prompts: PromptContext = { output: screen };
  const guided = given.interactive ? await guide(given, { ...io, prompts }) : { config: given, clients: undefined, createdAccount: undefined };
  const { clients, createdAccount } = guided;
  let config = guided.config;
  const deps = { report: io.report, redactor: io.redactor, signal: io.signal, clients };

  if (config.dryRun) {
    const plan = await planProvision(config, deps);
    return io.result({ plan }, () => describePlan(plan, 'Dry run: nothing was changed.'));
  }
  if (config.interactive) {
    let plan: Awaited<ReturnType<typeof planProvision>>;
    try {
      plan = await planProvision(config, deps);
    } catch (error) {
      if (!(error instanceof AccountLinkedElsewhere)) throw error;
      await confirmRelink(prompts, error);
      config = Object.freeze({ ...config, relink: true });
      plan = await planProvision(config, deps);
    }
    const show = (text: string) => screen.write(`${io.redactor.redact(text)}\n`);
    show(describePlan(plan, ''));
    if (plan.every((p) => p.action === 'done' || p.action === 'check')) show('Everything is already in place.');
    else await confirmOrCancel(prompts, createdAccount);
  }
  const result = await provision(config, deps);
  io.result(jsonFields(result), () => summary(result, config));
}
