import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ApiHandler, ApiRequest, ApiResponse, Context } from './http.ts';
import { header, isGuid, isRecord, lagging, parseFilter, safeDecode, str } from './http.ts';
import { authenticate } from './identity.ts';
import type { IssuedToken, Permission, RoleAssignment, RoleDefinition, Subscription } from './store.ts';
import { permits, roleDefinitionPath, roleGuidOf, scopeCovers } from './store.ts';

const PAGE_SIZE = 50;
const AUTHZ = '/providers/Microsoft.Authorization';

export function armError(status: number, code: string, message: string): ApiResponse {
  return { status, body: { error: { code, message } } };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function subscriptionJson(sub: Subscription, tenantId: string): Record<string, unknown> {
  return {
    id: `/subscriptions/${sub.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: sub.subscriptionId,
    tenantId,
    displayName: sub.displayName,
    state: sub.state,
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
  };
}

function roleDefinitionJson(def: RoleDefinition, subscriptionId: string | undefined): Record<string, unknown> {
  return {
    id: subscriptionId ? roleDefinitionPath(subscriptionId, def.id) : `${AUTHZ}/roleDefinitions/${def.id}`,
    name: def.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: def.roleName,
      type: def.roleType,
      description: def.description,
      assignableScopes: def.assignableScopes,
      permissions: def.permissions,
      createdOn: iso(def.createdAt),
      updatedOn: iso(def.createdAt),
      createdBy: null,
      updatedBy: null,
    },
  };
}

function assignmentJson(a: RoleAssignment): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: a.roleDefinitionId,
      principalId: a.principalId,
      principalType: a.principalType,
      scope: a.scope,
      condition: null,
      conditionVersion: null,
      createdOn: iso(a.createdAt),
      updatedOn: iso(a.createdAt),
      createdBy: a.createdBy,
      updatedBy: a.createdBy,
      delegatedManagedIdentityResourceId: null,
      description: null,
    },
  };
}

function authorizationFailed(token: IssuedToken, action: string, scope: string): ApiResponse {
  return armError(
    403,
    'AuthorizationFailed',
    `The client '${token.clientId}' with object id '${token.principalId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

function subscriptionNotFound(subscriptionId: string): ApiResponse {
  return armError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
}

interface Call {
  req: ApiRequest;
  ctx: Context;
  token: IssuedToken;
}

function can(call: Call, scope: string, action: string): boolean {
  return permits(call.ctx.store.permissionsAt(call.token.principalId, scope), action);
}

function listSubscriptions(call: Call): ApiResponse {
  const { store, urls } = call.ctx;
  const visible = store.subscriptions.filter((s) => store.hasAccess(call.token.principalId, `/subscriptions/${s.subscriptionId}`));
  const skip = Number(call.req.query.get('$skiptoken') ?? '0') || 0;
  const page = visible.slice(skip, skip + PAGE_SIZE);
  const body: Record<string, unknown> = {
    value: page.map((s) => subscriptionJson(s, store.tenant.id)),
    count: { type: 'Total', value: visible.length },
  };
  if (skip + PAGE_SIZE < visible.length) {
    const apiVersion = encodeURIComponent(call.req.query.get('api-version') ?? '');
    body['nextLink'] = `${urls.arm}/subscriptions?api-version=${apiVersion}&$skiptoken=${skip + PAGE_SIZE}`;
  }
  return { status: 200, body };
}

/** `scope` must be /subscriptions/{id}[/...] for an existing subscription the caller can see. */
function resolveScope(call: Call, scope: string): { subscription: Subscription } | ApiResponse {
  const match = /^\/subscriptions\/([^/]+)(?:\/.*)?$/i.exec(scope);
  if (!match?.[1]) return armError(400, 'InvalidScope', `The scope '${scope}' is not valid.`);
  const subscription = call.ctx.store.subscription(match[1]);
  if (!subscription) return subscriptionNotFound(match[1]);
  return { subscription };
}

function permissions(call: Call, scope: string): ApiResponse {
  const resolved = resolveScope(call, scope);
  if (!('subscription' in resolved)) return resolved;
  const { store } = call.ctx;
  if (!store.hasAccess(call.token.principalId, scope)) return authorizationFailed(call.token, 'Microsoft.Authorization/permissions/read', scope);
  const value = store
    .permissionsAt(call.token.principalId, scope)
    .map((p): Permission => ({ actions: p.actions, notActions: p.notActions, dataActions: p.dataActions, notDataActions: p.notDataActions }));
  return { status: 200, body: { value } };
}

function roleDefinitions(call: Call, scope: string, name: string | undefined): ApiResponse {
  const { req, ctx } = call;
  const { store } = ctx;
  let subscriptionId: string | undefined;
  if (scope !== '') {
    const resolved = resolveScope(call, scope);
    if (!('subscription' in resolved)) return resolved;
    subscriptionId = resolved.subscription.subscriptionId;
  }
  const action = `Microsoft.Authorization/roleDefinitions/${req.method === 'GET' ? 'read' : req.method === 'PUT' ? 'write' : 'delete'}`;
  if (scope !== '' && !can(call, scope, action)) return authorizationFailed(call.token, action, scope);
  const visible = (d: RoleDefinition): boolean => d.assignableScopes.some((s) => scopeCovers(s, scope) || scopeCovers(scope, s));

  if (name === undefined) {
    if (req.method !== 'GET') return armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
    let defs = store.roleDefinitions.filter(visible);
    const filter = req.query.get('$filter');
    if (filter !== null) {
      const clauses = parseFilter(filter);
      if (!clauses) return armError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported.`);
      for (const { field, value } of clauses) {
        const f = field.toLowerCase();
        if (f === 'rolename') defs = defs.filter((d) => d.roleName.toLowerCase() === value.toLowerCase());
        else if (f === 'type') defs = defs.filter((d) => d.roleType.toLowerCase() === value.toLowerCase());
        else return armError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported.`);
      }
    }
    return { status: 200, body: { value: defs.map((d) => roleDefinitionJson(d, subscriptionId)) } };
  }

  const existing = store.roleDefinition(name);
  switch (req.method) {
    case 'GET':
      if (!existing || !visible(existing))
        return armError(404, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${name}' does not exist.`);
      return { status: 200, body: roleDefinitionJson(existing, subscriptionId) };
    case 'PUT': {
      if (!isGuid(name))
        return armError(400, 'InvalidRoleDefinitionId', `The role definition ID '${name}' is not valid. The role definition ID must be a GUID.`);
      if (existing?.roleType === 'BuiltInRole') return armError(403, 'RoleDefinitionUpdateNotAllowed', 'Built-in role definitions cannot be updated.');
      const props = isRecord(req.body) && isRecord(req.body['properties']) ? req.body['properties'] : undefined;
      const roleName = str(props?.['roleName']);
      if (!props || !roleName) return armError(400, 'InvalidRoleDefinition', 'The role definition must have a roleName.');
      if (store.roleDefinitions.some((d) => d !== existing && d.roleName.toLowerCase() === roleName.toLowerCase())) {
        return armError(409, 'RoleDefinitionWithSameNameExists', 'A custom role with the same name already exists in this directory. Use a different name.');
      }
      const perms = Array.isArray(props['permissions']) ? props['permissions'].filter(isRecord) : [];
      const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
      const assignableScopes = strings(props['assignableScopes']);
      const def: RoleDefinition = {
        id: name.toLowerCase(),
        roleName,
        description: str(props['description']) ?? '',
        roleType: 'CustomRole',
        permissions: perms.map((p) => ({
          actions: strings(p['actions']),
          notActions: strings(p['notActions']),
          dataActions: strings(p['dataActions']),
          notDataActions: strings(p['notDataActions']),
        })),
        assignableScopes: assignableScopes.length > 0 ? assignableScopes : [scope],
        createdAt: existing?.createdAt ?? ctx.now(),
      };
      if (existing) store.roleDefinitions.splice(store.roleDefinitions.indexOf(existing), 1, def);
      else store.roleDefinitions.push(def);
      return { status: 201, body: roleDefinitionJson(def, subscriptionId) };
    }
    case 'DELETE': {
      if (!existing || existing.roleType === 'BuiltInRole') return { status: 204 };
      if (store.roleAssignments.some((a) => roleGuidOf(a.roleDefinitionId) === existing.id)) {
        return armError(409, 'RoleDefinitionHasAssignments', 'There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).');
      }
      store.roleDefinitions.splice(store.roleDefinitions.indexOf(existing), 1);
      return { status: 200, body: roleDefinitionJson(existing, subscriptionId) };
    }
    default:
      return armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
  }
}

function listAssignments(call: Call, scope: string): ApiResponse {
  const { req, ctx } = call;
  let items = ctx.store.roleAssignments.filter((a) => scopeCovers(a.scope, scope) || scopeCovers(scope, a.scope));
  const filter = req.query.get('$filter');
  if (filter !== null) {
    const atScope = /^\s*atScope\(\)\s*$/i.test(filter);
    const assignedTo = /^\s*assignedTo\('([^']*)'\)\s*$/i.exec(filter);
    const clauses = atScope || assignedTo ? [] : parseFilter(filter);
    if (atScope) items = items.filter((a) => scopeCovers(a.scope, scope));
    else if (assignedTo) items = items.filter((a) => a.principalId.toLowerCase() === assignedTo[1]?.toLowerCase());
    else if (!clauses || clauses.some((c) => c.field.toLowerCase() !== 'principalid')) {
      return armError(
        400,
        'UnsupportedQuery',
        `The filter '${filter}' is not supported. Supported filters are either 'atScope()', 'assignedTo('{value}')' or 'principalId eq '{value}''.`,
      );
    } else {
      items = items.filter((a) => clauses.every((c) => a.principalId.toLowerCase() === c.value.toLowerCase()));
    }
  }
  return { status: 200, body: { value: items.map(assignmentJson) } };
}

function putAssignment(call: Call, scope: string, subscription: Subscription, name: string, existing: RoleAssignment | undefined): ApiResponse {
  const { req, ctx, token } = call;
  const { store } = ctx;
  if (!isGuid(name)) return armError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
  const props = isRecord(req.body) && isRecord(req.body['properties']) ? req.body['properties'] : undefined;
  const roleDefinitionId = str(props?.['roleDefinitionId']);
  const principalId = str(props?.['principalId']);
  if (!roleDefinitionId || !principalId) {
    return armError(400, 'InvalidRequestContent', "The request content was invalid: 'properties.roleDefinitionId' and 'properties.principalId' are required.");
  }
  const action = 'Microsoft.Authorization/roleAssignments/write';
  const fullId = `${scope}${AUTHZ}/roleAssignments/${name}`;
  if (!can(call, scope, action)) return authorizationFailed(token, action, fullId);
  if (subscription.state === 'Disabled') {
    return armError(
      409,
      'ReadOnlyDisabledSubscription',
      `The subscription '${subscription.subscriptionId}' is disabled and therefore marked as read only. You cannot perform any write actions on this subscription until it is re-enabled.`,
    );
  }
  const roleGuid = roleGuidOf(roleDefinitionId);
  const def = store.roleDefinition(roleGuid);
  if (!def) return armError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${roleGuid}' does not exist.`);
  const sp = store.spById(principalId);
  const principalType = str(props?.['principalType']);
  // Azure RBAC troubleshooting: a principal created moments ago may not have replicated to ARM yet.
  if (!sp || lagging(ctx, 'principal', sp.id, sp.createdAt)) {
    return armError(
      400,
      'PrincipalNotFound',
      `Principal ${principalId.replaceAll('-', '')} does not exist in the directory ${store.tenant.id}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
    );
  }
  if (principalType !== undefined && principalType !== 'ServicePrincipal') {
    return armError(
      400,
      'UnmatchedPrincipalType',
      `The PrincipalId '${principalId.replaceAll('-', '')}' has type 'ServicePrincipal' , which is different from specified PrincipalType '${principalType}'.`,
    );
  }
  const [wantedPrincipal, wantedScope] = [principalId.toLowerCase(), scope.toLowerCase()];
  const same = (a: RoleAssignment): boolean =>
    a.principalId.toLowerCase() === wantedPrincipal && roleGuidOf(a.roleDefinitionId) === roleGuid && a.scope.toLowerCase() === wantedScope;
  if (existing) {
    if (!same(existing))
      return armError(409, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.');
    return { status: 201, body: assignmentJson(existing) };
  }
  if (store.roleAssignments.some(same)) return armError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
  const assignment: RoleAssignment = {
    id: fullId,
    name: name.toLowerCase(),
    scope,
    roleDefinitionId: roleDefinitionPath(subscription.subscriptionId, roleGuid),
    principalId: sp.id,
    principalType: 'ServicePrincipal',
    createdBy: token.principalId,
    createdAt: ctx.now(),
  };
  store.roleAssignments.push(assignment);
  return { status: 201, body: assignmentJson(assignment) };
}

function roleAssignments(call: Call, scope: string, name: string | undefined): ApiResponse {
  const { req, ctx, token } = call;
  const resolved = resolveScope(call, scope);
  if (!('subscription' in resolved)) return resolved;
  if (name === undefined) {
    if (req.method !== 'GET') return armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
    if (!can(call, scope, 'Microsoft.Authorization/roleAssignments/read'))
      return authorizationFailed(token, 'Microsoft.Authorization/roleAssignments/read', scope);
    return listAssignments(call, scope);
  }
  const fullId = `${scope}${AUTHZ}/roleAssignments/${name}`;
  const existing = ctx.store.assignmentById(fullId);
  switch (req.method) {
    case 'GET':
      if (!can(call, scope, 'Microsoft.Authorization/roleAssignments/read'))
        return authorizationFailed(token, 'Microsoft.Authorization/roleAssignments/read', fullId);
      return existing
        ? { status: 200, body: assignmentJson(existing) }
        : armError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
    case 'PUT':
      return putAssignment(call, scope, resolved.subscription, name, existing);
    case 'DELETE':
      if (!can(call, scope, 'Microsoft.Authorization/roleAssignments/delete'))
        return authorizationFailed(token, 'Microsoft.Authorization/roleAssignments/delete', fullId);
      if (!existing) return { status: 204 };
      ctx.store.roleAssignments.splice(ctx.store.roleAssignments.indexOf(existing), 1);
      return { status: 200, body: assignmentJson(existing) };
    default:
      return armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
  }
}

function route(call: Call): ApiResponse {
  const { req, ctx } = call;
  const path = safeDecode(req.pathname).replace(/\/+$/, '');
  const { store } = ctx;
  if (/^\/subscriptions$/i.test(path)) {
    return req.method === 'GET'
      ? listSubscriptions(call)
      : armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
  }
  if (/^\/tenants$/i.test(path) && req.method === 'GET') {
    return {
      status: 200,
      body: {
        value: [
          {
            id: `/tenants/${store.tenant.id}`,
            tenantId: store.tenant.id,
            tenantCategory: 'Home',
            displayName: store.tenant.displayName,
            defaultDomain: store.tenant.domain,
            domains: [store.tenant.domain],
          },
        ],
        count: { type: 'Total', value: 1 },
      },
    };
  }
  const sub = /^\/subscriptions\/([^/]+)$/i.exec(path);
  if (sub?.[1] && req.method === 'GET') {
    const found = store.subscription(sub[1]);
    if (!found || !store.hasAccess(call.token.principalId, `/subscriptions/${found.subscriptionId}`)) return subscriptionNotFound(sub[1]);
    return { status: 200, body: subscriptionJson(found, store.tenant.id) };
  }
  const authz = /^(.*)\/providers\/Microsoft\.Authorization\/(permissions|roleDefinitions|roleAssignments)(?:\/([^/]+))?$/i.exec(path);
  if (authz) {
    const [, scope = '', kind = '', name] = authz;
    switch (kind.toLowerCase()) {
      case 'permissions':
        return name === undefined && req.method === 'GET'
          ? permissions(call, scope)
          : armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
      case 'roledefinitions':
        return roleDefinitions(call, scope, name);
      default:
        return roleAssignments(call, scope, name);
    }
  }
  const provider = /\/providers\/([^/]+)\/([^/]+)/i.exec(path);
  if (provider) {
    return armError(
      404,
      'InvalidResourceType',
      `The resource type '${provider[2] ?? ''}' could not be found in the namespace '${provider[1] ?? ''}' for api version '${req.query.get('api-version') ?? ''}'.`,
    );
  }
  return armError(404, 'InvalidResourceType', `The resource type could not be found for the path '${path}'.`);
}

export const armApi: ApiHandler = {
  handle(req, ctx) {
    const auth = authenticate(req, ctx, ctx.urls.arm);
    if (!auth.ok) return armError(401, 'InvalidAuthenticationToken', auth.message);
    if (!req.query.get('api-version')) {
      return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    if (req.invalidBody) return armError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
    return route({ req, ctx, token: auth.token });
  },
  faultBody(status) {
    const code = status === 429 ? 'TooManyRequests' : (STATUS_CODES[status] ?? 'UnknownError').replace(/\s+/g, '');
    const message =
      status === 429
        ? 'The request is being throttled as the limit has been reached for operation type - Write. For more information, see - https://aka.ms/srpthrottlinglimits'
        : `Injected fault (HTTP ${status}).`;
    return armError(status, code, message).body;
  },
  ids(req) {
    const requestId = randomUUID();
    return { 'x-ms-request-id': requestId, 'x-ms-correlation-request-id': header(req, 'x-ms-correlation-request-id') ?? requestId };
  },
  headers(req) {
    return { ...req.ids, 'x-ms-routing-request-id': `EMULATOR:${req.ids['x-ms-request-id']}`, 'Cache-Control': 'no-cache' };
  },
};
