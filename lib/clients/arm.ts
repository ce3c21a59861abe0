import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { SubscriptionClient } from '@azure/arm-subscriptions';
import type { TokenCredential } from '@azure/identity';
import { ApiError, kindForStatus, UNREACHABLE_HINT, unlessNotFound } from '../core/errors.ts';
import type { PermissionSet } from '../domain/permissions.ts';
import { requestIdsFromHeaders } from './request-ids.ts';

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state: string;
  tenantId?: string;
}

export interface RoleAssignment {
  id: string;
  name: string;
  roleDefinitionId: string;
  principalId: string;
}

export interface RoleDefinition {
  /** Full id, e.g. /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}. */
  id: string;
  /** The GUID. */
  name: string;
  roleName: string;
  /** BuiltInRole or CustomRole. */
  roleType: string;
}

export interface CustomRole {
  roleName: string;
  description: string;
  actions: string[];
  assignableScopes: string[];
}

/** The Azure Resource Manager calls the steps make; every failure comes out as an ApiError('arm'). */
export interface ArmApi {
  listSubscriptions(): Promise<Subscription[]>;
  getSubscription(subscriptionId: string): Promise<Subscription>;
  /** The caller's effective permissions on the subscription. */
  permissions(subscriptionId: string): Promise<PermissionSet[]>;
  createRoleAssignment(scope: string, name: string, assignment: { roleDefinitionId: string; principalId: string }): Promise<RoleAssignment>;
  getRoleAssignment(scope: string, name: string): Promise<RoleAssignment | undefined>;
  /** Assignments of `principalId` at exactly `scope` (not inherited ones). */
  listRoleAssignments(scope: string, principalId: string): Promise<RoleAssignment[]>;
  deleteRoleAssignment(scope: string, name: string): Promise<void>;
  /** Role definitions visible at `scope` named exactly `roleName` (built-in or custom). */
  findRoleDefinitions(scope: string, roleName: string): Promise<RoleDefinition[]>;
  getRoleDefinition(scope: string, guid: string): Promise<RoleDefinition | undefined>;
  /** Creates (or replaces) the custom role definition `guid` at `scope`. */
  putRoleDefinition(scope: string, guid: string, role: CustomRole): Promise<RoleDefinition>;
}

/** The version the subscription-scope permissions call is documented with (see `permissions` below). */
const PERMISSIONS_API_VERSION = '2015-07-01';

export async function createArmApi(credential: TokenCredential, armEndpoint: string): Promise<ArmApi> {
  const { AuthorizationManagementClient, SubscriptionClient, createPipelineRequest } = await import('./arm-sdk.ts');
  const options = armClientOptions(armEndpoint);
  // The subscription id is only used by operations we do not call; every call here names its scope.
  const authorization: AuthorizationManagementClient = new AuthorizationManagementClient(credential, '00000000-0000-0000-0000-000000000000', options);
  const subscriptions: SubscriptionClient = new SubscriptionClient(credential, options);
  const call = <T>(request: () => Promise<T>) => request().catch((error: unknown) => Promise.reject(armError(error)));

  return {
    listSubscriptions: () =>
      call(async () => {
        const all: Subscription[] = [];
        for await (const s of subscriptions.subscriptions.list()) all.push(toSubscription(s));
        return all;
      }),
    getSubscription: (subscriptionId) => call(async () => toSubscription(await subscriptions.subscriptions.get(subscriptionId))),
    // The SDK and the REST specifications define permissions only at resource-group and resource scope;
    // the subscription-scope form, and matching roleAssignments/write against its actions and notActions,
    // is documented in azure-docs articles/azure-resource-manager/resource-manager-api-authentication.md
    // ("Check if user can assign access to subscription"), with api-version 2015-07-01.
    permissions: (subscriptionId) =>
      call(async () => {
        const url = `${armEndpoint}/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/permissions?api-version=${PERMISSIONS_API_VERSION}`;
        const response = await authorization.sendRequest(createPipelineRequest({ url, method: 'GET' }));
        const body = response.bodyAsText ? (JSON.parse(response.bodyAsText) as { value?: PermissionSet[]; error?: { code?: string; message?: string } }) : {};
        if (response.status >= 400) {
          throw new ApiError('arm', {
            kind: kindForStatus(response.status),
            status: response.status,
            code: body.error?.code,
            message: `Azure Resource Manager answered ${response.status}${body.error?.code ? ` ${body.error.code}` : ''}: ${body.error?.message ?? 'no message'}`,
          });
        }
        return body.value ?? [];
      }),
    createRoleAssignment: (scope, name, { roleDefinitionId, principalId }) =>
      call(async () =>
        toRoleAssignment(await authorization.roleAssignments.create(scope, name, { roleDefinitionId, principalId, principalType: 'ServicePrincipal' })),
      ),
    getRoleAssignment: (scope, name) => unlessNotFound(call(async () => toRoleAssignment(await authorization.roleAssignments.get(scope, name)))),
    listRoleAssignments: (scope, principalId) =>
      call(async () => {
        const found: RoleAssignment[] = [];
        for await (const a of authorization.roleAssignments.listForScope(scope, { filter: `principalId eq '${principalId}'` })) {
          if (a.scope === undefined || a.scope.toLowerCase() === scope.toLowerCase()) found.push(toRoleAssignment(a));
        }
        return found;
      }),
    deleteRoleAssignment: (scope, name) =>
      call(async () => {
        await authorization.roleAssignments.delete(scope, name);
      }),
    findRoleDefinitions: (scope, roleName) =>
      call(async () => {
        const found: RoleDefinition[] = [];
        // OData string literal: a quote inside is doubled.
        for await (const d of authorization.roleDefinitions.list(scope, { filter: `roleName eq '${roleName.replace(/'/g, "''")}'` }))
          found.push(toRoleDefinition(d));
        return found;
      }),
    getRoleDefinition: (scope, guid) => unlessNotFound(call(async () => toRoleDefinition(await authorization.roleDefinitions.get(scope, guid)))),
    putRoleDefinition: (scope, guid, { roleName, description, actions, assignableScopes }) =>
      call(async () =>
        toRoleDefinition(
          await authorization.roleDefinitions.createOrUpdate(scope, guid, {
            roleName,
            description,
            roleType: 'CustomRole',
            permissions: [{ actions, notActions: [], dataActions: [], notDataActions: [] }],
            assignableScopes,
          }),
        ),
      ),
  };
}

