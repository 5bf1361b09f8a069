import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoff } from './backoff.js';

describe('backoff', () => {
  const cases: Array<[string, [number, number, number, number?], number]> = [
    ['the first retry waits the base', [1, 200, 10_000], 200],
    ['each retry doubles', [4, 200, 10_000], 1_600],
    ['capped at the maximum', [20, 200, 10_000], 10_000],
    ['another factor', [3, 5_000, 180_000, 3], 45_000],
    ['attempt 0 counts as the first', [0, 200, 10_000], 200],
  ];
  for (const [name, args, want] of cases) it(name, () => assert.equal(backoff(...args), want));
});
