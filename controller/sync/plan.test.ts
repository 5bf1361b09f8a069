// planObjects against a fake discovery: the exact planned objects (namespace, label, tracking annotation,
// status dropped), the exact refusal message listing every problem, CRDs and Namespaces of the same
// revision; then trackingId, sameObject and entryOf as tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StalledError } from '../../shared/errors.js';
import type { InventoryEntry } from './application.js';
import type { Cluster, KindInfo, KubeObject } from './cluster.js';
import { entryOf, planObjects, sameObject, trackingId, type PlannedObject } from './plan.js';
import type { RenderedObject } from './render.js';

/** What the fake API server serves, by `apiVersion|kind`. */
const SERVED: Record<string, KindInfo> = {
  'v1|ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1|Namespace': { plural: 'namespaces', namespaced: false },
  'apps/v1|Deployment': { plural: 'deployments', namespaced: true },
  'apps/v1beta2|Deployment': { plural: 'deployments', namespaced: true },
  'rbac.authorization.k8s.io/v1|ClusterRole': { plural: 'clusterroles', namespaced: false },
  'apiextensions.k8s.io/v1|CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
  'sigil.dev/v1|SealedSecret': { plural: 'sealedsecrets', namespaced: true },
};

/** A Cluster that only answers discovery, and records what it was asked. */
function fakeCluster(): { cluster: Cluster; asked: string[] } {
  const asked: string[] = [];
  const cluster = {
    async kind(apiVersion: string, kind: string): Promise<KindInfo | undefined> {
      asked.push(`${apiVersion}|${kind}`);
      return SERVED[`${apiVersion}|${kind}`];
    },
  } as unknown as Cluster;
  return { cluster, asked };
}

const APP = { namespace: 'team-a', name: 'web' };
const LABEL = 'team-a.web';

async function plan(rendered: RenderedObject[], allowPlaintextSecrets = false): Promise<PlannedObject[]> {
  return planObjects(rendered, { cluster: fakeCluster().cluster, app: APP, defaultNamespace: 'prod', policy: { allowPlaintextSecrets } });
}

const at = (object: Record<string, unknown>, source = 'deploy/app.yaml', index = 0): RenderedObject => ({ object, source, index });
const configMap = (name: string, namespace?: string, more: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  data: { mode: 'fast' },
  ...more,
});
const crd = (scope: string, versions = ['v1']): Record<string, unknown> => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope, versions: versions.map((name) => ({ name, served: true, storage: name === versions[0] })) },
});
const widget = (name: string, apiVersion = 'example.com/v1', namespace?: string): Record<string, unknown> => ({
  apiVersion,
  kind: 'Widget',
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  spec: { size: 3 },
});

/** Asserts that planning `rendered` throws StalledError('InvalidRevision') with exactly `message`. */
async function refused(rendered: RenderedObject[], message: string): Promise<void> {
  await assert.rejects(plan(rendered), (err: unknown) => {
    assert.ok(err instanceof StalledError, `not a StalledError: ${String(err)}`);
    assert.equal(err.reason, 'InvalidRevision');
    assert.equal(err.message, message);
    return true;
  });
}

