import type { TokenCredential } from '@azure/identity';
import { OnboardError } from '../errors.ts';
import type { Endpoints } from '../config.ts';

/** Hosts whose instance metadata MSAL can discover; any other authority (a sovereign proxy, the emulator) must skip discovery. */
const MICROSOFT_AUTHORITIES = ['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.microsoft.com'];

/**
 * The user's Azure identity through DefaultAzureCredential: environment (AZURE_CLIENT_ID/…), workload
 * identity, managed identity, Azure CLI (`az login`), Azure PowerShell, Azure Developer CLI.
 */
export async function createCredential(endpoints: Endpoints, tenantId: string | undefined): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  const host = new URL(endpoints.authorityHost).hostname;
  return new DefaultAzureCredential({
    authorityHost: endpoints.authorityHost,
    // Without this MSAL asks login.microsoftonline.com about a foreign authority and fails with a
    // misleading endpoints_resolution_error (design.md §6).
    disableInstanceDiscovery: !MICROSOFT_AUTHORITIES.includes(host),
    ...(tenantId ? { tenantId } : {}),
  });
}

/** Gets one token now, so a sign-in problem stops the run before anything changes. */
export async function checkSignIn(credential: TokenCredential, endpoints: Endpoints): Promise<void> {
  try {
    const token = await credential.getToken(`${endpoints.arm}/.default`);
    if (!token) throw new Error('no token was returned');
  } catch (error) {
    throw new OnboardError(
      'unauthorized',
      `Azure sign-in failed. Credential sources tried: environment variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET), workload identity, managed identity, Azure CLI, Azure PowerShell and Azure Developer CLI. ${firstLine(error)}`,
      'Run "az login" (add --tenant <tenant-id> for a specific directory), or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service principal.',
      { cause: error },
    );
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
