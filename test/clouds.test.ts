import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { armClientOptions, createArmApi } from '../lib/clients/arm.ts';
import { credentialOptions } from '../lib/clients/credential.ts';
import { createGraphApi, graphClientSettings } from '../lib/clients/graph.ts';
import { loadConfig } from '../lib/config/config.ts';
import { UsageError } from '../lib/core/errors.ts';
import { rejects } from './helpers.ts';

const cwd = mkdtempSync(join(tmpdir(), 'clouds-test-'));
const load = (argv: string[], env: Record<string, string> = {}) =>
  loadConfig({ argv, env: { SPOTINST_ACCOUNT: 'act-1234abcd', ...env }, cwd, stdinIsTTY: false });

/** From azure-cli's cloud.py and Graph's national cloud deployments (concepts/deployments.md). */
const DOCUMENTED = {
  AzurePublicCloud: { authority: 'login.microsoftonline.com', arm: 'management.azure.com', graph: 'graph.microsoft.com' },
  AzureUSGovernment: { authority: 'login.microsoftonline.us', arm: 'management.usgovcloudapi.net', graph: 'graph.microsoft.us' },
  AzureChinaCloud: { authority: 'login.chinacloudapi.cn', arm: 'management.chinacloudapi.cn', graph: 'microsoftgraph.chinacloudapi.cn' },
};

/** Records the scopes a client asks for, then refuses, so no request leaves the process. */
function recordingCredential(): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    async getToken(scope: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
      scopes.push(...[scope].flat());
      throw new Error('recording credential: no token');
    },
  };
}

for (const [cloud, hosts] of Object.entries(DOCUMENTED)) {
  test(`--cloud ${cloud} builds the clients for ${hosts.arm} and ${hosts.graph}, signing in at ${hosts.authority}`, async () => {
    const { endpoints } = load(['--cloud', cloud]);
    assert.is(endpoints.authorityHost, `https://${hosts.authority}`);
    assert.is(endpoints.arm, `https://${hosts.arm}`);
    assert.is(endpoints.graph, `https://${hosts.graph}`);
    assert.is(endpoints.spot, 'https://api.spotinst.io');

    const identity = credentialOptions(endpoints, undefined);
    assert.is(identity.authorityHost, `https://${hosts.authority}`);
    assert.is(identity.disableInstanceDiscovery, false, 'a Microsoft authority keeps instance discovery');

    const graph = graphClientSettings(endpoints.graph);
    assert.equal([...graph.customHosts], [hosts.graph]);
    assert.is(graph.baseUrl, `https://${hosts.graph}/`);
    assert.equal(graph.scopes, [`https://${hosts.graph}/.default`]);
    assert.equal(armClientOptions(endpoints.arm), { endpoint: `https://${hosts.arm}`, credentialScopes: [`https://${hosts.arm}/.default`] });

    // The real clients ask the credential for exactly these scopes.
    const forGraph = recordingCredential();
    await rejects((await createGraphApi(forGraph, endpoints.graph)).tenant());
    assert.equal(forGraph.scopes, [`https://${hosts.graph}/.default`]);
    const forArm = recordingCredential();
    await rejects((await createArmApi(forArm, endpoints.arm)).getSubscription('00000000-0000-0000-0000-000000000000'));
    assert.equal([...new Set(forArm.scopes)], [`https://${hosts.arm}/.default`]);
  });
}

test('the environment overrides still win over the cloud, and a foreign authority skips instance discovery', () => {
  const { endpoints, cloud } = load(['--cloud', 'AzureUSGovernment'], {
    AZURE_AUTHORITY_HOST: 'https://login.proxy.example',
    AZURE_ARM_ENDPOINT: 'https://arm.proxy.example',
  });
  assert.is(cloud, 'AzureUSGovernment');
  assert.is(endpoints.authorityHost, 'https://login.proxy.example');
  assert.is(endpoints.arm, 'https://arm.proxy.example');
  assert.is(endpoints.graph, 'https://graph.microsoft.us');
  assert.is(credentialOptions(endpoints, undefined).disableInstanceDiscovery, true);
});

test('without --cloud the public cloud is used; the name is matched in any case', () => {
  assert.is(load([]).endpoints.arm, 'https://management.azure.com');
  assert.is(load(['--cloud', 'azurechinacloud']).cloud, 'AzureChinaCloud');
});

test('an unknown cloud is a usage error that lists the known ones', () => {
  const error = (() => {
    try {
      load(['--cloud', 'AzureGermanCloud']);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.instance(error, UsageError);
  assert.match((error as UsageError).problems.join('\n'), '--cloud "AzureGermanCloud" is not one of: AzurePublicCloud, AzureUSGovernment, AzureChinaCloud');
});

test.run();
