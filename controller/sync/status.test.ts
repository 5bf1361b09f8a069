// The three conditions as exact objects for each kind of outcome, when lastTransitionTime moves, the
// history's order and cap, and when a status patch is skipped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ApplicationStatus, Condition, HistoryEntry } from './application.js';
import { HISTORY_LIMIT, nextConditions, sameAppStatus, withHistory, type ReconcileOutcome } from './status.js';

const EARLIER = '2030-01-01T00:00:00Z';
const NOW = new Date('2030-01-02T03:04:05.678Z');
/** NOW as conditions write it: RFC 3339 without milliseconds. */
const NOW_TEXT = '2030-01-02T03:04:05Z';

const SYNCED: ReconcileOutcome = { ready: true, reason: 'Synced', message: 'applied revision abcdef0: 2 objects', reconciling: false, stalled: false };
const WAITING: ReconcileOutcome = { ready: false, reason: 'WaveProgressing', message: 'wave 0 is not healthy yet', reconciling: true, stalled: false };
const STALLED: ReconcileOutcome = { ready: false, reason: 'InvalidSpec', message: 'spec.source is missing', reconciling: false, stalled: true };
const SUSPENDED: ReconcileOutcome = { ready: false, reason: 'Suspended', message: 'spec.suspend is true', reconciling: false, stalled: false };

const cond = (type: string, status: Condition['status'], reason: string, message: string, lastTransitionTime = NOW_TEXT, observedGeneration = 7): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime,
  observedGeneration,
});

describe('nextConditions without previous conditions', () => {
  const cases: { name: string; outcome: ReconcileOutcome; want: Condition[] }[] = [
    {
      name: 'synced',
      outcome: SYNCED,
      want: [
        cond('Ready', 'True', 'Synced', 'applied revision abcdef0: 2 objects'),
        cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished'),
        cond('Stalled', 'False', 'Succeeded', 'not stalled'),
      ],
    },
    {
      name: 'waiting for a wave',
      outcome: WAITING,
      want: [
        cond('Ready', 'False', 'WaveProgressing', 'wave 0 is not healthy yet'),
        cond('Reconciling', 'True', 'WaveProgressing', 'wave 0 is not healthy yet'),
        cond('Stalled', 'False', 'Succeeded', 'not stalled'),
      ],
    },
    {
      name: 'stalled',
      outcome: STALLED,
      want: [
        cond('Ready', 'False', 'InvalidSpec', 'spec.source is missing'),
        cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished'),
        cond('Stalled', 'True', 'InvalidSpec', 'spec.source is missing'),
      ],
    },
    {
      name: 'suspended',
      outcome: SUSPENDED,
      want: [
        cond('Ready', 'False', 'Suspended', 'spec.suspend is true'),
        cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished'),
        cond('Stalled', 'False', 'Succeeded', 'not stalled'),
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(nextConditions(undefined, c.outcome, 7, NOW), c.want);
      assert.deepEqual(nextConditions([], c.outcome, 7, NOW), c.want);
    });
  }
});

describe('nextConditions with previous conditions', () => {
  const previousSynced = [
    cond('Ready', 'True', 'Synced', 'old message', EARLIER, 6),
    cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished', EARLIER, 6),
    cond('Stalled', 'False', 'Succeeded', 'not stalled', EARLIER, 6),
  ];

  it('keeps lastTransitionTime when no status flips, while reason, message and observedGeneration follow', () => {
    assert.deepEqual(nextConditions(previousSynced, { ...SYNCED, reason: 'DriftDetected', message: 'the cluster differs' }, 7, NOW), [
      cond('Ready', 'True', 'DriftDetected', 'the cluster differs', EARLIER),
      cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished', EARLIER),
      cond('Stalled', 'False', 'Succeeded', 'not stalled', EARLIER),
    ]);
  });

  it('moves lastTransitionTime of exactly the conditions that flip', () => {
    assert.deepEqual(nextConditions(previousSynced, STALLED, 7, NOW), [
      cond('Ready', 'False', 'InvalidSpec', 'spec.source is missing', NOW_TEXT),
      cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished', EARLIER),
      cond('Stalled', 'True', 'InvalidSpec', 'spec.source is missing', NOW_TEXT),
    ]);
    assert.deepEqual(nextConditions(previousSynced, WAITING, 7, NOW), [
      cond('Ready', 'False', 'WaveProgressing', 'wave 0 is not healthy yet', NOW_TEXT),
      cond('Reconciling', 'True', 'WaveProgressing', 'wave 0 is not healthy yet', NOW_TEXT),
      cond('Stalled', 'False', 'Succeeded', 'not stalled', EARLIER),
    ]);
  });

  it('treats an Unknown previous status as a flip, and ignores conditions of other types', () => {
    const previous = [cond('Ready', 'Unknown', 'Starting', '', EARLIER, 1), cond('Other', 'True', 'X', 'x', EARLIER, 1)];
    assert.deepEqual(nextConditions(previous, SYNCED, 2, NOW), [
      cond('Ready', 'True', 'Synced', 'applied revision abcdef0: 2 objects', NOW_TEXT, 2),
      cond('Reconciling', 'False', 'Succeeded', 'reconciliation finished', NOW_TEXT, 2),
      cond('Stalled', 'False', 'Succeeded', 'not stalled', NOW_TEXT, 2),
    ]);
  });

  it('writes the given generation as observedGeneration, also 0', () => {
    assert.deepEqual(
      nextConditions(previousSynced, SYNCED, 0, NOW).map((c) => c.observedGeneration),
      [0, 0, 0],
    );
  });

  it('writes times without milliseconds', () => {
    assert.equal(nextConditions(undefined, SYNCED, 1, new Date('2030-06-07T08:09:10.000Z'))[0]?.lastTransitionTime, '2030-06-07T08:09:10Z');
  });

  it('flips back and forth: the time is that of the last flip (property)', () => {
    const outcomes = fc.array(fc.constantFrom(SYNCED, WAITING, STALLED, SUSPENDED), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(outcomes, (sequence) => {
        let conditions: Condition[] | undefined;
        const lastFlip = new Map<string, string>();
        sequence.forEach((outcome, i) => {
          const at = new Date(Date.UTC(2030, 0, 1, 0, 0, i));
          const next = nextConditions(conditions, outcome, i, at);
          for (const c of next) {
            const old = conditions?.find((o) => o.type === c.type);
            if (old?.status !== c.status) lastFlip.set(c.type, at.toISOString().replace('.000Z', 'Z'));
            assert.equal(c.lastTransitionTime, lastFlip.get(c.type));
          }
          conditions = next;
        });
      }),
    );
  });
});

