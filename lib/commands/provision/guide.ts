import type { Subscription } from '../../clients/arm.ts';
import { type Clients, createClients } from '../../clients/clients.ts';
import { checkSignIn } from '../../clients/credential.ts';
import type { SpotAccount } from '../../clients/spot.ts';
import type { Config } from '../../config/config.ts';
import { OnboardError } from '../../core/errors.ts';
import { abortableSleep } from '../../core/interrupt.ts';
import type { Redactor } from '../../core/redact.ts';
import type { Reporter } from '../../core/reporter.ts';
import { accountNameFor, listSpotAccounts } from '../../domain/spot-accounts.ts';
import type { AccountLinkedElsewhere } from '../../steps/shared.ts';

/** Beyond this many subscriptions the list is filtered by typing rather than scrolled. */
const FILTER_FROM = 8;
const CREATE_ACCOUNT = '\0create';

type Prompts = typeof import('@inquirer/prompts');
/** Where prompts draw: the terminal's stdout, or stderr when --json keeps stdout for the one JSON object. */
export interface PromptContext {
  output: NodeJS.WritableStream;
}

/** inquirer rejects with ExitPromptError on Ctrl-C; `changed` says what had been done by then. */
export async function prompting<T>(
  context: PromptContext,
  ask: (prompts: Prompts, context: PromptContext) => Promise<T>,
  changed = 'nothing was changed.',
): Promise<T> {
  const prompts = await import('@inquirer/prompts');
  try {
    return await ask(prompts, context);
  } catch (error) {
    if ((error as Error)?.name === 'ExitPromptError') {
      throw new OnboardError('interrupted', `Cancelled at the prompt; ${changed}`, 'Run the command again when you are ready.');
    }
    throw error;
  }
}

/**
 * Guided mode (a terminal, no --yes): asks for whatever is missing — the Spot token (hidden), the
 * subscription (the only Enabled one is taken without asking), the Spot account (or a new one named
 * after the subscription) — and returns the completed config with the clients built for it, and the
 * account if it created one.
 * A new account is the one change made before the plan is shown, since the plan (and the state file)
 * needs its id: it gets its own confirmation, and is never made under --dry-run.
 */
export async function guide(
  config: Config,
  io: { report: Reporter; redactor: Redactor; prompts: PromptContext; signal: AbortSignal },
): Promise<{ config: Config; clients: Clients; createdAccount?: SpotAccount }> {
  let spotToken = config.spotToken;
  if (!spotToken) {
    spotToken = await prompting(io.prompts, (p, c) =>
      p.password(
        {
          message: 'Spot API token (Organization Admin; Settings → API in the Spot console). Input is hidden:',
          validate: (v) => v.trim() !== '' || 'The token is needed to link the account.',
        },
        c,
      ),
    );
    spotToken = spotToken.trim();
    io.redactor.add(spotToken);
  }
  const withToken: Config = { ...config, spotToken };
  const clients = createClients(withToken, { sleep: abortableSleep(io.signal), report: io.report });

  let accountId = config.accountId;
  let accounts: SpotAccount[] = [];
  if (!accountId) {
    accounts = await listSpotAccounts(await clients.spot());
    if (accounts.length === 0 && config.dryRun) {
      throw new OnboardError(
        'not-found',
        'This Spot organization has no account yet, and a dry run cannot create one.',
        'Run without --dry-run to create one (you are asked first), or create one in the Spot console and pass it with --account-id.',
      );
    }
    accountId = await prompting(io.prompts, (p, c) =>
      p.select(
        {
          message: 'Spot account to link',
          choices: [
            ...accounts.map((a) => ({
              name: `${a.name} (${a.accountId})${a.providerExternalId ? ` — linked to ${a.providerExternalId}` : ''}`,
              value: a.accountId,
            })),
            {
              name: 'Create a new Spot account named after the subscription',
              value: CREATE_ACCOUNT,
              ...(config.dryRun ? { disabled: '(a dry run creates nothing)' } : {}),
            },
          ],
        },
        c,
      ),
    );
  }

  let subscription: Subscription | undefined;
  if (!config.subscriptionId || accountId === CREATE_ACCOUNT) subscription = await chooseSubscription(withToken, clients, io);

  let createdAccount: SpotAccount | undefined;
  if (accountId === CREATE_ACCOUNT) {
    const chosen = await accountNamedAfter(subscription!, accounts, clients, io);
    accountId = chosen.account.accountId;
    if (chosen.created) createdAccount = chosen.account;
  }
  return { config: { ...withToken, accountId, subscriptionId: config.subscriptionId ?? subscription!.subscriptionId }, clients, createdAccount };
}

