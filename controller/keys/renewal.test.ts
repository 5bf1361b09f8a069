// When the next key is due: exact ages and delays, including the ones setTimeout cannot hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_MS, MIN_TIMER_MS, renewalDelay, renewalDue } from './renewal.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

describe('renewal schedule', () => {
  it('a key is due once it is exactly one period old', () => {
    assert.deepEqual([HOUR - 1, HOUR, HOUR + 1].map((ms) => renewalDue(T0, HOUR, at(ms))), [false, true, true]);
  });

  const cases: [string, number, number, number][] = [
    ['half the period left', HOUR, HOUR / 2, HOUR / 2],
    ['due now', HOUR, HOUR, MIN_TIMER_MS],
    ['overdue (a restart after the period)', HOUR, 5 * HOUR, MIN_TIMER_MS],
    ['less than a second left', HOUR, HOUR - 10, MIN_TIMER_MS],
    ['720 h left: capped at what setTimeout holds', 720 * HOUR, 0, MAX_TIMER_MS],
    ['the rest after the capped wait', 720 * HOUR, MAX_TIMER_MS, 720 * HOUR - MAX_TIMER_MS],
    ['a clock behind the certificate', HOUR, -HOUR, 2 * HOUR],
  ];
  for (const [name, period, age, delay] of cases) {
    it(`${name}: waits ${delay} ms`, () => {
      assert.equal(renewalDelay(T0, period, at(age)), delay);
    });
  }
});
