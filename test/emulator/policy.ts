/*
 * The tenant's default app management policy (microsoft-graph-docs-contrib
 * api-reference/v1.0/resources/tenantappmanagementpolicy.md, appmanagementconfiguration.md,
 * passwordcredentialconfiguration.md), in Graph's own shape.
 */

export type CredentialRestrictionType =
  | 'passwordAddition'
  | 'passwordLifetime'
  | 'symmetricKeyAddition'
  | 'symmetricKeyLifetime'
  | 'customPasswordAddition'
  | 'unknownFutureValue';

export interface PasswordCredentialConfiguration {
  restrictionType: CredentialRestrictionType;
  /** Default 'enabled'. */
  state?: 'enabled' | 'disabled';
  /** ISO 8601 duration, e.g. 'P180D'; required with passwordLifetime. */
  maxLifetime?: string | null;
  /** The restriction applies to apps created on or after this date; null or absent: to every app. */
  restrictForAppsCreatedAfterDateTime?: string | null;
}

export interface AppManagementConfiguration {
  passwordCredentials?: PasswordCredentialConfiguration[];
  keyCredentials?: unknown[];
}

export interface TenantAppManagementPolicy {
  isEnabled: boolean;
  applicationRestrictions?: AppManagementConfiguration;
  servicePrincipalRestrictions?: AppManagementConfiguration;
}

/** The default policy of a new tenant: off, with no restrictions (tenantappmanagementpolicy-get.md's example). */
export const OPEN_POLICY: TenantAppManagementPolicy = { isEnabled: false };

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
// A year and a month have no fixed length in ISO 8601; 365 and 30 days are what a lifetime limit means in practice.
const UNIT_MS = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000];

export function durationMs(duration: string): number | undefined {
  const match = DURATION.exec(duration);
  if (!match || duration === 'P' || duration.endsWith('T')) return undefined;
  return UNIT_MS.reduce((total, unit, i) => total + Number(match[i + 1] ?? 0) * unit, 0);
}

function configurationJson(config: AppManagementConfiguration | undefined): Record<string, unknown> {
  return {
    passwordCredentials: (config?.passwordCredentials ?? []).map((p) => ({
      restrictionType: p.restrictionType,
      state: p.state ?? 'enabled',
      maxLifetime: p.maxLifetime ?? null,
      restrictForAppsCreatedAfterDateTime: p.restrictForAppsCreatedAfterDateTime ?? null,
    })),
    keyCredentials: config?.keyCredentials ?? [],
  };
}

export function policyJson(policy: TenantAppManagementPolicy, graphUrl: string, tenantId: string): Record<string, unknown> {
  return {
    '@odata.context': `${graphUrl}/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity`,
    '@odata.id': `${graphUrl}/v2/${tenantId}/defaultAppManagementPolicy/00000000-0000-0000-0000-000000000000`,
    id: '00000000-0000-0000-0000-000000000000',
    displayName: 'Default app management tenant policy',
    description:
      'Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection.',
    isEnabled: policy.isEnabled,
    applicationRestrictions: configurationJson(policy.applicationRestrictions),
    servicePrincipalRestrictions: configurationJson(policy.servicePrincipalRestrictions),
  };
}

/** The restriction of `type` that binds an object created at `createdAt`, if the policy is on and it is enabled. */
function binding(
  policy: TenantAppManagementPolicy,
  config: AppManagementConfiguration | undefined,
  type: CredentialRestrictionType,
  createdAt: number,
): PasswordCredentialConfiguration | undefined {
  if (!policy.isEnabled) return undefined;
  return config?.passwordCredentials?.find((p) => {
    if (p.restrictionType !== type || (p.state ?? 'enabled') !== 'enabled') return false;
    const after = p.restrictForAppsCreatedAfterDateTime;
    return after == null || createdAt >= Date.parse(after);
  });
}

/**
 * Why the policy refuses a password valid from `start` to `end` on an object (an app, or with
 * servicePrincipalRestrictions a service principal) created at `createdAt`; undefined: allowed.
 * customPasswordAddition only concerns passwords whose value the caller chooses, which addPassword never does.
 */
export function passwordRefusal(
  policy: TenantAppManagementPolicy,
  config: AppManagementConfiguration | undefined,
  createdAt: number,
  start: number,
  end: number,
): { code: string; message: string } | undefined {
  if (binding(policy, config, 'passwordAddition', createdAt)) {
    return { code: 'CredentialTypeNotAllowedAsPerAppPolicy', message: 'Credential type not allowed as per assigned policy.' };
  }
  const lifetime = binding(policy, config, 'passwordLifetime', createdAt);
  const maxMs = lifetime?.maxLifetime ? durationMs(lifetime.maxLifetime) : undefined;
  if (maxMs !== undefined && end - start > maxMs) {
    return { code: 'CredentialInvalidLifetimeAsPerAppPolicy', message: 'Credential lifetime exceeds the max value allowed as per assigned policy.' };
  }
  return undefined;
}
