import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OnboardError } from '../lib/core/errors.ts';
import { appendJsonLine, assertSameTenant, emptyState, readJsonLines, StateStore } from '../lib/core/state.ts';
import { rejects } from './helpers.ts';

const fresh = () => new StateStore(join(mkdtempSync(join(tmpdir(), 'state-test-')), 'nested', 'act-1234abcd.json'));
const isStateError = (fragment: string) => (e: unknown) => e instanceof OnboardError && e.kind === 'state' && `${e.message} ${e.hint}`.includes(fragment);

test('a missing file is an empty state', async () => {
  assert.equal(await fresh().load('act-1234abcd'), emptyState('act-1234abcd'));
});

test('writes versioned JSON with mode 0600 and leaves no temp file', async () => {
  const store = fresh();
  const state = emptyState('act-1234abcd');
  state.steps.app = { outputs: { appId: 'a', applicationObjectId: 'o', appName: 'n' }, at: 'now' };
  await store.save(state);
  await store.save(state);
  assert.is(statSync(store.path).mode & 0o777, 0o600);
  assert.is(statSync(store.backupPath).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(store.path, 'utf8')), state);
  assert.equal(readdirSync(join(store.path, '..')).sort(), ['act-1234abcd.json', 'act-1234abcd.json.bak']);
  assert.equal(await store.load('act-1234abcd'), state);
});

test('a temp file a crash left behind, world-readable, is replaced: the state is written 0600 and no temp file stays', async () => {
  const store = fresh();
  await store.save(emptyState('act-1234abcd'));
  const temp = join(store.path, '..', '.act-1234abcd.json.tmp');
  writeFileSync(temp, 'half a state', { mode: 0o644 });
  const state = emptyState('act-1234abcd');
  state.tenantId = 't';
  await store.save(state);
  assert.equal(await store.load('act-1234abcd'), state);
  assert.is(statSync(store.path).mode & 0o777, 0o600);
  assert.not.ok(existsSync(temp));
});

test('fleet.jsonl-style journals: appended lines 0600, read back in order, a line a crash cut short left out', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'state-test-')), 'nested', 'journal.jsonl');
  const isEntry = (value: unknown): value is { n: number } => typeof (value as { n?: unknown } | null)?.n === 'number';
  const hints = { unreadable: 'u', invalid: 'i' };
  assert.is(await readJsonLines(path, isEntry, hints), undefined);
  await appendJsonLine(path, { n: 1 });
  await appendJsonLine(path, { n: 2 });
  assert.is(statSync(path).mode & 0o777, 0o600);
  writeFileSync(path, '{"n":', { flag: 'a' });
  assert.equal(await readJsonLines(path, isEntry, hints), [{ n: 1 }, { n: 2 }]);
  // The next append after such a crash: the torn line goes, the new one is whole.
  await appendJsonLine(path, { n: 3 });
  assert.equal(await readJsonLines(path, isEntry, hints), [{ n: 1 }, { n: 2 }, { n: 3 }]);
  writeFileSync(path, 'not json\n{"n":3}\n');
  await rejects(readJsonLines(path, isEntry, hints), isStateError('Line 1'));
});

test('a state file of an older version that held a client secret: it is never read back, and no file keeps it', async () => {
  const store = fresh();
  await store.save(emptyState('act-1234abcd'));
  writeFileSync(store.path, JSON.stringify({ ...emptyState('act-1234abcd'), secret: { keyId: 'k', value: 'very-secret-value' } }));
  const state = await store.load('act-1234abcd');
  assert.not.ok('secret' in state);
  await store.save(state);
  assert.not.ok(readFileSync(store.path, 'utf8').includes('very-secret-value'));
  assert.not.ok(readFileSync(store.backupPath, 'utf8').includes('very-secret-value'));
});

test('refuses a corrupt, newer or foreign state file and leaves it untouched', async () => {
  const store = fresh();
  await store.save(emptyState('act-1234abcd'));
  writeFileSync(store.path, '{ not json');
  await rejects(store.load('act-1234abcd'), isStateError('not valid JSON'));
  assert.is(readFileSync(store.path, 'utf8'), '{ not json');

  writeFileSync(store.path, JSON.stringify({ ...emptyState('act-1234abcd'), version: 99 }));
  await rejects(store.load('act-1234abcd'), isStateError('newer than this tool'));

  writeFileSync(store.path, JSON.stringify(emptyState('act-9999ffff')));
  await rejects(store.load('act-1234abcd'), isStateError('belongs to Spot account act-9999ffff'));

  writeFileSync(store.path, JSON.stringify({ ...emptyState('act-1234abcd'), tenantId: 't1' }));
  const foreign = await store.load('act-1234abcd');
  assert.throws(
    () => assertSameTenant(foreign, store.path, 't2'),
    (e: unknown) => isStateError('made in Azure tenant t1')(e),
  );
  assertSameTenant(foreign, store.path, 't1');
});

test('a second holder is refused while the first runs; a dead holder’s lock is taken over', async () => {
  const first = fresh();
  await first.lock();
  const second = new StateStore(first.path);
  await rejects(second.lock(), isStateError(`pid ${process.pid}`));
  await first.unlock();
  assert.not.ok(existsSync(first.lockPath));
  assert.equal(
    readdirSync(join(first.path, '..')).filter((f) => f.endsWith('.tmp')),
    [],
    'a temp lock file was left behind',
  );

  writeFileSync(first.lockPath, JSON.stringify({ pid: 2 ** 22 + 12345 }));
  await second.lock();
  assert.is(JSON.parse(readFileSync(first.lockPath, 'utf8')).pid, process.pid);
  await second.unlock();
});

test.run();
