import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fleetProgress } from '../lib/cli/fleet-progress.ts';

/** A clock and a timer the test moves by hand: no wall-clock waits. */
function manualTime() {
  let now = Date.parse('2026-01-01T10:00:00Z');
  let tick: (() => void) | undefined;
  let stopped = false;
  return {
    now: () => now,
    every: (fn: () => void) => {
      tick = fn;
      return () => {
        stopped = true;
      };
    },
    /** Moves the clock, then fires the timer once, as its interval running out would. */
    advance(ms: number) {
      now += ms;
      tick?.();
    },
    get stopped() {
      return stopped;
    },
  };
}

test('in a pipeline: one timestamped line per finished link, and the summary on every tick and at the end', () => {
  const time = manualTime();
  const out: string[] = [];
  const progress = fleetProgress({ total: 4, live: false, write: (t) => out.push(t), now: time.now, every: time.every });
  progress.started('act-00000001');
  progress.started('act-00000002');
  time.advance(10_000);
  progress.finished('act-00000001', true, 'act-00000001 healthy');
  progress.reporter('act-00000002').retrying('link', 2, 36, 'Entra ID has not accepted the new secret yet');
  progress.reporter('act-00000002').stepStart('link', 'Give Spot the credentials');
  time.advance(5_000);
  progress.close();
  assert.equal(out, [
    '[10:00:10] ⋯ 0 done, 0 failed, 2 in flight of 4 · 10s elapsed\n',
    '[10:00:10] ✔ act-00000001 healthy\n',
    '[10:00:10] ↻ act-00000002 retrying link (2/36): Entra ID has not accepted the new secret yet\n',
    '[10:00:15] ⋯ 1 done, 0 failed, 1 in flight of 4 · 15s elapsed · about 45s left\n',
    '[10:00:15] ⋯ 1 done, 0 failed, 1 in flight of 4 · 15s elapsed · about 45s left\n',
  ]);
  assert.ok(time.stopped, 'the timer still runs after close');
});

test('a fleet of subscriptions asks for its finished steps too, each tagged with the subscription', () => {
  const time = manualTime();
  const out: string[] = [];
  const progress = fleetProgress({ total: 1, live: false, write: (t) => out.push(t), now: time.now, every: time.every });
  const report = progress.reporter('sub-1', { steps: true });
  report.stepStart('app', 'Register the Entra ID application');
  report.stepDone('app', 'created application Spot act-00000001');
  report.stepFailed('role', 'You may not assign roles');
  assert.equal(out, ['[10:00:00] ✔ [sub-1] app: created application Spot act-00000001\n', '[10:00:00] ✖ [sub-1] role: You may not assign roles\n']);
  progress.close();
});

test('at a terminal: finished links scroll above one summary line redrawn in place', () => {
  const time = manualTime();
  let screen = '';
  const progress = fleetProgress({ total: 2, live: true, write: (t) => (screen += t), now: time.now, every: time.every });
  progress.started('act-00000001');
  time.advance(2_000);
  progress.finished('act-00000001', false, 'act-00000001 failed: Spot answered 500');
  time.advance(61_000);
  progress.close();
  const redraws = screen.split('\r\x1b[2K').filter(Boolean);
  assert.equal(redraws.slice(-4), [
    '✖ act-00000001 failed: Spot answered 500\n',
    '0 done, 1 failed, 0 in flight of 2 · 2s elapsed · about 2s left',
    '0 done, 1 failed, 0 in flight of 2 · 1m 03s elapsed · about 1m 03s left',
    '0 done, 1 failed, 0 in flight of 2 · 1m 03s elapsed · about 1m 03s left\n',
  ]);
});

test.run();
