// differences as a table of exact path lists, plus properties; driftOf against a fake cluster whose
// dry-run apply returns a prepared object, so what it ignores (status, server metadata) is pinned exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Cluster, KubeObject } from './cluster.js';
import { differences, driftOf, MISSING } from './drift.js';

describe('differences', () => {
  const cases: { name: string; a: unknown; b: unknown; want: string[] }[] = [
    { name: 'equal objects', a: { data: { a: '1' }, list: [1, { x: 2 }] }, b: { data: { a: '1' }, list: [1, { x: 2 }] }, want: [] },
    { name: 'equal scalars at the root', a: 'x', b: 'x', want: [] },
    { name: 'different scalars at the root', a: 1, b: 2, want: ['.'] },
    { name: 'a scalar against an object at the root', a: 'x', b: { a: 1 }, want: ['.'] },
    { name: 'null against an object at the root', a: null, b: {}, want: ['.'] },
    { name: 'a changed nested value', a: { spec: { template: { replicas: 1 } } }, b: { spec: { template: { replicas: 2 } } }, want: ['spec.template.replicas'] },
    { name: 'a type change of a value', a: { spec: { replicas: '1' } }, b: { spec: { replicas: 1 } }, want: ['spec.replicas'] },
    { name: 'an added key', a: { data: { a: '1' } }, b: { data: { a: '1', b: '2' } }, want: ['data.b'] },
    { name: 'a removed key', a: { data: { a: '1', b: '2' } }, b: { data: { a: '1' } }, want: ['data.b'] },
    { name: 'a removed subtree is one path', a: { spec: { tls: { hosts: ['a'], secretName: 's' } } }, b: { spec: {} }, want: ['spec.tls'] },
    { name: 'an object against a scalar', a: { data: { a: '1' } }, b: { data: 'x' }, want: ['data'] },
    { name: 'an array against an object', a: { x: [1] }, b: { x: { 0: 1 } }, want: ['x'] },
    { name: 'arrays of equal length, one item differs', a: { args: ['a', 'b', 'c'] }, b: { args: ['a', 'B', 'c'] }, want: ['args[1]'] },
    {
      name: 'arrays of equal length, nested fields differ',
      a: { spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] }] } },
      b: { spec: { containers: [{ name: 'app', image: 'app:2', env: [{ name: 'A', value: '2' }] }] } },
      want: ['spec.containers[0].env[0].value', 'spec.containers[0].image'],
    },
    { name: 'arrays of different length are one path', a: { args: ['a', 'b'] }, b: { args: ['a', 'x', 'c'] }, want: ['args'] },
    { name: 'root arrays of different length', a: [1, 2], b: [1], want: ['.'] },
    { name: 'root arrays of equal length', a: [1, 2], b: [1, 3], want: ['[1]'] },
    {
      name: 'several paths, sorted',
      a: { spec: { replicas: 1 }, data: { z: '1', a: '1' }, metadata: { labels: { team: 'a' } } },
      b: { spec: { replicas: 2 }, data: { z: '2', a: '2' }, metadata: { labels: { team: 'b' } } },
      want: ['data.a', 'data.z', 'metadata.labels.team', 'spec.replicas'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(differences(c.a, c.b), c.want));
  }

  const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `k${String(i).padStart(2, '0')}`);
  const differing = (n: number): [Record<string, unknown>, Record<string, unknown>] => [
    { data: Object.fromEntries(keys(n).map((k) => [k, 'a'])) },
    { data: Object.fromEntries(keys(n).map((k) => [k, 'b'])) },
  ];

  it('lists exactly 20 paths without …', () => {
    const [a, b] = differing(20);
    assert.deepEqual(differences(a, b), keys(20).map((k) => `data.${k}`));
  });

  it('lists the first 20 of 21 paths, then …', () => {
    const [a, b] = differing(21);
    assert.deepEqual(differences(a, b), [...keys(20).map((k) => `data.${k}`), '…']);
  });

  it('lists the first 20 of 50 paths, then …', () => {
    const [a, b] = differing(50);
    assert.deepEqual(differences(a, b), [...keys(20).map((k) => `data.${k}`), '…']);
  });

  // Only below the cut: beyond 20 paths, which 20 are listed follows the walk (key) order.
  it('finds nothing between a value and itself, and the same paths both ways (properties)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        assert.deepEqual(differences(a, structuredClone(a)), []);
        const ab = differences(a, b);
        if (!ab.includes('…')) assert.deepEqual(ab, differences(b, a));
      }),
    );
  });

  it('returns a sorted list of at most 21 entries, and … only as the 21st (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const paths = differences(a, b);
        assert.ok(paths.length <= 21);
        const listed = paths.length === 21 ? (assert.equal(paths[20], '…'), paths.slice(0, 20)) : paths;
        assert.deepEqual([...listed].sort(), listed);
        assert.ok(!listed.includes('…'));
      }),
    );
  });
});

