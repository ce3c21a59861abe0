import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv } from '../e2e/cli.ts';
import type { Emulator } from '../emulator/server.ts';

/** The folder holding the stand-in `az`: put it first on PATH. */
export const fakeAzDir = fileURLToPath(new URL('./', import.meta.url));

/** A fresh file for FAKE_AZ_LOG. */
export const azLogFile = (): string => join(mkdtempSync(join(tmpdir(), 'fake-az-')), 'calls.log');

/** The scopes `az account get-access-token` was started for, one per start, in order. */
export const azCalls = (log: string): string[] => {
  try {
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** The stand-in's variables: signed in to the emulator's tenant as its caller, logging every start to `log`. */
export function fakeAzEnv(e: Emulator, log: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${fakeAzDir}${delimiter}${process.env.PATH ?? ''}`,
    NODE_EXTRA_CA_CERTS: e.env.NODE_EXTRA_CA_CERTS!,
    FAKE_AZ_AUTHORITY: e.urls.identity,
    FAKE_AZ_TENANT: e.env.AZURE_TENANT_ID!,
    FAKE_AZ_CLIENT_ID: e.env.AZURE_CLIENT_ID!,
    FAKE_AZ_CLIENT_SECRET: e.env.AZURE_CLIENT_SECRET!,
    FAKE_AZ_SUBSCRIPTION: e.env.AZURE_SUBSCRIPTION_ID!,
    FAKE_AZ_LOG: log,
    ...extra,
  };
}

/** A user's environment signed in with `az login` (the stand-in) and nothing else. */
export function azLoginEnv(e: Emulator, log: string, extra: Record<string, string> = {}): Record<string, string> {
  return cliEnv(e, { ...fakeAzEnv(e, log, extra), AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential', AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined });
}
