import type { NewPassword } from '../clients/graph.ts';
import type { Context } from '../context.ts';
import { ApiError } from '../errors.ts';
import { newObjectNotFound } from '../lag.ts';
import { retryOnLag } from '../retry.ts';
import { SECRET_DISPLAY_NAME, secretEndDate } from '../secrets.ts';
import type { State } from '../state.ts';
import { need, type Step, type StepId } from './step.ts';

/**
 * Adds one client secret with an explicit end date. addPassword is the one call that cannot be found
 * again if its answer is lost (a crash, or the Graph client resending it after a 503/504 that Graph
 * had in fact carried out), so any extra secret is left to the link step, which removes every secret
 * of this tool but the linked one.
 */
export const secret: Step = {
  id: 'secret',
  title: 'Add a client secret',
  async plan(ctx) {
    const end = secretEndDate(ctx.now(), ctx.config.secretExpiryMonths).slice(0, 10);
    return { action: 'create', detail: `add client secret "${SECRET_DISPLAY_NAME}" valid until ${end}` };
  },
  isDone: heldUntilLinked('secret', 'link'),
  async run(ctx) {
    const created = await addHeldSecret(ctx, this.id);
    return {
      outputs: { secretKeyId: created.keyId, secretExpiresAt: created.endDateTime },
      summary: `added client secret ${created.keyId}, valid until ${created.endDateTime.slice(0, 10)}`,
    };
  },
};

/**
 * A step that adds a secret is done once recorded while its value is still held, or once `linkStepId`
 * gave it to Spot; a recorded secret whose value is gone (and never reached Spot) is useless, so add another.
 */
export function heldUntilLinked(stepId: StepId, linkStepId: StepId): (state: State) => boolean {
  return (state) => state.steps[stepId] !== undefined && (state.secret !== undefined || state.steps[linkStepId] !== undefined);
}

/**
 * Adds a client secret under this tool's display name, with an explicit end date, and holds its value
 * in the state until Spot has it; the value is redacted from then on.
 */
export async function addHeldSecret(ctx: Context, stepId: string): Promise<NewPassword> {
  const created = await addOwnSecret(ctx, stepId, need(ctx, 'applicationObjectId'));
  ctx.state.secret = { keyId: created.keyId, value: created.secretText };
  return created;
}

async function addOwnSecret(ctx: Context, stepId: string, applicationObjectId: string): Promise<NewPassword> {
  const graph = await ctx.clients.graph();
  const endDateTime = secretEndDate(ctx.now(), ctx.config.secretExpiryMonths);
  let created;
  try {
    created = await retryOnLag(stepId, ctx.lagSchedule, newObjectNotFound,
      () => graph.addPassword(applicationObjectId, SECRET_DISPLAY_NAME, endDateTime), { sleep: ctx.sleep, report: ctx.report });
  } catch (error) {
    throw explainPolicy(error, ctx.config.secretExpiryMonths);
  }
  ctx.redactor.add(created.secretText);
  return created;
}

/** Tenant app-management policies refuse long-lived or any password credentials (design.md §3). */
function explainPolicy(error: unknown, months: number): unknown {
  if (!(error instanceof ApiError && error.api === 'graph' && error.status === 400)) return error;
  if (error.code === 'CredentialInvalidLifetimeAsPerAppPolicy' || /lifetime/i.test(error.message)) {
    return error.withHint(`Your tenant's app management policy limits secret lifetimes; run again with a shorter --secret-expiry (now ${months} months), e.g. --secret-expiry 6.`);
  }
  if (/credential type not allowed/i.test(error.message)) {
    return error.withHint('Your tenant blocks client secrets for applications (app management policy). Ask an administrator for an exemption for this app; Spot needs a client secret.');
  }
  return error;
}
