import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, statePathFor } from '../lib/config/config.ts';
import { type OptionTable, optionsFor } from '../lib/config/options.ts';
import { UsageError } from '../lib/core/errors.ts';

const cwd = mkdtempSync(join(tmpdir(), 'config-test-'));
const load = (argv: string[], env: Record<string, string> = {}, stdinIsTTY = false) => loadConfig({ argv, env, cwd, stdinIsTTY });
const problemsOf = (argv: string[], env: Record<string, string> = {}, accepted?: OptionTable) => {
  try {
    loadConfig({ argv, env, cwd, stdinIsTTY: false }, accepted);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  return [];
};

test('flags win over environment, environment over defaults', () => {
  const config = load(['--account-id', 'act-1234abcd'], { SPOTINST_ACCOUNT: 'act-ffffffff', AZURE_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555' });
  assert.is(config.accountId, 'act-1234abcd');
  assert.is(config.subscriptionId, '11111111-2222-3333-4444-555555555555');
  assert.is(config.secretExpiryMonths, 12);
  assert.is(config.endpoints.spot, 'https://api.spotinst.io');
});

test('reports every problem at once', () => {
  const problems = problemsOf(['--acount-id', 'act-1', '--secret-expiry', '0', '--subscription', 'nope'], { AZURE_TENANT_ID: 'contoso' });
  assert.is(problems.length, 5, problems.join('\n'));
  assert.match(problems.join('\n'), 'No Spot account given');
  assert.match(problems.join('\n'), 'did you mean --account-id?');
  assert.match(problems.join('\n'), 'Subscription id "nope" is not a GUID');
  assert.match(problems.join('\n'), '--secret-expiry must be a whole number from 1 to 24');
  assert.match(problems.join('\n'), 'AZURE_TENANT_ID "contoso" is not a GUID');
});

test('rejects a malformed account id and an over-long app name', () => {
  const problems = problemsOf(['--account-id', 'act-XYZ12345', '--app-name', 'x'.repeat(121)]);
  assert.match(problems.join('\n'), 'Spot account id "act-XYZ12345" is malformed');
  assert.match(problems.join('\n'), '--app-name must be 1 to 120 characters');
});

test('without a terminal on stdin it never prompts, so the account must be given', () => {
  const account = { SPOTINST_ACCOUNT: 'act-1234abcd' };
  assert.is(load([], account, false).interactive, false);
  assert.is(load([], {}, true).interactive, true);
  assert.is(load(['--yes'], account, true).interactive, false);
  assert.match(problemsOf([]).join('\n'), 'No Spot account given');
});

test('an endpoint must be https', () => {
  assert.match(problemsOf([], { SPOTINST_BASE_URL: 'http://127.0.0.1:1' }).join('\n'), 'SPOTINST_BASE_URL must be an https:// address');
});

test('.env fills in what the real environment lacks, and a world-readable token file is flagged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-env-'));
  writeFileSync(join(dir, '.env'), 'SPOTINST_TOKEN=from-file-123456\nSPOTINST_ACCOUNT=act-0000abcd\n');
  chmodSync(join(dir, '.env'), 0o644);
  const config = loadConfig({ argv: [], env: { SPOTINST_ACCOUNT: 'act-1111abcd' }, cwd: dir, stdinIsTTY: false });
  assert.is(config.spotToken, 'from-file-123456');
  assert.is(config.accountId, 'act-1111abcd');
  assert.match(config.warnings.join('\n'), 'chmod 600');
});

test('the state file defaults to one per Spot account in the state directory, .spot-azure-onboard unless --state-dir names another', () => {
  const load = (argv: string[]) => loadConfig({ argv, env: {}, cwd: '/work', stdinIsTTY: false }, optionsFor(['account-id', 'state', 'state-dir']));
  assert.is(statePathFor(load(['--account-id', 'act-1234abcd']), 'act-1234abcd'), '/work/.spot-azure-onboard/act-1234abcd.json');
  assert.is(statePathFor(load(['--account-id', 'act-1234abcd', '--state-dir', 'links']), 'act-1234abcd'), '/work/links/act-1234abcd.json');
  assert.is(statePathFor(load(['--account-id', 'act-1234abcd', '--state', '/tmp/s.json', '--state-dir', 'links']), 'act-1234abcd'), '/tmp/s.json');
});

test('--all with --account-id or --state is a usage error naming both', () => {
  const accepted = optionsFor(['account-id', 'state', 'state-dir', 'all']);
  assert.match(
    problemsOf(['--all', '--state', 'x.json', '--account-id', 'act-1234abcd'], {}, accepted).join('\n'),
    '--all covers every link in the state directory, but --account-id and --state name one',
  );
  const config = loadConfig({ argv: ['--all'], env: { SPOTINST_ACCOUNT: 'act-1234abcd' }, cwd: '/work', stdinIsTTY: false }, accepted);
  assert.is(config.accountId, undefined, 'SPOTINST_ACCOUNT names none of the links --all covers');
});

test.run();
