import type { CliIo, Command } from '../cli/command.ts';
import type { Application } from '../clients/graph.ts';
import type { Config } from '../config/config.ts';
import { optionsFor, optionsHelp } from '../config/options.ts';
import type { Context } from '../core/context.ts';
import { ApiError, describeFailure, OnboardError, unlessNotFound } from '../core/errors.ts';
import { loadRecordedOutputs } from '../core/runner.ts';
import { type SessionDeps, withSession } from '../core/session.ts';
import { sameId } from '../domain/ids.ts';
import { ownRoleAssignment, sameRole, subscriptionScope } from '../domain/role-assignments.ts';
import { CONTRIBUTOR_ROLE_ID } from '../domain/roles.ts';
import { need } from '../steps/step.ts';
import { forEveryLink, type LinkOutcome } from './every-link.ts';
import { checkSignInToStateTenant, columns, requireRecorded, resolveLink } from './shared.ts';

export type CheckStatus = 'ok' | 'warn' | 'error';

export interface Check {
  check: string;
  status: CheckStatus;
  /** What was found, and on warn or error what to do about it. */
  detail: string;
}

export interface LinkStatus {
  accountId: string;
  subscriptionId?: string;
  appName?: string;
  /** The end date of the secret the state records Spot holds. */
  secretExpiresAt?: string;
  statePath: string;
  /** No check is an error (warnings, such as a secret expiring soon, still count as healthy). */
  healthy: boolean;
  checks: Check[];
}

/** Spot's own console warns about expiring secrets at about this distance; a scheduled status job should too. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

const check = (name: string, status: CheckStatus, detail: string): Check => ({ check: name, status, detail });

/**
 * Checks, live, every object the state file records: the application, its service principal, the
 * role assignment, the credentials Spot holds, and the secret's expiry. Reads only; takes no lock.
 */
export async function linkStatus(config: Config, deps: SessionDeps): Promise<LinkStatus> {
  return withSession(config, deps, { lock: false }, async (ctx, store) => {
    const { state } = ctx;
    requireRecorded(state, store.path);
    loadRecordedOutputs(ctx);
    const checks = [stateCheck(ctx, store.path)];
    if (!state.deprovisioned) {
      await checkSignInToStateTenant(ctx);
      const live = await Promise.all([applicationAndSecret(ctx), servicePrincipal(ctx), roleAssignment(ctx), spotCredentials(ctx)]);
      checks.push(...live.flat());
    }
    const { subscriptionId, appName, secretExpiresAt } = ctx.outputs;
    return {
      accountId: ctx.accountId,
      subscriptionId,
      appName,
      secretExpiresAt,
      statePath: store.path,
      healthy: checks.every((c) => c.status !== 'error'),
      checks,
    };
  });
}

function stateCheck(ctx: Context, path: string): Check {
  const { state } = ctx;
  if (state.deprovisioned)
    return check('state', 'error', `deprovisioned on ${state.deprovisioned}; nothing is linked (move ${path} away and run provision.ts to link again)`);
  const missing = (['app', 'service-principal', 'secret', 'role', 'link'] as const).filter((id) => !state.steps[id]);
  if (missing.length > 0) return check('state', 'error', `provisioning has not finished (not done: ${missing.join(', ')}); run provision.ts again`);
  if (state.rotation)
    return check('state', 'warn', `a secret rotation started ${state.rotation.startedAt} did not finish; run rotate-secret.ts again to finish it`);
  return check('state', 'ok', `linked ${state.steps.link!.at.slice(0, 10)}; ${path}`);
}

/** An API failure becomes that check's error, so one unreachable service does not hide the other checks. */
async function probe(name: string, run: () => Promise<Check[]>): Promise<Check[]> {
  try {
    return await run();
  } catch (error) {
    // The whole paragraph: what failed, what to do, and the failed request's ids for support.
    if (error instanceof ApiError) return [check(name, 'error', describeFailure(error, false).replace(/^Error: /, ''))];
    throw error;
  }
}