describe('planObjects plans', () => {
  it('a ConfigMap without namespace: into the destination namespace, labelled, tracked', async () => {
    assert.deepEqual(await plan([at(configMap('settings'))]), [
      {
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'settings',
            namespace: 'prod',
            labels: { 'sigil.dev/app': 'team-a.web' },
            annotations: { 'sigil.dev/tracking-id': 'team-a.web:/ConfigMap:prod/settings' },
          },
          data: { mode: 'fast' },
        },
        source: 'deploy/app.yaml document 1',
        namespaced: true,
        newKind: false,
        newNamespace: false,
        apiVersion: 'v1',
        kind: 'ConfigMap',
        annotations: { 'sigil.dev/tracking-id': 'team-a.web:/ConfigMap:prod/settings' },
      },
    ]);
  });

  it('a Deployment with its own namespace, labels, annotations and status: keeps them, adds ours, drops status', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        labels: { app: 'web', 'sigil.dev/app': 'someone-else.app' },
        annotations: { 'sigil.dev/sync-wave': '2', note: 'hi', 'sigil.dev/tracking-id': 'forged' },
      },
      spec: { replicas: 2 },
      status: { replicas: 1 },
    };
    const annotations = { 'sigil.dev/sync-wave': '2', note: 'hi', 'sigil.dev/tracking-id': 'team-a.web:apps/Deployment:shop/web' };
    assert.deepEqual(await plan([at(deployment, 'kustomize deploy', 4)]), [
      {
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', 'sigil.dev/app': LABEL }, annotations },
          spec: { replicas: 2 },
        },
        source: 'kustomize deploy document 5',
        namespaced: true,
        newKind: false,
        newNamespace: false,
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        annotations,
      },
    ]);
  });

  it('a cluster-scoped object: its namespace is dropped, also from the tracking id', async () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader', namespace: 'prod' }, rules: [] };
    const [planned] = await plan([at(role)]);
    assert.deepEqual(planned?.object, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'reader', labels: { 'sigil.dev/app': LABEL }, annotations: { 'sigil.dev/tracking-id': 'team-a.web:rbac.authorization.k8s.io/ClusterRole:/reader' } },
      rules: [],
    });
    assert.equal(planned?.namespaced, false);
  });

  it('a ConfigMap with an empty namespace: the destination namespace', async () => {
    const [planned] = await plan([at(configMap('a', ''))]);
    assert.equal(planned?.object.metadata.namespace, 'prod');
  });

  it('does not change the rendered objects', async () => {
    const rendered = [at(configMap('settings', undefined, { status: { x: 1 } })), at({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', namespace: 'x' } }, 'ns.yaml')];
    const before = structuredClone(rendered);
    const planned = await plan(rendered);
    assert.deepEqual(rendered, before);
    assert.notEqual(planned[0]?.object, rendered[0]?.object);
  });

  it('keeps the input order and names each source with its 1-based document number', async () => {
    const planned = await plan([at(configMap('b'), 'z.yaml', 2), at(configMap('a'), 'a.yaml', 0), at(configMap('c'), 'a.yaml', 1)]);
    assert.deepEqual(
      planned.map((p) => `${p.object.metadata.name} ${p.source}`),
      ['b z.yaml document 3', 'a a.yaml document 1', 'c a.yaml document 2'],
    );
  });

  it('nothing from nothing', async () => {
    assert.deepEqual(await plan([]), []);
  });

  it('objects in a Namespace of the same revision are newNamespace; others and the Namespace itself are not', async () => {
    const planned = await plan([
      at({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, 'ns.yaml'),
      at(configMap('in-shop', 'shop')),
      at(configMap('in-prod', 'prod')),
      at(configMap('defaulted')),
      at({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'shop', namespace: 'shop' } }),
    ]);
    assert.deepEqual(
      planned.map((p) => [p.kind, p.object.metadata.name, p.newNamespace]),
      [
        ['Namespace', 'shop', false],
        ['ConfigMap', 'in-shop', true],
        ['ConfigMap', 'in-prod', false],
        ['ConfigMap', 'defaulted', false],
        ['ClusterRole', 'shop', false],
      ],
    );
  });

  it('a destination namespace created by the same revision makes defaulted objects newNamespace', async () => {
    const planned = await plan([at({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod' } }), at(configMap('defaulted'))]);
    assert.deepEqual(
      planned.map((p) => [p.object.metadata.namespace, p.newNamespace]),
      [
        [undefined, false],
        ['prod', true],
      ],
    );
  });

  const crdCases: { name: string; crd: Record<string, unknown>; widget: Record<string, unknown>; namespace: string | undefined; namespaced: boolean }[] = [
    { name: 'a namespaced CRD: its objects get the destination namespace', crd: crd('Namespaced'), widget: widget('w'), namespace: 'prod', namespaced: true },
    { name: 'a namespaced CRD: an object keeps its own namespace', crd: crd('Namespaced'), widget: widget('w', 'example.com/v1', 'shop'), namespace: 'shop', namespaced: true },
    { name: 'a cluster-scoped CRD: its objects lose their namespace', crd: crd('Cluster'), widget: widget('w', 'example.com/v1', 'shop'), namespace: undefined, namespaced: false },
    { name: 'a CRD with two versions: either is known', crd: crd('Namespaced', ['v1', 'v2']), widget: widget('w', 'example.com/v2'), namespace: 'prod', namespaced: true },
  ];
  for (const c of crdCases) {
    it(c.name, async () => {
      const planned = await plan([at(c.widget, 'widgets.yaml'), at(c.crd, 'crds.yaml')]);
      assert.deepEqual(
        planned.map((p) => ({ kind: p.kind, namespace: p.object.metadata.namespace, namespaced: p.namespaced, newKind: p.newKind })),
        [
          { kind: 'Widget', namespace: c.namespace, namespaced: c.namespaced, newKind: true },
          { kind: 'CustomResourceDefinition', namespace: undefined, namespaced: false, newKind: false },
        ],
      );
      assert.equal(planned[0]?.object.metadata.annotations?.['sigil.dev/tracking-id'], `team-a.web:example.com/Widget:${c.namespace ?? ''}/w`);
    });
  }

  it('a kind the API server serves is not new, even when a CRD of the revision defines it too', async () => {
    const sealed = { apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', metadata: { name: 'db' }, spec: { encryptedData: {} } };
    const sealedCrd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'sealedsecrets.sigil.dev' },
      spec: { group: 'sigil.dev', names: { kind: 'SealedSecret' }, scope: 'Cluster', versions: [{ name: 'v1' }] },
    };
    const [planned] = await plan([at(sealed), at(sealedCrd)]);
    assert.deepEqual([planned?.newKind, planned?.namespaced, planned?.object.metadata.namespace], [false, true, 'prod']);
  });

  it('asks discovery for each object, in order', async () => {
    const { cluster, asked } = fakeCluster();
    await planObjects([at(configMap('a')), at(widget('w')), at(crd('Namespaced'))], { cluster, app: APP, defaultNamespace: 'prod', policy: { allowPlaintextSecrets: false } });
    assert.deepEqual(asked, ['v1|ConfigMap', 'example.com/v1|Widget', 'apiextensions.k8s.io/v1|CustomResourceDefinition']);
  });
});

describe('planObjects refuses', () => {
  it('a kind the API server does not serve and no CRD of the revision defines', async () => {
    await refused([at(widget('w'), 'widgets.yaml', 1)], 'widgets.yaml document 2: the API server has no kind Widget in example.com/v1');
  });

  it('a version the CRD of the revision does not define', async () => {
    await refused([at(crd('Namespaced')), at(widget('w', 'example.com/v3'), 'widgets.yaml')], 'widgets.yaml document 1: the API server has no kind Widget in example.com/v3');
  });

  it('a CRD that is not of apiextensions.k8s.io defines nothing', async () => {
    const fake = { ...crd('Namespaced'), apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-a-crd' } };
    await refused([at(fake), at(widget('w'), 'widgets.yaml')], 'widgets.yaml document 1: the API server has no kind Widget in example.com/v1');
  });

  const duplicates: { name: string; rendered: RenderedObject[]; message: string }[] = [
    {
      name: 'the same ConfigMap twice',
      rendered: [at(configMap('a', 'shop'), 'a.yaml', 0), at(configMap('a', 'shop'), 'b.yaml', 1)],
      message: 'b.yaml document 2: ConfigMap shop/a is also defined in a.yaml document 1',
    },
    {
      name: 'a ConfigMap once defaulted, once in the destination namespace',
      rendered: [at(configMap('a'), 'a.yaml', 0), at(configMap('a', 'prod'), 'b.yaml', 0)],
      message: 'b.yaml document 1: ConfigMap prod/a is also defined in a.yaml document 1',
    },
    {
      name: 'one Deployment in two versions of its group',
      rendered: [
        at({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } }, 'a.yaml', 0),
        at({ apiVersion: 'apps/v1beta2', kind: 'Deployment', metadata: { name: 'web' } }, 'a.yaml', 1),
      ],
      message: 'a.yaml document 2: Deployment.apps prod/web is also defined in a.yaml document 1',
    },
    {
      name: 'a ClusterRole in two namespaces (which it has not)',
      rendered: [
        at({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader', namespace: 'x' } }, 'a.yaml', 0),
        at({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader', namespace: 'y' } }, 'b.yaml', 0),
      ],
      message: 'b.yaml document 1: ClusterRole.rbac.authorization.k8s.io reader is also defined in a.yaml document 1',
    },
  ];
  for (const c of duplicates) {
    it(c.name, () => refused(c.rendered, c.message));
  }

  it('the same name in two namespaces, or of two kinds, is no duplicate', async () => {
    const planned = await plan([at(configMap('a', 'x')), at(configMap('a', 'y')), at({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a', namespace: 'x' } })]);
    assert.equal(planned.length, 3);
  });

  it('every problem in one message, in input order, duplicates naming the first source each time', async () => {
    await refused(
      [
        at(configMap('a'), 'a.yaml', 0),
        at(widget('w'), 'w.yaml', 0),
        at(configMap('a'), 'b.yaml', 0),
        at({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } }, 'w.yaml', 1),
        at(configMap('a', 'prod'), 'c.yaml', 3),
      ],
      [
        'w.yaml document 1: the API server has no kind Widget in example.com/v1',
        'b.yaml document 1: ConfigMap prod/a is also defined in a.yaml document 1',
        'w.yaml document 2: the API server has no kind Gadget in example.com/v1',
        'c.yaml document 4: ConfigMap prod/a is also defined in a.yaml document 1',
      ].join('; '),
    );
  });

  it('the static problems first, before asking discovery', async () => {
    const { cluster, asked } = fakeCluster();
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: 'aHVudGVyMg==' } };
    await assert.rejects(planObjects([at(secret), at(widget('w'))], { cluster, app: APP, defaultNamespace: 'prod', policy: { allowPlaintextSecrets: false } }), {
      name: 'StalledError',
      reason: 'InvalidRevision',
      message: 'deploy/app.yaml document 1: Secret db: plain Secrets are refused in Git (seal it with seal, or set spec.policy.allowPlaintextSecrets)',
    });
    assert.deepEqual(asked, []);
  });
});

describe('trackingId', () => {
  const cases: [InventoryEntry, string][] = [
    [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'settings' }, 'team-a.web:/ConfigMap:prod/settings'],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'web' }, 'team-a.web:apps/Deployment:prod/web'],
    [{ apiVersion: 'apps/v1beta2', kind: 'Deployment', namespace: 'prod', name: 'web' }, 'team-a.web:apps/Deployment:prod/web'],
    [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'reader' }, 'team-a.web:rbac.authorization.k8s.io/ClusterRole:/reader'],
  ];
  for (const [entry, want] of cases) {
    it(want, () => assert.equal(trackingId(LABEL, entry), want));
  }
});

describe('sameObject', () => {
  const cm: InventoryEntry = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'a' };
  const deploy: InventoryEntry = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'web' };
  const role: InventoryEntry = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'reader' };
  const cases: { name: string; a: InventoryEntry; b: InventoryEntry; same: boolean }[] = [
    { name: 'itself', a: cm, b: { ...cm }, same: true },
    { name: 'another version of the same group', a: deploy, b: { ...deploy, apiVersion: 'apps/v1beta2' }, same: true },
    { name: 'another group', a: deploy, b: { ...deploy, apiVersion: 'extensions/v1beta1' }, same: false },
    { name: 'another kind', a: cm, b: { ...cm, kind: 'Secret' }, same: false },
    { name: 'another namespace', a: cm, b: { ...cm, namespace: 'shop' }, same: false },
    { name: 'another name', a: cm, b: { ...cm, name: 'b' }, same: false },
    { name: 'no namespace and an empty one', a: role, b: { ...role, namespace: '' }, same: true },
    { name: 'no namespace and a namespace', a: role, b: { ...role, namespace: 'prod' }, same: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(sameObject(c.a, c.b), c.same);
      assert.equal(sameObject(c.b, c.a), c.same);
    });
  }
});

describe('entryOf', () => {
  const cases: { name: string; obj: KubeObject; want: InventoryEntry }[] = [
    {
      name: 'a namespaced object, without its other fields',
      obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'prod', labels: { x: 'y' } }, data: { k: 'v' } },
      want: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'a' },
    },
    { name: 'a cluster-scoped object', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, want: { apiVersion: 'v1', kind: 'Namespace', name: 'shop' } },
    { name: 'an empty namespace is none', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', namespace: '' } }, want: { apiVersion: 'v1', kind: 'Namespace', name: 'shop' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const entry = entryOf(c.obj);
      assert.deepEqual(entry, c.want);
      assert.equal('namespace' in entry, 'namespace' in c.want);
    });
  }
});
