// The apply order as tables of named objects (wave ids and item names, exactly), the prune order as its
// mirror, and properties over random object sets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { orderWaves, parseSyncWave, pruneOrder, type OrderInput } from './order.js';

interface Item extends OrderInput {
  name: string;
}

const KINDS: Record<string, [apiVersion: string, namespaced: boolean]> = {
  Namespace: ['v1', false],
  CustomResourceDefinition: ['apiextensions.k8s.io/v1', false],
  ClusterRole: ['rbac.authorization.k8s.io/v1', false],
  ClusterRoleBinding: ['rbac.authorization.k8s.io/v1', false],
  StorageClass: ['storage.k8s.io/v1', false],
  SealedSecret: ['sigil.dev/v1', true],
  Secret: ['v1', true],
  ConfigMap: ['v1', true],
  ServiceAccount: ['v1', true],
  Role: ['rbac.authorization.k8s.io/v1', true],
  RoleBinding: ['rbac.authorization.k8s.io/v1', true],
  PersistentVolumeClaim: ['v1', true],
  Service: ['v1', true],
  Deployment: ['apps/v1', true],
  StatefulSet: ['apps/v1', true],
  DaemonSet: ['apps/v1', true],
  ReplicaSet: ['apps/v1', true],
  Job: ['batch/v1', true],
  CronJob: ['batch/v1', true],
  Pod: ['v1', true],
  Ingress: ['networking.k8s.io/v1', true],
  Widget: ['example.com/v1', true],
};

/** An object of a well-known kind, named `name`, in sync-wave `wave` when given. */
function obj(kind: string, name: string, wave?: string): Item {
  const [apiVersion, namespaced] = KINDS[kind] ?? assert.fail(`no kind ${kind} in the table`);
  return { apiVersion, kind, namespaced, name, ...(wave === undefined ? {} : { annotations: { 'sigil.dev/sync-wave': wave } }) };
}

/** The waves as `id: name name …`, which reads as the expected order. */
function show(waves: { id: string; items: Item[] }[]): string[] {
  return waves.map((w) => `${w.id}: ${w.items.map((i) => i.name).join(' ')}`);
}

const EVERY_KIND: Item[] = [
  obj('Ingress', 'ing'),
  obj('Pod', 'pod'),
  obj('Widget', 'widget'),
  obj('CronJob', 'cron'),
  obj('Job', 'job'),
  obj('ReplicaSet', 'rs'),
  obj('DaemonSet', 'ds'),
  obj('StatefulSet', 'sts'),
  obj('Deployment', 'deploy'),
  obj('StorageClass', 'fast'),
  obj('Service', 'svc'),
  obj('ClusterRoleBinding', 'crb'),
  obj('PersistentVolumeClaim', 'pvc'),
  obj('RoleBinding', 'rb'),
  obj('Role', 'role'),
  obj('ServiceAccount', 'sa'),
  obj('CustomResourceDefinition', 'widgets.example.com'),
  obj('ConfigMap', 'cm'),
  obj('ClusterRole', 'cr'),
  obj('Secret', 'secret'),
  obj('Namespace', 'prod'),
  obj('SealedSecret', 'sealed'),
];

const cases: { name: string; input: Item[]; waves: string[] }[] = [
  { name: 'nothing', input: [], waves: [] },
  {
    name: 'every phase and kind, from a scrambled input',
    input: EVERY_KIND,
    waves: [
      'namespaces: prod',
      'crds: widgets.example.com',
      'cluster: cr crb fast',
      'wave 0: sealed secret cm sa role rb pvc svc deploy sts ds rs job cron pod ing widget',
    ],
  },
  {
    name: 'namespaced waves ascending as numbers, default 0, kind order within each',
    input: [obj('Deployment', 'd10', '10'), obj('Deployment', 'd2', '2'), obj('ConfigMap', 'c2', '2'), obj('Deployment', 'd0'), obj('Secret', 'sm1', '-1'), obj('ConfigMap', 'c0', '0'), obj('Job', 'j1', '+1')],
    waves: ['wave -1: sm1', 'wave 0: c0 d0', 'wave 1: j1', 'wave 2: c2 d2', 'wave 10: d10'],
  },
  {
    name: 'cluster-scoped phases come first whatever their wave, ordered by wave inside',
    input: [obj('ConfigMap', 'c', '-5'), obj('Namespace', 'late', '3'), obj('Namespace', 'early', '-1'), obj('Namespace', 'plain'), obj('ClusterRole', 'r5', '5'), obj('StorageClass', 's-1', '-1'), obj('CustomResourceDefinition', 'b', '1'), obj('CustomResourceDefinition', 'a')],
    waves: ['namespaces: early plain late', 'crds: a b', 'cluster: s-1 r5', 'wave -5: c'],
  },
  {
    name: 'ties in input order',
    input: [obj('ConfigMap', 'b'), obj('ConfigMap', 'a'), obj('Widget', 'w2'), obj('ConfigMap', 'c'), obj('Widget', 'w1')],
    waves: ['wave 0: b a c w2 w1'],
  },
  {
    name: 'an unreadable or absent wave counts as 0',
    input: [obj('ConfigMap', 'x', 'x'), obj('ConfigMap', 'half', '1.5'), obj('ConfigMap', 'one', '1'), { ...obj('ConfigMap', 'other'), annotations: { other: '7' } }],
    waves: ['wave 0: x half other', 'wave 1: one'],
  },
  {
    name: 'Namespace and CRD only of their own groups',
    input: [
      { apiVersion: 'example.com/v1', kind: 'Namespace', namespaced: false, name: 'fake-ns' },
      { apiVersion: 'example.com/v1', kind: 'CustomResourceDefinition', namespaced: true, name: 'fake-crd' },
      { apiVersion: 'apiextensions.k8s.io/v1beta1', kind: 'CustomResourceDefinition', namespaced: false, name: 'old-crd' },
    ],
    waves: ['crds: old-crd', 'cluster: fake-ns', 'wave 0: fake-crd'],
  },
];

