// The Graph SDK modules graph.ts loads on first use, as one import; statically re-exported because both
// are CommonJS (see arm-sdk.ts).
export { Client } from '@microsoft/microsoft-graph-client';
export { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