function applicationAndSecret(ctx: Context): Promise<Check[]> {
  return probe('application', async () => {
    const { applicationObjectId, appId, secretKeyId } = ctx.outputs;
    if (!applicationObjectId) return [];
    const graph = await ctx.clients.graph();
    const application = await unlessNotFound(graph.getApplication(applicationObjectId));
    if (!application) {
      return [
        check(
          'application',
          'error',
          `${applicationObjectId} no longer exists (deleted outside this tool); run deprovision.ts, then provision.ts to link again`,
        ),
      ];
    }
    const appCheck =
      application.appId === appId
        ? check('application', 'ok', `${application.displayName} (appId ${appId})`)
        : check(
            'application',
            'error',
            `object ${applicationObjectId} has appId ${application.appId}, but the state records ${appId}; check --state names the right file`,
          );
    return secretKeyId ? [appCheck, secretCheck(ctx, application, secretKeyId)] : [appCheck];
  });
}

function secretCheck(ctx: Context, application: Application, keyId: string): Check {
  const secret = application.passwordCredentials.find((p) => p.keyId === keyId);
  if (!secret)
    return check('secret', 'error', `client secret ${keyId} was removed from the application, so Spot's credentials no longer work; run rotate-secret.ts`);
  const end = Date.parse(secret.endDateTime);
  const days = Math.floor((end - ctx.now().getTime()) / DAY_MS);
  const date = secret.endDateTime.slice(0, 10);
  if (end <= ctx.now().getTime())
    return check('secret', 'error', `client secret ${keyId} expired on ${date}; Spot can no longer reach Azure: run rotate-secret.ts`);
  if (days < EXPIRY_WARNING_DAYS)
    return check('secret', 'warn', `client secret ${keyId} expires on ${date}, in ${days} day${days === 1 ? '' : 's'}; run rotate-secret.ts`);
  return check('secret', 'ok', `client secret ${keyId} expires on ${date} (in ${days} days)`);
}

function servicePrincipal(ctx: Context): Promise<Check[]> {
  return probe('service principal', async () => {
    const { servicePrincipalId, appId } = ctx.outputs;
    if (!servicePrincipalId) return [];
    const graph = await ctx.clients.graph();
    const sp = await unlessNotFound(graph.getServicePrincipal(servicePrincipalId));
    if (!sp) {
      return [
        check(
          'service principal',
          'error',
          `${servicePrincipalId} no longer exists, so the role assignment is void; run deprovision.ts, then provision.ts to link again`,
        ),
      ];
    }
    return [
      sp.appId === appId
        ? check('service principal', 'ok', servicePrincipalId)
        : check('service principal', 'error', `${servicePrincipalId} belongs to appId ${sp.appId}, not ${appId}`),
    ];
  });
}

function roleAssignment(ctx: Context): Promise<Check[]> {
  return probe('role assignment', async () => {
    const { roleAssignmentId, servicePrincipalId, subscriptionId, appId } = ctx.outputs;
    if (!ctx.state.steps.role) return [];
    // Links made before --role existed recorded no role: they hold Contributor.
    const { roleDefinitionId = CONTRIBUTOR_ROLE_ID, roleName = 'Contributor' } = ctx.outputs;
    const arm = await ctx.clients.arm();
    const scope = subscriptionScope(need(ctx, 'subscriptionId'));
    const own = await ownRoleAssignment(ctx.clients.arm, ctx.outputs);
    // An assignment that existed before the tool ran is recorded by id; look it up among the principal's.
    const found = own
      ? await arm.getRoleAssignment(own.scope, own.name)
      : (await arm.listRoleAssignments(scope, servicePrincipalId!)).find((a) => sameId(a.id, roleAssignmentId));
    if (!found) {
      return [
        check(
          'role assignment',
          'error',
          `${roleName} for the app is gone from subscription ${subscriptionId}, so Spot cannot manage it; assign it again: az role assignment create --assignee ${appId} --role "${roleName}" --scope ${scope}`,
        ),
      ];
    }
    if (!sameId(found.principalId, servicePrincipalId) || !sameRole(found.roleDefinitionId, roleDefinitionId)) {
      return [check('role assignment', 'error', `${found.id} no longer grants ${roleName} to service principal ${servicePrincipalId}`)];
    }
    return [check('role assignment', 'ok', `${roleName} on ${scope}`)];
  });
}

