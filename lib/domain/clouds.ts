/**
 * The Azure clouds a tenant can live in, and the endpoints each one signs in at and serves ARM and
 * Microsoft Graph from (Azure/azure-cli `azure-cli-core/azure/cli/core/cloud.py`; Microsoft Graph
 * `concepts/deployments.md`). Token scopes are derived from these: `{arm}/.default`, `{graph}/.default`.
 */
export const CLOUDS = {
  AzurePublicCloud: {
    authorityHost: 'https://login.microsoftonline.com',
    arm: 'https://management.azure.com',
    graph: 'https://graph.microsoft.com',
  },
  AzureUSGovernment: {
    authorityHost: 'https://login.microsoftonline.us',
    arm: 'https://management.usgovcloudapi.net',
    graph: 'https://graph.microsoft.us',
  },
  AzureChinaCloud: {
    authorityHost: 'https://login.chinacloudapi.cn',
    arm: 'https://management.chinacloudapi.cn',
    graph: 'https://microsoftgraph.chinacloudapi.cn',
  },
} as const;

export type CloudName = keyof typeof CLOUDS;

export const CLOUD_NAMES = Object.keys(CLOUDS) as CloudName[];
