import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * A token is served until this long before it expires: the window in which the ARM pipeline itself
 * starts refreshing (@azure/core-rest-pipeline src/util/tokenCycler.ts, refreshWindowInMs: 2 minutes).
 */
const REFRESH_BEFORE_EXPIRY_MS = 2 * 60_000;

/**
 * One token per scope for the whole run, whatever the credential, shared by the sign-in check, the
 * Graph client and both ARM clients. Needed because AzureCliCredential keeps no cache and starts
 * `az account get-access-token` for every getToken (@azure/identity 4.13
 * src/credentials/azureCliCredential.ts), and the Graph client asks for a token on every request
 * (msgraph-sdk-javascript src/authentication/azureTokenCredentials/TokenCredentialAuthenticationProvider.ts).
 * Callers that ask at the same time share one request; a failed request is not kept. A claims
 * challenge (continuous access evaluation) asks for a new token on purpose, so it always gets one.
 */
export function withTokenCache(credential: TokenCredential, now: () => number = Date.now): TokenCredential {
  const tokens = new Map<string, Promise<AccessToken | null>>();
  const usable = (token: AccessToken | null): token is AccessToken =>
    token !== null && now() < Math.min(token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY, token.expiresOnTimestamp - REFRESH_BEFORE_EXPIRY_MS);

  const request = (key: string, scopes: string | string[], options: GetTokenOptions | undefined) => {
    const pending = credential.getToken(scopes, options);
    tokens.set(key, pending);
    const forget = () => {
      if (tokens.get(key) === pending) tokens.delete(key);
    };
    pending.then((token) => token ?? forget(), forget);
    return pending;
  };

  const getToken = async (scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> => {
    const key = JSON.stringify([[scopes].flat().sort(), options?.tenantId ?? '', options?.enableCae === true]);
    const cached = tokens.get(key);
    if (cached === undefined || options?.claims) return request(key, scopes, options);
    const token = await cached;
    if (usable(token)) return token;
    // Another caller may have started the refresh while this one waited.
    return tokens.get(key) === cached ? request(key, scopes, options) : getToken(scopes, options);
  };
  return { getToken };
}
