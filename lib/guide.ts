import type { Subscription } from './clients/arm.ts';
import { checkSignIn } from './clients/credential.ts';
import type { Config } from './config.ts';
import { createClients, type Clients } from './context.ts';
import { OnboardError } from './errors.ts';
import type { Redactor } from './redact.ts';
import type { Reporter } from './report.ts';
import { listSpotAccounts } from './steps/preflight.ts';

/** Beyond this many subscriptions the list is filtered by typing rather than scrolled. */
const FILTER_FROM = 8;
const CREATE_ACCOUNT = '\0create';

type Prompts = typeof import('@inquirer/prompts');

/** inquirer rejects with ExitPromptError on Ctrl-C; nothing has been changed by then. */
export async function prompting<T>(ask: (prompts: Prompts) => Promise<T>): Promise<T> {
  const prompts = await import('@inquirer/prompts');
  try {
    return await ask(prompts);
  } catch (error) {
    if ((error as Error)?.name === 'ExitPromptError') {
      throw new OnboardError('interrupted', 'Cancelled at the prompt; nothing was changed.', 'Run the command again when you are ready.');
    }
    throw error;
  }
}

/**
 * Guided mode (a terminal, no --yes): asks for whatever is missing — the Spot token (hidden), the
 * subscription (the only Enabled one is taken without asking), the Spot account (or a new one named
 * after the subscription) — and returns the completed config with the clients built for it.
 */
export async function guide(config: Config, io: { report: Reporter; redactor: Redactor }): Promise<{ config: Config; clients: Clients }> {
  let spotToken = config.spotToken;
  if (!spotToken) {
    spotToken = await prompting((p) =>
      p.password({ message: 'Spot API token (Organization Admin; Settings → API in the Spot console). Input is hidden:', validate: (v) => v.trim() !== '' || 'The token is needed to link the account.' }),
    );
    spotToken = spotToken.trim();
    io.redactor.add(spotToken);
  }
  const withToken: Config = { ...config, spotToken };
  const clients = createClients(withToken);

  let accountId = config.accountId;
  if (!accountId) {
    const accounts = await listSpotAccounts(await clients.spot());
    accountId = await prompting((p) =>
      p.select({
        message: 'Spot account to link',
        choices: [
          ...accounts.map((a) => ({ name: `${a.name} (${a.accountId})${a.providerExternalId ? ` — linked to ${a.providerExternalId}` : ''}`, value: a.accountId })),
          { name: 'Create a new Spot account named after the subscription', value: CREATE_ACCOUNT },
        ],
      }),
    );
  }

  let subscription: Subscription | undefined;
  if (!config.subscriptionId || accountId === CREATE_ACCOUNT) subscription = await chooseSubscription(withToken, clients, io.report);

  if (accountId === CREATE_ACCOUNT) {
    const created = await (await clients.spot()).createAccount(subscription!.displayName);
    io.report.info(`created Spot account ${created.accountId} "${created.name}"`);
    accountId = created.accountId;
  }
  return { config: { ...withToken, accountId, subscriptionId: config.subscriptionId ?? subscription!.subscriptionId }, clients };
}

async function chooseSubscription(config: Config, clients: Clients, report: Reporter): Promise<Subscription> {
  if (config.subscriptionId) return (await clients.arm()).getSubscription(config.subscriptionId);
  await checkSignIn(await clients.credential(), config.endpoints, config.credentialSources);
  const enabled = (await (await clients.arm()).listSubscriptions()).filter((s) => s.state === 'Enabled');
  if (enabled.length === 0) {
    throw new OnboardError('not-found', 'No Enabled subscription is visible to this identity.', 'Sign in as a user with access to the subscription (az login --tenant …), then run again.');
  }
  if (enabled.length === 1) {
    report.info(`using the only Enabled subscription, ${enabled[0]!.displayName} (${enabled[0]!.subscriptionId})`);
    return enabled[0]!;
  }
  const label = (s: Subscription) => `${s.displayName} (${s.subscriptionId})`;
  const choices = enabled.map((s) => ({ name: label(s), value: s }));
  return prompting((p) =>
    enabled.length < FILTER_FROM
      ? p.select({ message: 'Azure subscription to link', choices })
      : p.search({
          message: 'Azure subscription to link (type to filter)',
          source: (term) => choices.filter((c) => !term || c.name.toLowerCase().includes(term.toLowerCase())),
        }),
  );
}