/**
 * The account for "Create a new Spot account": Spot does not de-duplicate names, so one an earlier
 * attempt created (unlinked, or linked to this same subscription) is found by its name and reused;
 * otherwise it is created only after its own confirmation.
 */
async function accountNamedAfter(
  subscription: Subscription,
  accounts: SpotAccount[],
  clients: Clients,
  io: { report: Reporter; prompts: PromptContext },
): Promise<{ account: SpotAccount; created: boolean }> {
  const name = accountNameFor({ subscriptionId: subscription.subscriptionId, subscriptionName: subscription.displayName });
  const own = (a: SpotAccount) => !a.providerExternalId || a.providerExternalId.toLowerCase() === subscription.subscriptionId.toLowerCase();
  const existing = accounts.find((a) => a.name === name && own(a));
  if (existing) {
    io.report.info(`reusing Spot account ${existing.accountId} "${name}", found by its name`);
    return { account: existing, created: false };
  }
  const create = await prompting(io.prompts, (p, c) => p.confirm({ message: `Create Spot account "${name}" now? The plan needs its id.`, default: true }, c));
  if (!create) {
    throw new OnboardError(
      'interrupted',
      'Cancelled; no account was created and nothing was changed.',
      'Run the command again when you are ready, or pick an existing account.',
    );
  }
  const created = await (await clients.spot()).createAccount(name);
  io.report.info(`created Spot account ${created.accountId} "${created.name}"`);
  return { account: created, created: true };
}

async function chooseSubscription(config: Config, clients: Clients, io: { report: Reporter; prompts: PromptContext }): Promise<Subscription> {
  if (config.subscriptionId) return (await clients.arm()).getSubscription(config.subscriptionId);
  await checkSignIn(await clients.credential(), config.endpoints, config.credentialSources);
  const enabled = (await (await clients.arm()).listSubscriptions()).filter((s) => s.state === 'Enabled');
  if (enabled.length === 0) {
    throw new OnboardError(
      'not-found',
      'No Enabled subscription is visible to this identity.',
      'Sign in as a user with access to the subscription (az login --tenant …), then run again.',
    );
  }
  if (enabled.length === 1) {
    io.report.info(`using the only Enabled subscription, ${enabled[0]!.displayName} (${enabled[0]!.subscriptionId})`);
    return enabled[0]!;
  }
  const label = (s: Subscription) => `${s.displayName} (${s.subscriptionId})`;
  const choices = enabled.map((s) => ({ name: label(s), value: s }));
  return prompting(io.prompts, (p, context) =>
    enabled.length < FILTER_FROM
      ? p.select({ message: 'Azure subscription to link', choices }, context)
      : p.search(
          {
            message: 'Azure subscription to link (type to filter)',
            source: (term) => choices.filter((c) => !term || c.name.toLowerCase().includes(term.toLowerCase())),
          },
          context,
        ),
  );
}

/** The guided run's last question before any change; `createdAccount` is what was changed already, if anything. */
export async function confirmOrCancel(prompts: PromptContext, createdAccount: SpotAccount | undefined): Promise<void> {
  const changed = createdAccount
    ? `only Spot account ${createdAccount.accountId} "${createdAccount.name}" was created; choosing "Create a new Spot account" again reuses it.`
    : 'nothing was changed.';
  if (!(await prompting(prompts, (p, context) => p.confirm({ message: 'Go ahead?', default: true }, context), changed))) {
    throw new OnboardError('interrupted', `Cancelled; ${changed}`, 'Run the command again when you are ready.');
  }
}

/** A guided run asks before moving an account that is linked to another subscription (what --relink allows). */
export async function confirmRelink(prompts: PromptContext, linkedElsewhere: AccountLinkedElsewhere): Promise<void> {
  const message = `${linkedElsewhere.message} Move it to ${linkedElsewhere.to}? The tool's role assignment on ${linkedElsewhere.from} is then removed.`;
  if (!(await prompting(prompts, (p, context) => p.confirm({ message, default: false }, context)))) throw linkedElsewhere;
}