function spotCredentials(ctx: Context): Promise<Check[]> {
  return probe('spot credentials', async () => {
    if (!ctx.state.steps.link) return [];
    const spot = await ctx.clients.spot();
    const linked = await spot.getAzureCredentials(ctx.accountId);
    if (!linked)
      return [check('spot credentials', 'error', `Spot account ${ctx.accountId} holds no Azure credentials; run rotate-secret.ts to give it this link's`)];
    const expected = { clientId: ctx.outputs.appId, tenantId: ctx.outputs.tenantId, subscriptionId: ctx.outputs.subscriptionId };
    const differ = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => !sameId(linked[k], expected[k]));
    if (!sameId(linked.subscriptionId, expected.subscriptionId)) {
      // Giving Spot this link's credentials again would move the account back, off the subscription it now serves.
      return [
        check(
          'spot credentials',
          'error',
          `Spot account ${ctx.accountId} now serves subscription ${linked.subscriptionId} (clientId ${linked.clientId}), not this record's ${expected.subscriptionId}: it was moved; check that subscription's link, and to move it back run provision.ts --state ${ctx.statePath} --relink`,
        ),
      ];
    }
    if (differ.length > 0) {
      const what = differ.map((k) => `${k} ${linked[k]} (expected ${expected[k]})`).join(', ');
      return [
        check('spot credentials', 'error', `Spot holds ${what}: changed outside this tool; run rotate-secret.ts to give Spot this link's credentials again`),
      ];
    }
    return [expirationCheck(linked.expirationDate, ctx.outputs.secretExpiresAt)];
  });
}

/**
 * Spot warns before the expirationDate it was given: one that is not the secret's end date warns too
 * late (or for nothing). spotinst/openapi's schema of the GET answer lists only clientId, tenantId
 * and subscriptionId, so an answer without expirationDate is not held against the link.
 */
function expirationCheck(stored: string | undefined, secretEnds: string | undefined): Check {
  if (stored === undefined || secretEnds === undefined) {
    return check('spot credentials', 'ok', 'clientId, tenantId and subscriptionId match (Spot did not say which expirationDate it holds)');
  }
  if (Date.parse(stored) !== Date.parse(secretEnds)) {
    return check(
      'spot credentials',
      'error',
      `Spot holds expirationDate ${stored}, but the client secret ends ${secretEnds}, so Spot warns about its expiry at the wrong time; run rotate-secret.ts to give Spot this link's credentials again`,
    );
  }
  return check('spot credentials', 'ok', `clientId, tenantId, subscriptionId and expirationDate (${secretEnds.slice(0, 10)}) match`);
}

const OPTIONS = optionsFor([
  'account-id',
  'state',
  'state-dir',
  'all',
  'concurrency',
  'cloud',
  'device-code',
  'dotenv',
  'audit-log',
  'yes',
  'json',
  'no-color',
  'verbose',
  'help',
]);

const HELP = `Check, live, the link provision.ts made: the application and its service principal exist, the
Contributor assignment is on the subscription, Spot holds this app's clientId, tenantId and
subscriptionId and the secret's expirationDate, and the client secret has not expired. Reads only and
takes no lock; safe to run from a scheduled job.

Usage: npx tsx scripts/status.ts [options]

Options:
${optionsHelp(OPTIONS)}

Which link: the one --account-id names (its state file is <state-dir>/<account-id>.json), the one
--state names, else the only state file in the state directory. --all checks every link there, one
row each, --concurrency at a time.

Each check is ok, warn or error. A secret that expires within 30 days is a warning; an expired or
removed secret, a missing object or credentials Spot holds for something else are errors.

Exit codes: 0 healthy (warnings included; with --all, every link); 1 any error (drift, expiry, or the
check itself failed); 2 usage.

Examples:
  npx tsx scripts/status.ts
  npx tsx scripts/status.ts --state .spot-azure-onboard/act-1234abcd.json --json | jq '.checks[] | select(.status != "ok")'
  npx tsx scripts/status.ts --all --state-dir /var/lib/spot-links
`;