/** `$host` alone is ignored by the ARM clients; `endpoint` and the token scope must both name the cloud
 * (@azure/arm-authorization src/authorizationManagementClient.ts: `options.endpoint ?? options.baseUri`). */
export function armClientOptions(armEndpoint: string): { endpoint: string; credentialScopes: string[] } {
  return { endpoint: armEndpoint, credentialScopes: [`${armEndpoint}/.default`] };
}

function toSubscription(s: { subscriptionId?: string; displayName?: string; state?: string; tenantId?: string }): Subscription {
  return { subscriptionId: s.subscriptionId ?? '', displayName: s.displayName ?? '', state: s.state ?? 'Unknown', tenantId: s.tenantId };
}

function toRoleDefinition(d: { id?: string; name?: string; roleName?: string; roleType?: string }): RoleDefinition {
  return { id: d.id ?? '', name: d.name ?? '', roleName: d.roleName ?? '', roleType: d.roleType ?? '' };
}

function toRoleAssignment(a: { id?: string; name?: string; roleDefinitionId?: string; principalId?: string }): RoleAssignment {
  return { id: a.id ?? '', name: a.name ?? '', roleDefinitionId: a.roleDefinitionId ?? '', principalId: a.principalId ?? '' };
}

/** ARM's error body is `{error:{code,message}}`; the pipeline turns it into a RestError carrying both. */
function armError(error: unknown): unknown {
  if (error instanceof ApiError) return error;
  // `instanceof RestError` fails across the two copies of the pipeline the SDKs load (@azure/core-rest-pipeline
  // recommends `isRestError` for this, src/restError.ts).
  const rest = error as {
    name?: string;
    statusCode?: number;
    code?: string;
    message?: string;
    response?: { headers?: { get(name: string): string | undefined } };
  };
  if (rest?.name !== 'RestError') return error;
  if (typeof rest.statusCode !== 'number') {
    // No answer at all (REQUEST_SEND_ERROR, ECONNRESET…), after the pipeline's own retries of transient
    // network errors (core-rest-pipeline exponentialRetryPolicy): nothing more to retry here.
    return new ApiError(
      'arm',
      {
        kind: 'unavailable',
        status: 0,
        code: rest.code,
        message: `Azure Resource Manager could not be reached: ${rest.message ?? 'no answer'}${rest.code ? ` (${rest.code})` : ''}.`,
        hint: UNREACHABLE_HINT,
      },
      { cause: error },
    );
  }
  return new ApiError(
    'arm',
    {
      kind: kindForStatus(rest.statusCode),
      status: rest.statusCode,
      code: rest.code,
      message: `Azure Resource Manager answered ${rest.statusCode}${rest.code ? ` ${rest.code}` : ''}: ${rest.message ?? 'no message'}`,
      requestIds: requestIdsFromHeaders('arm', (name) => rest.response?.headers?.get(name)),
    },
    { cause: error },
  );
}
