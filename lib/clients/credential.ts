import type { DefaultAzureCredentialOptions, TokenCredential } from '@azure/identity';
import type { Config, Endpoints } from '../config/config.ts';
import { OnboardError } from '../core/errors.ts';

/** Hosts whose instance metadata MSAL can discover; any other authority (a sovereign proxy, the emulator) must skip discovery. */
const MICROSOFT_AUTHORITIES = ['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.microsoft.com'];

/** DefaultAzureCredential's chain in @azure/identity 4.13, in order, as a user would name each source. */
const PRODUCTION_SOURCES: Record<string, string> = {
  EnvironmentCredential: 'environment variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET)',
  WorkloadIdentityCredential: 'workload identity',
  ManagedIdentityCredential: 'managed identity',
};
const DEVELOPER_SOURCES: Record<string, string> = {
  VisualStudioCodeCredential: 'Visual Studio Code',
  AzureCliCredential: 'Azure CLI (az login)',
  AzurePowerShellCredential: 'Azure PowerShell',
  AzureDeveloperCliCredential: 'Azure Developer CLI',
};
const ALL_SOURCES = { ...PRODUCTION_SOURCES, ...DEVELOPER_SOURCES };

/** The values AZURE_TOKEN_CREDENTIALS may take (any case); @azure/identity refuses others. */
export const CREDENTIAL_SOURCE_CHOICES = ['prod', 'dev', ...Object.keys(ALL_SOURCES)];

export function isCredentialSourceChoice(value: string): boolean {
  return CREDENTIAL_SOURCE_CHOICES.some((choice) => choice.toLowerCase() === value.toLowerCase());
}

/** The sources DefaultAzureCredential tries, given AZURE_TOKEN_CREDENTIALS (`choice`). */
export function credentialSources(choice: string | undefined): string[] {
  const key = choice?.toLowerCase();
  if (key === 'prod') return Object.values(PRODUCTION_SOURCES);
  if (key === 'dev') return Object.values(DEVELOPER_SOURCES);
  const named = Object.entries(ALL_SOURCES).find(([name]) => name.toLowerCase() === key);
  return named ? [named[1]] : Object.values(ALL_SOURCES);
}

/**
 * The public client a device code sign-in uses unless AZURE_CLIENT_ID names another: the Azure CLI's
 * first-party public client, present in every tenant (azure-cli AZURE_CLI_CLIENT_ID in
 * src/azure-cli-core/azure/cli/core/auth/identity.py; the same id is @azure/identity's
 * DeveloperSignOnClientId, DeviceCodeCredential's own default).
 */
const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

type CredentialConfig = Pick<Config, 'endpoints' | 'tenantId' | 'clientId' | 'credentialSources' | 'deviceCode' | 'interactive'>;

/**
 * The user's Azure identity. With --device-code, a device code sign-in in a browser. Otherwise
 * DefaultAzureCredential: environment (AZURE_CLIENT_ID/…), workload identity, managed identity, then
 * the developer sign-ins (Azure CLI `az login` and others); AZURE_TOKEN_CREDENTIALS narrows the chain.
 * `say` shows the device code message (the verification URL and the code) to the person at the screen.
 */
export async function createCredential(config: CredentialConfig, say: (message: string) => void): Promise<TokenCredential> {
  const { DefaultAzureCredential, DeviceCodeCredential } = await import('@azure/identity');
  const deviceCode = () =>
    new DeviceCodeCredential({
      // Without a tenant, "organizations": any work or school account, as `az login --use-device-code` does.
      ...credentialOptions(config.endpoints, config.tenantId ?? 'organizations'),
      clientId: config.clientId ?? AZURE_CLI_CLIENT_ID,
      userPromptCallback: (info) => say(info.message),
    });
  if (config.deviceCode) return deviceCode();
  const chain = new DefaultAzureCredential(credentialOptions(config.endpoints, config.tenantId));
  return config.interactive ? withDeviceCodeFallback(chain, deviceCode, config.credentialSources, say) : chain;
}

/**
 * Guided mode: when no source of the chain can sign in at all (no az login, no environment variables,
 * no managed identity), a device code sign-in instead, so a first run on a bare machine still works.
 * Only "unavailable" falls back: a source that tried and was refused (a wrong AZURE_CLIENT_SECRET)
 * keeps its error, since a device code would hide the broken configuration. It wraps the credential,
 * rather than sitting in the guide, because whichever part of the run asks for the first token
 * (the guide, preflight, status…) must get the fallback, and every later token the same sign-in.
 */
function withDeviceCodeFallback(
  chain: TokenCredential,
  deviceCode: () => TokenCredential,
  sourcesChoice: string | undefined,
  say: (message: string) => void,
): TokenCredential {
  let fallback: TokenCredential | undefined;
  return {
    async getToken(scopes, options) {
      if (fallback) return fallback.getToken(scopes, options);
      try {
        return await chain.getToken(scopes, options);
      } catch (error) {
        if (!noSourceAvailable(error)) throw error;
        if (!fallback) {
          say(`No Azure sign-in found (${credentialSources(sourcesChoice).join(', ')}); signing in with a device code instead.`);
          fallback = deviceCode();
        }
        return fallback.getToken(scopes, options);
      }
    },
  };
}