/** scripts/status.ts */
export const statusCommand: Command = {
  name: 'status',
  summary: 'check, live, every object of a link; changes nothing',
  options: OPTIONS,
  help: HELP,
  run: (config, io) => (config.all ? statusOfEvery(config, io) : statusOfOne(config, io)),
};

async function statusOfOne(config: Config, io: CliIo): Promise<void> {
  const status = await linkStatus(await resolveLink(config, { allFlag: true }), io);
  io.result(status, () => table(status));
  const failed = status.checks.filter((c) => c.status === 'error');
  if (failed.length > 0) {
    throw new OnboardError(
      'conflict',
      `The link of Spot account ${status.accountId} is not healthy: ${failed.map((c) => c.check).join(', ')}.`,
      'The detail of each failed check says what to do.',
    );
  }
}

/** Every link in the state directory; a link whose check could not run at all is unhealthy with that reason. */
async function statusOfEvery(config: Config, io: CliIo): Promise<void> {
  const outcomes = await forEveryLink(config, io, linkStatus, (o) => {
    const status = statusOf(o);
    return { ok: status.healthy, line: `${status.accountId} ${status.healthy ? 'healthy' : `not healthy: ${firstProblem(status)}`}` };
  });
  const links = outcomes.map(statusOf);
  const healthy = links.every((l) => l.healthy);
  io.result(
    {
      healthy,
      links: links.map(({ accountId, subscriptionId, statePath, healthy, checks }) => ({ accountId, subscriptionId, statePath, healthy, checks })),
    },
    () => everyTable(links),
  );
  const unhealthy = links.filter((l) => !l.healthy);
  if (unhealthy.length > 0) {
    throw new OnboardError(
      'partial',
      `${unhealthy.length} of ${links.length} links are not healthy: ${unhealthy.map((l) => l.accountId).join(', ')}.`,
      'The table names the first problem of each; status.ts --account-id act-… shows every check and what to do.',
    );
  }
}

function statusOf({ link, result, error }: LinkOutcome<LinkStatus>): LinkStatus {
  if (result) return result;
  const detail = error === undefined ? 'not checked: interrupted' : describeFailure(error, false).replace(/^Error: /, '');
  return {
    accountId: link.accountId,
    subscriptionId: link.subscriptionId,
    statePath: link.path,
    healthy: false,
    checks: [check('status', 'error', detail)],
  };
}

/** The first error, else the first warning: what a row of the fleet table has room for. */
function firstProblem(status: LinkStatus): string {
  const problem = status.checks.find((c) => c.status === 'error') ?? status.checks.find((c) => c.status === 'warn');
  return problem ? `${problem.check}: ${problem.detail}` : '';
}

function table(status: LinkStatus): string {
  const rows = [['check', 'status', 'detail'], ...status.checks.map((c) => [c.check, c.status, c.detail])];
  const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length));
  return [`Spot account ${status.accountId}`, ...rows.map((r) => `${r[0]!.padEnd(width(0))}  ${r[1]!.padEnd(width(1))}  ${r[2]}`)].join('\n');
}

function everyTable(links: LinkStatus[]): string {
  const header = ['Spot account', 'subscription', 'application', 'secret expires', 'health', 'first problem'];
  const rows = links.map((l) => [
    l.accountId,
    l.subscriptionId ?? '-',
    l.appName ?? '-',
    l.secretExpiresAt?.slice(0, 10) ?? '-',
    l.healthy ? 'healthy' : 'unhealthy',
    firstProblem(l).replace(/\s*\n\s*/g, ' '),
  ]);
  const healthy = links.filter((l) => l.healthy).length;
  const tally = `${healthy} of ${links.length} links healthy${healthy < links.length ? `; ${links.length - healthy} not` : ''}.`;
  return ['', ...columns([header, ...rows]), '', tally].join('\n');
}
