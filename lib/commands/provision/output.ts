import type { Config } from '../../config/config.ts';
import type { PlanEntry } from '../../core/runner.ts';
import { portalAppUrl, SPOT_CONSOLE_URL } from '../../domain/portal-links.ts';
import type { ProvisionResult } from './run.ts';

const MARKS: Record<PlanEntry['action'], string> = {
  done: 'already done',
  check: 'checked',
  create: 'will create',
  reuse: 'will reuse',
  update: 'will update',
  remove: 'will remove',
  keep: 'will keep',
};

/** The plan as --dry-run and the guided run show it: one line per step, what it would do and why. */
export function describePlan(plan: PlanEntry[], footer: string): string {
  const width = Math.max(...plan.map((p) => MARKS[p.action].length));
  return ['', 'Plan:', ...plan.map((p) => `  ${MARKS[p.action].padEnd(width)}  ${p.id}: ${p.detail}`), footer].join('\n');
}

/** The fields of --json: ids and dates, never the secret. */
export function jsonFields(r: ProvisionResult) {
  const { accountId, tenantId, subscriptionId, appId, applicationObjectId, servicePrincipalId, roleAssignmentId, secretKeyId, secretExpiresAt } = r;
  return { accountId, tenantId, subscriptionId, appId, applicationObjectId, servicePrincipalId, roleAssignmentId, secretKeyId, secretExpiresAt };
}

export function summary(r: ProvisionResult, c: Config): string {
  return [
    '',
    `Done: Spot account ${r.accountId} is linked to Azure.`,
    `  tenant         ${r.tenantName} (${r.tenantId})`,
    `  subscription   ${r.subscriptionName} (${r.subscriptionId})`,
    `  application    ${r.appName} (appId ${r.appId})`,
    `  secret expires ${r.secretExpiresAt.slice(0, 10)} — rotate before then: npx tsx scripts/rotate-secret.ts --account-id ${r.accountId}`,
    ...(r.secretLifetimeFitted ? [`                 (${r.secretLifetimeFitted})`] : []),
    `  state file     ${r.statePath}`,
    `  Azure portal   ${portalAppUrl(c.endpoints.arm, r.appId)}`,
    `  Spot console   ${SPOT_CONSOLE_URL} (account ${r.accountId})`,
  ].join('\n');
}

/** Rows under a header, every column but the last padded to its widest cell; the last may be long. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((cells) =>
    cells
      .map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd(),
  );
}
