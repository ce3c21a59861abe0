import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { OPEN_POLICY, type TenantAppManagementPolicy } from './policy.ts';

export type RoleName = 'Owner' | 'Contributor' | 'Reader' | 'UserAccessAdministrator';
export type SubscriptionState = 'Enabled' | 'Disabled' | 'Warned' | 'PastDue' | 'Deleted';

export interface Password {
  keyId: string;
  displayName: string | null;
  startDateTime: string;
  endDateTime: string;
  hint: string;
  /** Kept only so the token endpoint and Spot can validate it; Graph returns it once, from addPassword. */
  secretText: string;
  createdAt: number;
}

/** Which sensitive properties of the app's service principals are locked (serviceprincipallockconfiguration.md). */
export interface LockConfiguration {
  isEnabled: boolean;
  allProperties: boolean;
  credentialsWithUsageVerify: boolean;
  credentialsWithUsageSign: boolean;
  identifierUris: boolean;
  tokenEncryptionKeyId: boolean;
}

/** A certificate added with addKey; the emulator keeps only what Graph returns about it. */
export interface KeyCredential {
  keyId: string;
  displayName: string | null;
  type: string;
  usage: string;
  startDateTime: string;
  endDateTime: string;
}

export interface App {
  id: string;
  appId: string;
  uniqueName: string | null;
  displayName: string;
  signInAudience: string;
  notes: string | null;
  tags: string[];
  servicePrincipalLockConfiguration: LockConfiguration | null;
  passwordCredentials: Password[];
  createdAt: number;
}

export interface ServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  servicePrincipalType: 'Application';
  accountEnabled: boolean;
  passwordCredentials: Password[];
  keyCredentials: KeyCredential[];
  createdAt: number;
}

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state: SubscriptionState;
}

