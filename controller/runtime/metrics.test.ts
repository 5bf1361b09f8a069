import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, collectDefault } from './metrics.js';

describe('MetricsRegistry', () => {
  it('renders counters and gauges with HELP/TYPE, families by name, series by label values', () => {
    const r = new MetricsRegistry();
    const unsealed = r.counter('sigil_unseal_total', 'SealedSecrets unsealed, by result.', ['result', 'reason']);
    const depth = r.gauge('sigil_queue_depth', 'Keys waiting in the work queue.');
    unsealed.inc({ result: 'success', reason: '' });
    unsealed.inc({ result: 'failure', reason: 'NoKey' }, 2);
    unsealed.inc({ reason: '', result: 'success' }, 0.5);
    depth.set({}, 3);
    depth.inc();
    depth.dec({}, 2);
    assert.equal(
      r.render(),
      [
        '# HELP sigil_queue_depth Keys waiting in the work queue.',
        '# TYPE sigil_queue_depth gauge',
        'sigil_queue_depth 2',
        '# HELP sigil_unseal_total SealedSecrets unsealed, by result.',
        '# TYPE sigil_unseal_total counter',
        'sigil_unseal_total{result="failure",reason="NoKey"} 2',
        'sigil_unseal_total{result="success",reason=""} 1.5',
        '',
      ].join('\n'),
    );
  });

  it('writes unlabelled families with no samples yet as 0, labelled ones as HELP/TYPE only', () => {
    const r = new MetricsRegistry();
    r.counter('a_total', 'A.');
    r.counter('b_total', 'B.', ['x']);
    assert.equal(r.render(), '# HELP a_total A.\n# TYPE a_total counter\na_total 0\n# HELP b_total B.\n# TYPE b_total counter\n');
  });

  it('escapes backslash, quote and newline in label values, backslash and newline in help', () => {
    const r = new MetricsRegistry();
    r.gauge('g', 'line one\nback\\slash "quoted"', ['v']).set({ v: 'a\\b"c\nd' }, -1.25);
    assert.equal(r.render(), '# HELP g line one\\nback\\\\slash "quoted"\n# TYPE g gauge\ng{v="a\\\\b\\"c\\nd"} -1.25\n');
  });

  it('renders histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('sigil_reconcile_seconds', 'Reconcile duration.', ['kind'], [0.1, 1, 5]);
    for (const v of [0.05, 0.1, 0.5, 3, 7]) h.observe({ kind: 'SealedSecret' }, v);
    h.observe({ kind: 'Application' }, 2);
    assert.equal(
      r.render(),
      [
        '# HELP sigil_reconcile_seconds Reconcile duration.',
        '# TYPE sigil_reconcile_seconds histogram',
        'sigil_reconcile_seconds_bucket{kind="Application",le="0.1"} 0',
        'sigil_reconcile_seconds_bucket{kind="Application",le="1"} 0',
        'sigil_reconcile_seconds_bucket{kind="Application",le="5"} 1',
        'sigil_reconcile_seconds_bucket{kind="Application",le="+Inf"} 1',
        'sigil_reconcile_seconds_sum{kind="Application"} 2',
        'sigil_reconcile_seconds_count{kind="Application"} 1',
        'sigil_reconcile_seconds_bucket{kind="SealedSecret",le="0.1"} 2',
        'sigil_reconcile_seconds_bucket{kind="SealedSecret",le="1"} 3',
        'sigil_reconcile_seconds_bucket{kind="SealedSecret",le="5"} 4',
        'sigil_reconcile_seconds_bucket{kind="SealedSecret",le="+Inf"} 5',
        'sigil_reconcile_seconds_sum{kind="SealedSecret"} 10.65',
        'sigil_reconcile_seconds_count{kind="SealedSecret"} 5',
        '',
      ].join('\n'),
    );
  });

  it('startTimer observes elapsed seconds on the injected clock', () => {
    let now = 1000;
    const r = new MetricsRegistry({ now: () => now });
    const h = r.histogram('t_seconds', 'T.', [], [0.5, 2]);
    const end = h.startTimer();
    now += 1500;
    end();
    assert.equal(
      r.render(),
      '# HELP t_seconds T.\n# TYPE t_seconds histogram\nt_seconds_bucket{le="0.5"} 0\nt_seconds_bucket{le="2"} 1\nt_seconds_bucket{le="+Inf"} 1\nt_seconds_sum 1.5\nt_seconds_count 1\n',
    );
  });

  it('rejects bad names, duplicates, wrong labels, negative increments and unsorted buckets', () => {
    const r = new MetricsRegistry();
    const c = r.counter('c_total', 'C.', ['a']);
    assert.throws(() => r.counter('c_total', 'again'), { name: 'RangeError', message: 'metric c_total is already registered' });
    assert.throws(() => r.gauge('bad-name', 'x'), { name: 'RangeError', message: 'invalid metric name "bad-name"' });
    assert.throws(() => r.gauge('g', 'x', ['__x']), { name: 'RangeError', message: 'g: invalid label name "__x"' });
    assert.throws(() => c.inc({ b: 'x' }), { name: 'RangeError', message: 'c_total: labels must be {a}, got {b}' });
    assert.throws(() => c.inc({}), { name: 'RangeError', message: 'c_total: labels must be {a}, got {}' });
    assert.throws(() => c.inc({ a: 'x' }, -1), { name: 'RangeError', message: 'c_total: a counter only goes up (got -1)' });
    assert.throws(() => r.histogram('h', 'x', [], [1, 1]), { name: 'RangeError', message: 'h: buckets must be strictly increasing numbers' });
    assert.throws(() => r.histogram('h2', 'x', ['le']), { name: 'RangeError', message: 'h2: "le" is reserved for histogram buckets' });
  });

  it('keeps registries apart', () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    a.counter('x_total', 'X.').inc();
    b.counter('x_total', 'X.');
    assert.equal(a.render(), '# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n');
    assert.equal(b.render(), '# HELP x_total X.\n# TYPE x_total counter\nx_total 0\n');
  });
});

describe('collectDefault', () => {
  it('refreshes process memory gauges on every render', () => {
    const r = new MetricsRegistry();
    let rss = 100;
    collectDefault(r, () => ({ rss, heapUsed: 40 }));
    assert.equal(
      r.render(),
      '# HELP process_heap_bytes V8 heap in use, in bytes.\n# TYPE process_heap_bytes gauge\nprocess_heap_bytes 40\n' +
        '# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 100\n',
    );
    rss = 200;
    assert.match(r.render(), /^process_resident_memory_bytes 200$/m);
  });

  it('reads the real process by default', () => {
    const r = new MetricsRegistry();
    collectDefault(r);
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(r.render())?.[1]);
    assert.ok(rss > 1_000_000, `rss ${rss}`);
  });
});
