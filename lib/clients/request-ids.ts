import type { Api } from '../core/errors.ts';

/**
 * The ids each service puts on its answers, the ones its support asks for: Graph `request-id` and
 * `client-request-id` (microsoft-graph-docs-contrib concepts/errors.md, the innerError repeats them),
 * ARM `x-ms-request-id` and `x-ms-correlation-request-id` (Azure/azure-resource-manager-rpc
 * v1.0/common-api-details.md), Entra ID's token endpoint `x-ms-request-id` (its trace id) and
 * `client-request-id`. Spot's is in the body, not a header (`spotRequestId`).
 */
const ID_HEADERS: Record<Exclude<Api, 'spot'>, string[]> = {
  graph: ['request-id', 'client-request-id'],
  arm: ['x-ms-request-id', 'x-ms-correlation-request-id'],
  identity: ['x-ms-request-id', 'client-request-id'],
};

export function requestIdsFromHeaders(api: Exclude<Api, 'spot'>, header: (name: string) => string | null | undefined): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const name of ID_HEADERS[api]) {
    const value = header(name);
    if (value) ids[name] = value;
  }
  return ids;
}

/** Spot's envelope names the request it answers: `{ request: { id, … }, response: … }` (spotinst/openapi). */
export function spotRequestId(body: unknown): string | undefined {
  const id = (body as { request?: { id?: unknown } } | null)?.request?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
