import { createInterface } from 'node:readline/promises';
import type { Command } from '../cli/command.ts';
import type { Config } from '../config/config.ts';
import { optionsFor, optionsHelp } from '../config/options.ts';
import type { Context } from '../core/context.ts';
import { OnboardError } from '../core/errors.ts';
import { isDone, loadRecordedOutputs, runSteps } from '../core/runner.ts';
import { type SessionDeps, withSession } from '../core/session.ts';
import { listSpotAccounts } from '../domain/spot-accounts.ts';
import type { Removal } from '../steps/outputs.ts';
import { removeApp } from '../steps/remove-app.ts';
import { removeRole } from '../steps/remove-role.ts';
import { removeServicePrincipal } from '../steps/remove-service-principal.ts';
import { removeSpotAccount } from '../steps/remove-spot-account.ts';
import type { AnyStep } from '../steps/step.ts';
import { checkSignInToStateTenant, requireRecorded, resolveLink } from './shared.ts';

/** The role first, so the principal loses its access before it disappears; the Spot account last. */
export const DEPROVISION_STEPS: AnyStep[] = [removeRole, removeServicePrincipal, removeApp];

export interface DeprovisionDeps extends SessionDeps {
  /** Asks the person at the terminal; true means go ahead. */
  confirm: (question: string) => Promise<boolean>;
}

/** What became of each recorded object; the fields of `--json`. */
export interface DeprovisionResult {
  accountId: string;
  deprovisionedAt: string;
  /** Each object by its id, and 'removed', 'already gone' or 'kept' (not created by this tool, or not recorded). */
  objects: { kind: string; id: string; result: Removal }[];
  statePath: string;
}

/**
 * Removes what the state file records this tool created, after a confirmation that names it, and
 * marks the file deprovisioned. Each removal is a recorded step, so a re-run finishes an interrupted
 * one and a finished one is a no-op.
 */
export async function deprovision(config: Config, deps: DeprovisionDeps): Promise<DeprovisionResult> {
  return withSession(config, deps, { lock: true }, async (ctx, store) => {
    const { state } = ctx;
    requireRecorded(state, store.path, ', so there is nothing this tool may remove');
    const steps = config.deleteSpotAccount ? [...DEPROVISION_STEPS, removeSpotAccount] : DEPROVISION_STEPS;
    loadRecordedOutputs(ctx);
    const pending = steps.filter((step) => !isDone(step, ctx));
    if (pending.length > 0) {
      if (!config.assumeYes && !config.interactive) {
        throw new OnboardError(
          'usage',
          'deprovision deletes the objects this tool created and asks first, but stdin is not a terminal.',
          'Pass --yes to confirm without a prompt (for scripts), or run it in a terminal.',
        );
      }
      if (pending.some((s) => s !== removeSpotAccount)) await checkSignInToStateTenant(ctx);
      // The token must work before Azure objects go; an account already deleted by hand is fine.
      if (pending.includes(removeSpotAccount)) await listSpotAccounts(await ctx.clients.spot());
      const plan = await describePlan(ctx, pending);
      if (config.assumeYes) {
        for (const line of plan) ctx.report.info(line);
      } else if (!(await deps.confirm(`${plan.join('\n')}\nRemove these?`))) {
        throw new OnboardError('interrupted', 'Cancelled: nothing was removed.', 'Run again and answer y, or pass --yes.');
      }
      await runSteps(ctx, steps, store);
    } else {
      ctx.report.info(`Everything ${store.path} records was already removed on ${state.deprovisioned ?? 'an earlier run'}.`);
    }
    // An interrupted rotation has nothing left to finish once the app is gone.
    if (!state.deprovisioned || state.rotation) {
      delete state.rotation;
      state.deprovisioned ??= ctx.now().toISOString();
      await store.save(state);
    }
    const o = ctx.outputs;
    const objects = [
      { kind: 'role assignment', id: o.roleAssignmentId ?? '', result: o.roleAssignmentRemoval },
      { kind: 'service principal', id: o.servicePrincipalId ?? '', result: o.servicePrincipalRemoval },
      { kind: 'application', id: o.applicationObjectId ?? '', result: o.applicationRemoval },
      { kind: 'spot account', id: ctx.accountId, result: o.spotAccountRemoval },
    ];
    return {
      accountId: ctx.accountId,
      deprovisionedAt: state.deprovisioned,
      objects: objects.map((x) => ({ ...x, result: x.result ?? 'kept' })),
      statePath: store.path,
    };
  });
}

/** One line per object about to go, by name and id, and what else goes with it: each step's own plan. */
async function describePlan(ctx: Context, pending: AnyStep[]): Promise<string[]> {
  const lines = [`This removes what spot-azure-onboard created for Spot account ${ctx.accountId}:`];
  for (const step of pending) {
    const planned = await step.plan?.(ctx);
    if (planned) lines.push(planned.action === 'keep' ? `  - (${planned.detail})` : `  - ${planned.detail}`);
  }
  return lines;
}

const OPTIONS = optionsFor([
  'account-id',
  'state',
  'state-dir',
  'cloud',
  'device-code',
  'dotenv',
  'audit-log',
  'yes',
  'json',
  'verbose',
  'help',
  'delete-spot-account',
]);

const HELP = `Remove what provision.ts created for a Spot account — the Contributor role assignment, the service
principal and the Entra ID application, by the ids in the state file and nothing else — after a
confirmation that names them. Objects already gone are fine; a second run changes nothing. The state
file is kept, marked deprovisioned (provision.ts refuses it: move it away to link the account again).

Usage: npx tsx scripts/deprovision.ts [options]

Options:
${optionsHelp(OPTIONS)}

Which link: the one --account-id names, the one --state names, else the only state file in the state
directory (several: name one). Without a terminal on stdin, --yes is required. Spot keeps the (now useless) Azure credentials unless
--delete-spot-account deletes the account.

Exit codes: 0 removed (or nothing left to remove); 1 failed (run again to finish); 2 usage, or no
terminal and no --yes; 130 interrupted, or the confirmation was declined.

Examples:
  npx tsx scripts/deprovision.ts --account-id act-1234abcd
  npx tsx scripts/deprovision.ts --state links/act-1234abcd.json --yes
  SPOTINST_ACCOUNT=act-1234abcd npx tsx scripts/deprovision.ts --yes --delete-spot-account --json
`;

/** scripts/deprovision.ts */
export const deprovisionCommand: Command = {
  name: 'deprovision',
  summary: 'remove what provision created, by the ids in the state file',
  options: OPTIONS,
  help: HELP,
  async run(config, io) {
    const result = await deprovision(await resolveLink(config, { allFlag: false }), { ...io, confirm: askYesNo });
    io.result(jsonFields(result), () => summary(result));
  },
};

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