/**
 * DefaultAzureCredential found nothing to sign in with: every source of the chain was unavailable
 * (ChainedTokenCredential collects only CredentialUnavailableError and AuthenticationRequiredError
 * into its AggregateAuthenticationError, and rethrows any other error at once).
 */
function noSourceAvailable(error: unknown): boolean {
  const unavailable = (e: unknown) => ['CredentialUnavailableError', 'AuthenticationRequiredError'].includes((e as Error | undefined)?.name ?? '');
  if ((error as Error | undefined)?.name !== 'AggregateAuthenticationError') return unavailable(error);
  const causes = (error as { errors?: unknown[] }).errors;
  return Array.isArray(causes) && causes.length > 0 && causes.every(unavailable);
}

/** How the credential is built for a cloud: its authority, and whether MSAL may discover it. */
export function credentialOptions(endpoints: Pick<Endpoints, 'authorityHost'>, tenantId: string | undefined): DefaultAzureCredentialOptions {
  const host = new URL(endpoints.authorityHost).hostname;
  return {
    authorityHost: endpoints.authorityHost,
    // Without this MSAL asks login.microsoftonline.com about a foreign authority and fails with a
    // misleading endpoints_resolution_error (@azure/identity's `disableInstanceDiscovery` option, in
    // sdk/identity/identity/src/credentials/authorityValidationOptions.ts: for authorities MSAL cannot validate).
    disableInstanceDiscovery: !MICROSOFT_AUTHORITIES.includes(host),
    ...(tenantId ? { tenantId } : {}),
  };
}

/**
 * Gets one token now, so a sign-in problem stops the run before anything changes. Returns the tenant
 * the token was issued in (its `tid` claim), when the token says.
 */
export async function checkSignIn(credential: TokenCredential, endpoints: Endpoints, sourcesChoice: string | undefined): Promise<string | undefined> {
  try {
    // With CAE, as the ARM pipeline asks: @azure/identity keeps CAE tokens apart, so this token is then reused.
    const token = await credential.getToken(`${endpoints.arm}/.default`, { enableCae: true });
    if (!token) throw new Error('no token was returned');
    return tenantOf(token.token);
  } catch (error) {
    const narrowed = sourcesChoice ? ` (as AZURE_TOKEN_CREDENTIALS=${sourcesChoice} asks)` : '';
    throw new OnboardError(
      'unauthorized',
      `Azure sign-in failed: ${reasonOf(error)} Sources tried${narrowed}: ${credentialSources(sourcesChoice).join(', ')}.`,
      'Run "az login" (add --tenant <tenant-id> for a specific directory), or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service principal.',
      { cause: error, requestIds: { api: 'identity', ids: entraRequestIds(error) } },
    );
  }
}

/**
 * What went wrong, in a sentence or two. A credential that tried and failed throws alone (MSAL's text
 * carries Entra's "AADSTSnnnn: …" sentence); when every source was unavailable, an
 * AggregateAuthenticationError lists each one's reason.
 */
function reasonOf(error: unknown): string {
  const causes = (error as { errors?: unknown[] } | undefined)?.errors;
  if (Array.isArray(causes) && causes.length > 0) return [...new Set(causes.map(firstSentence))].join(' ');
  return firstSentence(error);
}

/**
 * Entra ID's error answer names the request twice: the `x-ms-request-id` header is its "Trace ID" and
 * the `client-request-id` its "Correlation ID"; MSAL keeps only the description, where both are
 * spelt out ("Trace ID: … Correlation ID: …", Entra ID's error response format, reference-error-codes.md).
 */
function entraRequestIds(error: unknown): Record<string, string> {
  const message = error instanceof Error ? error.message : String(error);
  const trace = /Trace ID: ([0-9a-f-]{36})/i.exec(message)?.[1];
  const correlation = /Correlation ID: ([0-9a-f-]{36})/i.exec(message)?.[1];
  return { ...(trace ? { 'x-ms-request-id': trace } : {}), ...(correlation ? { 'client-request-id': correlation } : {}) };
}

function firstSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // MSAL's answer when the tenant's openid-configuration cannot be fetched: Entra says AADSTS90002 (no
  // such tenant) there, but MSAL only passes on this code; a TLS failure looks the same (msal-common
  // ClientAuthErrorCodes.endpointResolutionError).
  if (message.includes('endpoints_resolution_error')) {
    return "the tenant's sign-in endpoints could not be resolved (MSAL endpoints_resolution_error): check that AZURE_TENANT_ID names an existing tenant and that AZURE_AUTHORITY_HOST is right for your cloud.";
  }
  const aadsts = /AADSTS\d+:.*?\.(?=\s|$)/.exec(message)?.[0];
  const line = aadsts ?? /^.*?\S.*?(?:\.(?=\s|$)|$)/m.exec(message)?.[0]?.trim() ?? 'no reason given.';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** The `tid` claim of an Entra ID access token (a JWT), read without verifying: only to compare tenants. */
function tenantOf(accessToken: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof claims.tid === 'string' ? claims.tid : undefined;
  } catch {
    return undefined;
  }
}