describe('driftOf', () => {
  /** A Cluster whose apply returns `answer` and records each call. */
  function fakeCluster(answer: KubeObject): { cluster: Cluster; calls: Array<{ obj: KubeObject; dryRun: boolean | undefined }> } {
    const calls: Array<{ obj: KubeObject; dryRun: boolean | undefined }> = [];
    const cluster = {
      async apply(obj: KubeObject, dryRun?: boolean): Promise<KubeObject> {
        calls.push({ obj, dryRun });
        return structuredClone(answer);
      },
    } as unknown as Cluster;
    return { cluster, calls };
  }

  const desired: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'prod', labels: { 'sigil.dev/app': 'team-a.web' } },
    data: { mode: 'fast', level: '3' },
  };
  /** What the API server says the object would be: the desired one, defaulted, with server metadata. */
  const wouldBe: KubeObject = {
    ...structuredClone(desired),
    metadata: {
      ...structuredClone(desired.metadata),
      resourceVersion: '101',
      generation: 4,
      uid: 'uid-1',
      creationTimestamp: '2030-01-01T00:00:00Z',
      managedFields: [{ manager: 'sigil', operation: 'Apply' }],
    },
    status: { phase: 'Whatever' },
  };
  /** The live object: the same content, other server metadata and status. */
  const live = (over: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject => ({
    ...structuredClone(desired),
    metadata: {
      ...structuredClone(desired.metadata),
      resourceVersion: '99',
      generation: 3,
      uid: 'uid-1',
      creationTimestamp: '2029-12-31T00:00:00Z',
      managedFields: [{ manager: 'kubectl', operation: 'Update' }],
      selfLink: '/api/v1/namespaces/prod/configmaps/settings',
      ...metadata,
    },
    status: { phase: 'Other', observedGeneration: 3 },
    ...over,
  });

  const cases: { name: string; live: KubeObject | undefined; want: string[] }[] = [
    { name: 'a missing object', live: undefined, want: [MISSING] },
    { name: 'only status and server metadata differ', live: live(), want: [] },
    { name: 'the live object has no status', live: (({ status: _s, ...rest }) => rest as KubeObject)(live()), want: [] },
    { name: 'the live object is being deleted', live: live({}, { deletionTimestamp: '2030-01-02T00:00:00Z', deletionGracePeriodSeconds: 0 }), want: [] },
    { name: 'someone changed a data value', live: live({ data: { mode: 'slow', level: '3' } }), want: ['data.mode'] },
    { name: 'someone added a data key', live: live({ data: { mode: 'fast', level: '3', extra: 'x' } }), want: ['data.extra'] },
    { name: 'someone removed the label', live: live({}, { labels: {} }), want: ['metadata.labels.sigil.dev/app'] },
    {
      name: 'someone added an annotation and changed a value',
      live: live({ data: { mode: 'fast', level: '4' } }, { annotations: { note: 'hand-edited' } }),
      want: ['data.level', 'metadata.annotations'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { cluster, calls } = fakeCluster(wouldBe);
      assert.deepEqual(await driftOf(desired, c.live, cluster), c.want);
      assert.deepEqual(calls, c.live ? [{ obj: desired, dryRun: true }] : []);
    });
  }

  it('passes the desired object itself to the dry-run apply, unchanged', async () => {
    const { cluster, calls } = fakeCluster(wouldBe);
    const before = structuredClone(desired);
    await driftOf(desired, live(), cluster);
    assert.equal(calls[0]?.obj, desired);
    assert.equal(calls[0]?.dryRun, true);
    assert.deepEqual(desired, before);
  });

  it('rejects with the dry-run failure', async () => {
    const failure = Object.assign(new Error('PATCH …: HTTP 422 Invalid'), { code: 422 });
    const cluster = { apply: async (): Promise<KubeObject> => Promise.reject(failure) } as unknown as Cluster;
    await assert.rejects(driftOf(desired, live(), cluster), (err: unknown) => err === failure);
  });
});