export interface Permission {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinition {
  /** The GUID (ARM `name`). */
  id: string;
  roleName: string;
  description: string;
  roleType: 'BuiltInRole' | 'CustomRole';
  permissions: Permission[];
  assignableScopes: string[];
  createdAt: number;
}

export interface RoleAssignment {
  /** Full ARM id: scope + '/providers/Microsoft.Authorization/roleAssignments/' + name. */
  id: string;
  name: string;
  scope: string;
  /** As ARM returns it: '/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}'. */
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  createdBy: string;
  createdAt: number;
}

export interface SpotAccount {
  accountId: string;
  name: string;
  organizationId: string;
  providerExternalId: string | null;
  cloudProvider: string | null;
}

export interface SpotCredentials {
  clientId: string;
  clientSecret: string;
  tenantId: string;
  subscriptionId: string;
  expirationDate: string;
  updatedAt: number;
}

export interface IssuedToken {
  clientId: string;
  /** Object id of the service principal the token was issued to. */
  principalId: string;
  /** Origin of the resource the token is for, e.g. https://127.0.0.1:43121. */
  audience: string;
  expiresAt: number;
}

export interface Caller {
  clientId: string;
  clientSecret: string;
  objectId: string;
  displayName: string;
}

/** One device code sign-in (Microsoft identity platform device authorization grant). */
export interface DeviceCode {
  deviceCode: string;
  /** What the user types at the verification page; the CLI shows it in the device code message. */
  userCode: string;
  clientId: string;
  expiresAt: number;
  /** Set by approveDeviceCode: the user entered the code and signed in as the caller. */
  approved: boolean;
  /** A device code is redeemed for tokens once. */
  redeemed: boolean;
}

/** Who a refresh token signs in again: the caller, through the public client that signed in. */
export interface RefreshGrant {
  clientId: string;
  principalId: string;
}

export const BUILT_IN_ROLES: Record<
  RoleName,
  { id: string; roleName: string; description: string; permission: Omit<Permission, 'dataActions' | 'notDataActions'> }
> = {
  Owner: {
    id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    description: 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    permission: { actions: ['*'], notActions: [] },
  },
  // Azure docs, built-in-roles/privileged#contributor
  Contributor: {
    id: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    roleName: 'Contributor',
    description:
      'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.',
    permission: {
      actions: ['*'],
      notActions: [
        'Microsoft.Authorization/*/Delete',
        'Microsoft.Authorization/*/Write',
        'Microsoft.Authorization/elevateAccess/Action',
        'Microsoft.Blueprint/blueprintAssignments/write',
        'Microsoft.Blueprint/blueprintAssignments/delete',
        'Microsoft.Compute/galleries/share/action',
        'Microsoft.Purview/consents/write',
        'Microsoft.Purview/consents/delete',
        'Microsoft.Resources/deploymentStacks/manageDenySetting/action',
        'Microsoft.Subscription/cancel/action',
        'Microsoft.Subscription/enable/action',
      ],
    },
  },
  Reader: {
    id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    roleName: 'Reader',
    description: 'View all resources, but does not allow you to make any changes.',
    permission: { actions: ['*/read'], notActions: [] },
  },
  UserAccessAdministrator: {
    id: '18d7d88d-d35e-4fb5-a5c3-7773c20a72b9',
    roleName: 'User Access Administrator',
    description: 'Lets you manage user access to Azure resources.',
    permission: { actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'], notActions: [] },
  },
};

export function roleDefinitionPath(subscriptionId: string, roleGuid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/** The trailing GUID of a role definition id, whatever prefix it carries. */
export function roleGuidOf(roleDefinitionId: string): string {
  return roleDefinitionId.split('/').pop()?.toLowerCase() ?? '';
}

export function scopeCovers(assignmentScope: string, scope: string): boolean {
  const a = withoutTrailingSlashes(assignmentScope.toLowerCase());
  const s = withoutTrailingSlashes(scope.toLowerCase());
  return a === '' || s === a || (s.startsWith(a) && s[a.length] === '/');
}

/**
 * Items of one of the store's arrays by a key, compared lower-cased, in the array's order: a fleet of
 * thousands looks up its applications, service principals and rights on every request. Tests push to,
 * splice and replace the arrays directly, so the index follows the array: items appended since the last
 * look are added, any other change rebuilds it. A key changed in place is checked on every hit, so an
 * item is never found under a key it no longer has. (Role assignments are looked up by id with a scan:
 * tests rename them in place.)
 */
class Lookup<T> {
  readonly #key: (item: T) => string | undefined | null;
  #of?: T[];
  #length = 0;
  #first?: T;
  #last?: T;
  #byKey = new Map<string, T[]>();

  constructor(key: (item: T) => string | undefined | null) {
    this.#key = key;
  }

  find(list: T[], key: string): T[] {
    const appended = this.#of === list && list.length >= this.#length && list[0] === this.#first && list[this.#length - 1] === this.#last;
    if (!appended) [this.#byKey, this.#length] = [new Map(), 0];
    for (const item of list.slice(this.#length)) {
      const k = this.#key(item)?.toLowerCase();
      if (k === undefined) continue;
      const same = this.#byKey.get(k);
      if (same) same.push(item);
      else this.#byKey.set(k, [item]);
    }
    [this.#of, this.#length, this.#first, this.#last] = [list, list.length, list[0], list[list.length - 1]];
    const wanted = key.toLowerCase();
    return (this.#byKey.get(wanted) ?? []).filter((item) => this.#key(item)?.toLowerCase() === wanted);
  }
}

/** A fleet of thousands asks this for every assignment of every request: no regex, no copy when there is nothing to trim. */
function withoutTrailingSlashes(scope: string): string {
  let end = scope.length;
  while (end > 0 && scope[end - 1] === '/') end--;
  return end === scope.length ? scope : scope.slice(0, end);
}

/** ARM action matching: case-insensitive, `*` matches any run of characters. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
        .join('.*') +
      '$',
    'i',
  );
  return regex.test(action);
}

/** Allowed when some role grants it in `actions` and that same role does not exclude it in `notActions`. */
export function permits(permissions: Permission[], action: string): boolean {
  return permissions.some((p) => p.actions.some((a) => actionMatches(a, action)) && !p.notActions.some((n) => actionMatches(n, action)));
}

export function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function digits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}

export class Store {
  tenant: { id: string; displayName: string; domain: string };
  caller: Caller;
  applications: App[] = [];
  servicePrincipals: ServicePrincipal[] = [];
  subscriptions: Subscription[] = [];
  roleDefinitions: RoleDefinition[] = [];
  roleAssignments: RoleAssignment[] = [];
  tokens = new Map<string, IssuedToken>();
  deviceCodes: DeviceCode[] = [];
  refreshTokens = new Map<string, RefreshGrant>();
  graphAppRegistrationAllowed = true;
  /** Whether the caller holds Policy.Read.All: without it, reading the app management policy answers 403. */
  policyReadAllowed = true;
  appManagementPolicy: TenantAppManagementPolicy = { ...OPEN_POLICY };
  spot: { token: string; accounts: SpotAccount[]; credentials: Map<string, SpotCredentials> };

  constructor(init: { tenantId: string; tenantDisplayName: string; caller: Caller; spotToken: string; now: number }) {
    const slug = init.tenantDisplayName.toLowerCase().replace(/[^a-z0-9]/g, '') || 'contoso';
    this.tenant = { id: init.tenantId, displayName: init.tenantDisplayName, domain: `${slug}.onmicrosoft.com` };
    this.caller = init.caller;
    this.spot = { token: init.spotToken, accounts: [], credentials: new Map() };
    for (const role of Object.values(BUILT_IN_ROLES)) {
      this.roleDefinitions.push({
        id: role.id,
        roleName: role.roleName,
        description: role.description,
        roleType: 'BuiltInRole',
        permissions: [{ ...role.permission, dataActions: [], notDataActions: [] }],
        assignableScopes: ['/'],
        createdAt: init.now,
      });
    }
  }

  /** What the user does in the browser: enters the code the CLI showed and signs in (as the caller, who holds its seeded roles). */
  approveDeviceCode(userCode: string): DeviceCode {
    const code = this.deviceCodes.find((d) => d.userCode === userCode && !d.redeemed);
    if (!code) throw new Error(`no pending device code ${userCode}; issued: ${this.deviceCodes.map((d) => d.userCode).join(', ') || 'none'}`);
    code.approved = true;
    return code;
  }

  appsByUniqueName(uniqueName: string): App[] {
    return this.#appsByUniqueName.find(this.applications, uniqueName);
  }

  appByAppId(appId: string): App | undefined {
    return this.#appsByAppId.find(this.applications, appId)[0];
  }

  appById(id: string): App | undefined {
    return this.#appsById.find(this.applications, id)[0];
  }

  spByAppId(appId: string): ServicePrincipal | undefined {
    return this.#spsByAppId.find(this.servicePrincipals, appId)[0];
  }

  spById(id: string): ServicePrincipal | undefined {
    return this.#spsById.find(this.servicePrincipals, id)[0];
  }

  subscription(subscriptionId: string): Subscription | undefined {
    return this.#subscriptionsById.find(this.subscriptions, subscriptionId)[0];
  }

  readonly #appsByUniqueName = new Lookup<App>((a) => a.uniqueName);
  readonly #appsByAppId = new Lookup<App>((a) => a.appId);
  readonly #appsById = new Lookup<App>((a) => a.id);
  readonly #spsByAppId = new Lookup<ServicePrincipal>((s) => s.appId);
  readonly #spsById = new Lookup<ServicePrincipal>((s) => s.id);
  readonly #subscriptionsById = new Lookup<Subscription>((s) => s.subscriptionId);
  /** By principal and scope (scope without trailing slashes): a fleet's caller holds one per subscription, and every request checks its rights. */
  readonly #assignmentsCovering = new Lookup<RoleAssignment>((a) => `${a.principalId} ${withoutTrailingSlashes(a.scope.toLowerCase())}`);

  roleDefinition(guid: string): RoleDefinition | undefined {
    return this.roleDefinitions.find((r) => r.id.toLowerCase() === guid.toLowerCase());
  }

  assignmentById(id: string): RoleAssignment | undefined {
    const wanted = id.toLowerCase();
    return this.roleAssignments.find((a) => a.id.toLowerCase() === wanted);
  }

  assignmentsFor(principalId: string): RoleAssignment[] {
    const wanted = principalId.toLowerCase();
    return this.roleAssignments.filter((a) => a.principalId.toLowerCase() === wanted);
  }

  /** The permissions `principalId` holds at `scope`, one entry per covering role assignment. */
  permissionsAt(principalId: string, scope: string): Permission[] {
    return this.coveringAssignments(principalId, scope).flatMap((a) => this.roleDefinition(roleGuidOf(a.roleDefinitionId))?.permissions ?? []);
  }

  hasAccess(principalId: string, scope: string): boolean {
    return this.coveringAssignments(principalId, scope).length > 0;
  }

  /** The assignments of `principalId` whose scope covers `scope` (see scopeCovers), in the order of `roleAssignments`. */
  coveringAssignments(principalId: string, scope: string): RoleAssignment[] {
    const s = withoutTrailingSlashes(scope.toLowerCase());
    // The scopes that cover s: '' (the root), each prefix of s that ends before a '/', and s itself.
    const covering = [''];
    for (let slash = s.indexOf('/', 1); slash > 0; slash = s.indexOf('/', slash + 1)) covering.push(s.slice(0, slash));
    if (s !== '') covering.push(s);
    const found = covering.flatMap((c) => this.#assignmentsCovering.find(this.roleAssignments, `${principalId} ${c}`));
    return found.length < 2 ? found : found.sort((x, y) => this.roleAssignments.indexOf(x) - this.roleAssignments.indexOf(y));
  }

  account(accountId: string): SpotAccount | undefined {
    return this.spot.accounts.find((a) => a.accountId === accountId);
  }

  addAssignment(init: { scope: string; subscriptionId: string; role: RoleName; principalId: string; principalType?: string; now: number }): RoleAssignment {
    const name = randomUUID();
    const assignment: RoleAssignment = {
      id: `${init.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      name,
      scope: init.scope,
      roleDefinitionId: roleDefinitionPath(init.subscriptionId, BUILT_IN_ROLES[init.role].id),
      principalId: init.principalId,
      principalType: init.principalType ?? 'ServicePrincipal',
      createdBy: this.caller.objectId,
      createdAt: init.now,
    };
    this.roleAssignments.push(assignment);
    return assignment;
  }
}
