// Every static check of checkObjects as a table: the objects it lets through and the exact message of
// each refusal, then how several problems are listed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StalledError } from '../../shared/errors.js';
import { checkObjects, listProblems, type ObjectPolicy } from './check-objects.js';
import type { RenderedObject } from './render.js';

const STRICT: ObjectPolicy = { allowPlaintextSecrets: false };
const LENIENT: ObjectPolicy = { allowPlaintextSecrets: true };

const cm = (metadata: unknown, over: Record<string, unknown> = {}): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata, ...over });
const at = (object: Record<string, unknown>, source = 'apps/a.yaml', index = 0): RenderedObject => ({ object, source, index });

const fine: { name: string; object: Record<string, unknown>; policy?: ObjectPolicy }[] = [
  { name: 'a ConfigMap without namespace', object: cm({ name: 'a' }) },
  { name: 'a dotted name of 253 characters', object: cm({ name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}` }) },
  { name: 'a namespace of 63 characters', object: cm({ name: 'a', namespace: `n${'-'.repeat(61)}1` }) },
  { name: 'an empty namespace (the default one)', object: cm({ name: 'a', namespace: '' }) },
  { name: 'a null namespace', object: cm({ name: 'a', namespace: null }) },
  { name: 'sync-wave -1', object: cm({ name: 'a', annotations: { 'sigil.dev/sync-wave': '-1' } }) },
  { name: 'sync-wave 0', object: cm({ name: 'a', annotations: { 'sigil.dev/sync-wave': '0' } }) },
  { name: 'sync-wave 5, other annotations of any shape', object: cm({ name: 'a', annotations: { 'sigil.dev/sync-wave': '5', other: 1 } }) },
  { name: 'a status', object: cm({ name: 'a' }, { status: { phase: 'Whatever' } }) },
  { name: 'a ClusterRole named with colons', object: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:aggregate-to-view' } } },
  { name: 'a SealedSecret', object: { apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', metadata: { name: 'db', namespace: 'prod' } } },
  { name: 'a Secret when the policy allows it', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' } }, policy: LENIENT },
  { name: 'a Secret of another group', object: { apiVersion: 'example.com/v1', kind: 'Secret', metadata: { name: 'db' } } },
];

const refused: { name: string; object: Record<string, unknown>; message: string }[] = [
  {
    name: 'a plain Secret',
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod' }, data: { password: 'aHVudGVyMg==' } },
    message: 'apps/a.yaml document 1: Secret prod/db: plain Secrets are refused in Git (seal it with seal, or set spec.policy.allowPlaintextSecrets)',
  },
  { name: 'no apiVersion', object: { kind: 'ConfigMap', metadata: { name: 'a' } }, message: 'apps/a.yaml document 1: ConfigMap a: apiVersion is missing' },
  { name: 'an empty apiVersion', object: cm({ name: 'a' }, { apiVersion: '' }), message: 'apps/a.yaml document 1: ConfigMap a: apiVersion is empty' },
  { name: 'a numeric apiVersion', object: cm({ name: 'a' }, { apiVersion: 1 }), message: 'apps/a.yaml document 1: ConfigMap a: apiVersion is a number, not a string; quote it' },
  { name: 'no kind (no label then)', object: { apiVersion: 'v1', metadata: { name: 'a' } }, message: 'apps/a.yaml document 1: kind is missing' },
  { name: 'a kind that is a list', object: cm({ name: 'a' }, { kind: ['ConfigMap'] }), message: 'apps/a.yaml document 1: kind is a list, not a string' },
  { name: 'no metadata', object: { apiVersion: 'v1', kind: 'ConfigMap' }, message: 'apps/a.yaml document 1: ConfigMap: metadata.name is missing' },
  { name: 'metadata that is a list', object: cm(['a']), message: 'apps/a.yaml document 1: ConfigMap: metadata is a list, not a mapping' },
  { name: 'an empty name', object: cm({ name: '' }), message: 'apps/a.yaml document 1: ConfigMap: metadata.name is empty' },
  { name: 'a name that YAML read as a number', object: cm({ name: 42 }), message: 'apps/a.yaml document 1: ConfigMap: metadata.name is a number, not a string; quote it' },
  ...['Bad', 'a_b', '-a', 'a-', 'a..b', '.a', 'a b', 'system:x', 'x'.repeat(254)].map((name) => ({
    name: `the name ${JSON.stringify(name.slice(0, 20))}`,
    object: cm({ name }),
    message: `apps/a.yaml document 1: ConfigMap ${name}: metadata.name must be lowercase letters, digits, '-' and '.', start and end with a letter or digit, and be at most 253 characters`,
  })),
  ...['a/b', 'a%b', '.', '..'].map((name) => ({
    name: `the RBAC name ${JSON.stringify(name)}`,
    object: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: 'prod' } },
    message: `apps/a.yaml document 1: RoleBinding prod/${name}: metadata.name may not contain '/' or '%', nor be '.' or '..'`,
  })),
  ...['Prod', 'a.b', '-a', 'a'.repeat(64)].map((namespace) => ({
    name: `the namespace ${JSON.stringify(namespace.slice(0, 20))}`,
    object: cm({ name: 'a', namespace }),
    message: `apps/a.yaml document 1: ConfigMap ${namespace}/a: metadata.namespace must be lowercase letters, digits and '-', start and end with a letter or digit, and be at most 63 characters`,
  })),
  { name: 'a namespace that is a boolean', object: cm({ name: 'a', namespace: true }), message: 'apps/a.yaml document 1: ConfigMap a: metadata.namespace is a boolean, not a string; quote it' },
  ...['1.5', 'x', '', ' 1', '1e3', '0x10', '99999999999999999999'].map((wave) => ({
    name: `sync-wave ${JSON.stringify(wave)}`,
    object: cm({ name: 'a', annotations: { 'sigil.dev/sync-wave': wave } }),
    message: 'apps/a.yaml document 1: ConfigMap a: annotation sigil.dev/sync-wave must be an integer such as "-1", "0" or "5"',
  })),
  {
    name: 'an unquoted sync-wave',
    object: cm({ name: 'a', annotations: { 'sigil.dev/sync-wave': 1 } }),
    message: 'apps/a.yaml document 1: ConfigMap a: annotation sigil.dev/sync-wave is a number, not a string; quote it',
  },
  { name: 'annotations that are a list', object: cm({ name: 'a', annotations: ['x'] }), message: 'apps/a.yaml document 1: ConfigMap a: metadata.annotations is a list, not a mapping' },
  {
    name: 'several problems in one object, in field order',
    object: { kind: 'Secret', metadata: { name: 'A', namespace: 'B', annotations: { 'sigil.dev/sync-wave': 'x' } } },
    message:
      'apps/a.yaml document 1: Secret B/A: apiVersion is missing; ' +
      "apps/a.yaml document 1: Secret B/A: metadata.name must be lowercase letters, digits, '-' and '.', start and end with a letter or digit, and be at most 253 characters; " +
      "apps/a.yaml document 1: Secret B/A: metadata.namespace must be lowercase letters, digits and '-', start and end with a letter or digit, and be at most 63 characters; " +
      'apps/a.yaml document 1: Secret B/A: annotation sigil.dev/sync-wave must be an integer such as "-1", "0" or "5"',
  },
];

function refusal(objects: readonly RenderedObject[], policy: ObjectPolicy): { reason: string; message: string } {
  try {
    checkObjects(objects, policy);
  } catch (err) {
    assert.ok(err instanceof StalledError, String(err));
    return { reason: err.reason, message: err.message };
  }
  assert.fail('checkObjects accepted the objects');
}

describe('checkObjects', () => {
  for (const c of fine) {
    it(`accepts ${c.name}`, () => {
      assert.equal(checkObjects([at(c.object)], c.policy ?? STRICT), undefined);
    });
  }

  for (const c of refused) {
    it(`refuses ${c.name}`, () => {
      assert.deepEqual(refusal([at(c.object)], STRICT), { reason: 'InvalidRevision', message: c.message });
    });
  }

  it('accepts nothing at all', () => {
    assert.equal(checkObjects([], STRICT), undefined);
  });

  it('lists the problems of every object with its source and 1-based document', () => {
    const objects = [at(cm({ name: 'ok' })), at(cm({ name: 'Bad' }), 'apps/b.yaml', 2), at({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }, 'kustomize apps', 6)];
    assert.deepEqual(refusal(objects, STRICT), {
      reason: 'InvalidRevision',
      message:
        "apps/b.yaml document 3: ConfigMap Bad: metadata.name must be lowercase letters, digits, '-' and '.', start and end with a letter or digit, and be at most 253 characters; " +
        'kustomize apps document 7: Secret s: plain Secrets are refused in Git (seal it with seal, or set spec.policy.allowPlaintextSecrets)',
    });
  });

  it('lists the first 10 problems and counts the rest', () => {
    const objects = Array.from({ length: 13 }, (_, i) => at({ apiVersion: 'v1', metadata: { name: `n${i}` } }, 'a.yaml', i));
    const listed = Array.from({ length: 10 }, (_, i) => `a.yaml document ${i + 1}: kind is missing`);
    assert.deepEqual(refusal(objects, STRICT), { reason: 'InvalidRevision', message: `${listed.join('; ')}; … and 3 more` });
  });
});

describe('listProblems', () => {
  const cases: [string[], string][] = [
    [[], ''],
    [['a'], 'a'],
    [['a', 'b'], 'a; b'],
    [Array.from({ length: 10 }, (_, i) => `p${i}`), 'p0; p1; p2; p3; p4; p5; p6; p7; p8; p9'],
    [Array.from({ length: 11 }, (_, i) => `p${i}`), 'p0; p1; p2; p3; p4; p5; p6; p7; p8; p9; … and 1 more'],
  ];
  for (const [problems, expected] of cases) {
    it(`lists ${problems.length} problems`, () => assert.equal(listProblems(problems), expected));
  }
});
