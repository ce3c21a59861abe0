import { ApiError } from '../core/errors.ts';

/*
 * The replication-lag failures of Entra ID, ARM and Spot, each with its source. Each returns the reason
 * to show while retrying, or undefined when the error is not lag and must not be retried.
 */

/** Graph 404 Request_ResourceNotFound on an object created moments ago. */
export function newObjectNotFound(error: unknown): string | undefined {
  return error instanceof ApiError && error.api === 'graph' && error.status === 404 && error.code === 'Request_ResourceNotFound'
    ? 'waiting for Entra ID to replicate the new application'
    : undefined;
}

/**
 * Creating a service principal right after its application: 400 with detail NoBackingApplicationObject,
 * or 403 "…must in the local tenant" (hashicorp/terraform-provider-azuread retries both).
 */
export function applicationNotReplicated(error: unknown): string | undefined {
  if (!(error instanceof ApiError && error.api === 'graph')) return undefined;
  const noBackingApp =
    error.status === 400 && (error.detailCodes.includes('NoBackingApplicationObject') || /does not reference a valid application object/i.test(error.message));
  const localTenant = error.status === 403 && /local tenant/i.test(error.message);
  return noBackingApp || localTenant ? 'waiting for Entra ID to replicate the application before creating its service principal' : undefined;
}

/** ARM 400 PrincipalNotFound: the role service has not seen the new service principal yet (Azure RBAC troubleshooting). */
export function principalNotFound(error: unknown): string | undefined {
  return error instanceof ApiError && error.api === 'arm' && error.status === 400 && error.code === 'PrincipalNotFound'
    ? 'waiting for Entra ID to replicate the service principal to Azure RBAC'
    : undefined;
}

/**
 * Spot validates the credentials by signing in with them; a secret Entra ID has not propagated yet is
 * refused with Entra's AADSTS7000215 "Invalid client secret" text (undocumented by Spot; a new secret takes seconds to be
 * accepted: microsoftgraph/microsoft-graph-docs issue #17966).
 */
export function secretNotPropagated(error: unknown): string | undefined {
  return error instanceof ApiError && error.api === 'spot' && error.status === 400 && /AADSTS7000215|invalid client secret/i.test(error.message)
    ? 'waiting for Entra ID to accept the new client secret'
    : undefined;
}

/**
 * Spot checks new credentials against the subscription when it receives them, and a role assignment
 * takes minutes to take effect (azure-docs role-based-access-control/troubleshooting.md: "up to 10
 * minutes"); meanwhile Spot's answer carries Azure's AuthorizationFailed text for the new service
 * principal ("… does not have authorization to perform action … If access was recently granted,
 * please refresh your credentials."). Spot does not document that envelope, so this keys on Azure's
 * error code and wording inside Spot's message.
 */
export function roleNotYetEffective(error: unknown): string | undefined {
  return error instanceof ApiError &&
    error.api === 'spot' &&
    error.status === 400 &&
    /AuthorizationFailed|does not have authorization to perform action/i.test(error.message) &&
    /recently granted|refresh your credentials/i.test(error.message)
    ? 'waiting for Azure RBAC to apply the new role assignment'
    : undefined;
}

/** The first reason any of `rules` gives. */
export function anyOf(...rules: ((error: unknown) => string | undefined)[]): (error: unknown) => string | undefined {
  return (error) => rules.map((rule) => rule(error)).find((reason) => reason !== undefined);
}
