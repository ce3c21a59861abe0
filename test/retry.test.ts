import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reporter } from '../lib/core/reporter.ts';
import { delays, retryOnLag } from '../lib/core/retry.ts';
import { rejects } from './helpers.ts';

function recorder() {
  const lines: string[] = [];
  const report: Reporter = {
    stepStart: () => {},
    stepDone: () => {},
    stepFailed: () => {},
    info: () => {},
    warn: () => {},
    retrying: (id, n, max, reason) => lines.push(`retrying ${id} (${n}/${max}): ${reason}`),
  };
  const slept: number[] = [];
  return { lines, report, slept, sleep: async (ms: number) => void slept.push(ms) };
}

const schedule = { maxWaitMs: 5_000, initialDelayMs: 250, maxDelayMs: 1_000 };

test('the schedule doubles up to its cap and stops at the bound', () => {
  assert.equal(delays(schedule), [250, 500, 1000, 1000, 1000, 1000, 250]);
  assert.equal(delays({ ...schedule, maxWaitMs: 0 }), []);
});

test('retries a lag error, showing each attempt, until it passes', async () => {
  const r = recorder();
  let calls = 0;
  const value = await retryOnLag(
    'role',
    schedule,
    () => 'waiting',
    async () => {
      if (++calls < 3) throw new Error('lag');
      return 'done';
    },
    r,
  );
  assert.is(value, 'done');
  assert.equal(r.lines, ['retrying role (1/7): waiting', 'retrying role (2/7): waiting']);
  assert.equal(r.slept, [250, 500]);
});

test('does not retry an error that is not lag', async () => {
  const r = recorder();
  let calls = 0;
  await rejects(
    retryOnLag(
      'role',
      schedule,
      () => undefined,
      async () => {
        calls++;
        throw new Error('forbidden');
      },
      r,
    ),
    (e) => (e as Error).message === 'forbidden',
  );
  assert.is(calls, 1);
});

test('gives up with the last error once the bound is spent', async () => {
  const r = recorder();
  let calls = 0;
  await rejects(
    retryOnLag(
      'link',
      schedule,
      () => 'waiting',
      async () => {
        calls++;
        throw new Error('still lagging');
      },
      r,
    ),
    (e) => (e as Error).message === 'still lagging',
  );
  assert.is(calls, 8);
  assert.is(
    r.slept.reduce((a, b) => a + b, 0),
    5_000,
  );
});

test.run();