describe('withHistory', () => {
  const entry = (n: number): HistoryEntry => ({ revision: `r${n}`, time: `2030-01-01T00:00:${String(n).padStart(2, '0')}Z`, result: n % 2 ? 'Failed' : 'Succeeded' });

  it('starts a history', () => {
    assert.deepEqual(withHistory(undefined, entry(1)), [entry(1)]);
    assert.deepEqual(withHistory([], entry(1)), [entry(1)]);
  });

  it('puts the newest first', () => {
    assert.deepEqual(withHistory([entry(2), entry(1)], entry(3)), [entry(3), entry(2), entry(1)]);
  });

  it(`keeps at most ${HISTORY_LIMIT}, dropping the oldest`, () => {
    assert.equal(HISTORY_LIMIT, 10);
    const full = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map(entry);
    assert.deepEqual(withHistory(full, entry(10)), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(entry));
  });

  it('does not change the history it is given', () => {
    const history = [entry(1)];
    withHistory(history, entry(2));
    assert.deepEqual(history, [entry(1)]);
  });

  it('adding entries one by one keeps the last ten, newest first (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), (n) => {
        let history: HistoryEntry[] | undefined;
        for (let i = 0; i < n; i++) history = withHistory(history, entry(i));
        const want = Array.from({ length: n }, (_, i) => n - 1 - i).slice(0, HISTORY_LIMIT).map(entry);
        assert.deepEqual(history ?? [], want);
      }),
    );
  });
});

describe('sameAppStatus', () => {
  const status: ApplicationStatus = {
    observedGeneration: 2,
    sync: { status: 'Synced', revision: 'abc' },
    health: { status: 'Healthy' },
    inventory: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'a' }],
  };
  const cases: { name: string; previous: ApplicationStatus | undefined; next: ApplicationStatus; same: boolean }[] = [
    { name: 'a copy', previous: status, next: structuredClone(status), same: true },
    { name: 'no status and an empty one', previous: undefined, next: {}, same: true },
    { name: 'no status and a new one', previous: undefined, next: status, same: false },
    { name: 'undefined fields are not written', previous: status, next: { ...structuredClone(status), lastHandledRefresh: undefined }, same: true },
    { name: 'a changed health', previous: status, next: { ...structuredClone(status), health: { status: 'Degraded', message: 'x' } }, same: false },
    { name: 'a new observedGeneration', previous: status, next: { ...structuredClone(status), observedGeneration: 3 }, same: false },
    {
      name: 'the same conditions with keys in the order the API server returns them',
      previous: { ...structuredClone(status), conditions: [{ lastTransitionTime: 't', message: 'm', observedGeneration: 2, reason: 'Synced', status: 'True', type: 'Ready' }] },
      next: { ...structuredClone(status), conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: 'm', lastTransitionTime: 't', observedGeneration: 2 }] },
      same: true,
    },
    {
      name: 'the same status with its top-level keys reordered',
      previous: { inventory: structuredClone(status.inventory), health: { status: 'Healthy' }, sync: { revision: 'abc', status: 'Synced' }, observedGeneration: 2 },
      next: structuredClone(status),
      same: true,
    },
    { name: 'array order matters', previous: { inventory: [{ apiVersion: 'v1', kind: 'A', name: 'a' }, { apiVersion: 'v1', kind: 'B', name: 'b' }] }, next: { inventory: [{ apiVersion: 'v1', kind: 'B', name: 'b' }, { apiVersion: 'v1', kind: 'A', name: 'a' }] }, same: false },
    { name: 'one more inventory entry', previous: status, next: { ...structuredClone(status), inventory: [...status.inventory!, { apiVersion: 'v1', kind: 'ConfigMap', name: 'b' }] }, same: false },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(sameAppStatus(c.previous, c.next), c.same));
  }
});