describe('orderWaves', () => {
  for (const c of cases) {
    it(`orders ${c.name}`, () => {
      const input = structuredClone(c.input);
      assert.deepEqual(show(orderWaves(input)), c.waves);
      assert.deepEqual(input, c.input, 'the input is left as it was');
    });
  }

  it('returns the very objects it was given', () => {
    const input = [obj('ConfigMap', 'a'), obj('Namespace', 'n')];
    const [first, second] = orderWaves(input);
    assert.equal(first?.items[0], input[1]);
    assert.equal(second?.items[0], input[0]);
  });
});

describe('pruneOrder', () => {
  it('is the apply order reversed: later waves and kinds first, CRDs then Namespaces last', () => {
    const input = [...EVERY_KIND, obj('ConfigMap', 'cm-late', '3'), obj('ConfigMap', 'cm-early', '-3')];
    assert.deepEqual(
      pruneOrder(input).map((i) => i.name),
      ['cm-late', ...'widget ing pod cron job rs ds sts deploy svc pvc rb role sa cm secret sealed'.split(' '), 'cm-early', 'fast', 'crb', 'cr', 'widgets.example.com', 'prod'],
    );
  });

  it('prunes nothing from nothing', () => {
    assert.deepEqual(pruneOrder([]), []);
  });
});

describe('parseSyncWave', () => {
  const cases: [string, number | undefined][] = [
    ['0', 0],
    ['5', 5],
    ['-1', -1],
    ['+3', 3],
    ['007', 7],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', undefined],
    ['1.5', undefined],
    ['x', undefined],
    ['', undefined],
    [' 1', undefined],
    ['1e3', undefined],
    ['0x10', undefined],
    ['--1', undefined],
  ];
  for (const [value, wave] of cases) {
    it(`reads ${JSON.stringify(value)} as ${String(wave)}`, () => assert.equal(parseSyncWave(value), wave));
  }
});

describe('orderWaves properties', () => {
  const item: fc.Arbitrary<Item> = fc.record({
    apiVersion: fc.constantFrom('v1', 'apps/v1', 'apiextensions.k8s.io/v1', 'example.com/v1'),
    kind: fc.constantFrom(...Object.keys(KINDS), 'Other'),
    namespaced: fc.boolean(),
    name: fc.string({ maxLength: 4 }),
    annotations: fc.option(fc.dictionary(fc.constantFrom('sigil.dev/sync-wave', 'other'), fc.oneof(fc.integer({ min: -3, max: 3 }).map(String), fc.constantFrom('x', '1.5', ''))), { nil: undefined }),
  });
  const items = fc.array(item, { maxLength: 30 });
  const WAVE_ID = /^(namespaces|crds|cluster|wave (-?\d+))$/;
  const phaseRank = (id: string): number => ['namespaces', 'crds', 'cluster'].indexOf(id) + 1 || 4;

  it('orders a permutation of its input into non-empty waves with distinct ids, in phase and wave order', () => {
    fc.assert(
      fc.property(items, (input) => {
        const waves = orderWaves(input);
        const flat = waves.flatMap((w) => w.items);
        assert.equal(flat.length, input.length);
        assert.deepEqual(new Set(flat), new Set(input));
        assert.equal(new Set(waves.map((w) => w.id)).size, waves.length);
        for (const w of waves) {
          assert.ok(w.items.length > 0);
          assert.match(w.id, WAVE_ID);
          if (w.id.startsWith('wave ')) assert.ok(w.items.every((i) => i.namespaced));
        }
        for (let i = 1; i < waves.length; i++) {
          const [a, b] = [waves[i - 1]!.id, waves[i]!.id];
          assert.ok(phaseRank(a) < phaseRank(b) || (phaseRank(a) === 4 && Number(a.slice(5)) < Number(b.slice(5))), `${a} before ${b}`);
        }
      }),
    );
  });

  it('keeps an ordered list as it is, and prunes in exactly the reverse order', () => {
    fc.assert(
      fc.property(items, (input) => {
        const flat = orderWaves(input).flatMap((w) => w.items);
        assert.deepEqual(orderWaves(flat).flatMap((w) => w.items), flat);
        assert.deepEqual(pruneOrder(input), [...flat].reverse());
      }),
    );
  });
});
