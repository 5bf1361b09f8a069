// retryPolicy as a table and a property; then createSyncReconciler end to end against fakes: an in-memory
// cluster recording every call, a fixed clock and jitter, and the exact status each reconcile patches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StalledError, TransientError, WaitingError, type SigilError } from '../../shared/errors.js';
import { KubeRestError } from '../runtime/kube-rest.js';
import type { ApplicationResource, ApplicationSpec, ApplicationStatus, Condition, InventoryEntry } from './application.js';
import type { Cluster, KindInfo, KubeObject, ObjectId } from './cluster.js';
import { trackingId } from './plan.js';
import { createSyncReconciler, retryPolicy, type AppRef, type SyncDeps } from './reconciler.js';
import type { RenderedObject } from './render.js';

const SPEC: ApplicationSpec = {
  source: { repoURL: 'https://git.example.com/deploy.git', targetRevision: 'main', path: '' },
  destination: { namespace: 'team-a' },
  intervalMs: 180_000,
  retry: { limit: 3, durationMs: 5_000, factor: 2, maxDurationMs: 12_000 },
  allowPlaintextSecrets: false,
  suspend: false,
};

describe('retryPolicy', () => {
  const transient = new TransientError('ApplyFailed', 'deploy/app.yaml document 1: apply ConfigMap prod/a: HTTP 500 InternalError');
  const waits: [attempt: number, after: number][] = [
    [1, 5_000],
    [2, 10_000],
    [3, 12_000],
  ];
  for (const [attempt, after] of waits) {
    it(`a TransientError, attempt ${attempt} of 3: WaitingError after ${after} ms`, () => {
      const err = retryPolicy(transient, SPEC, attempt);
      assert.ok(err instanceof WaitingError);
      assert.deepEqual([err.reason, err.message, err.after, err.cause], ['ApplyFailed', transient.message, after, transient]);
    });
  }

  for (const attempt of [4, 10]) {
    it(`a TransientError, attempt ${attempt} of 3: StalledError until the interval`, () => {
      const err = retryPolicy(transient, SPEC, attempt);
      assert.ok(err instanceof StalledError);
      assert.deepEqual(
        [err.reason, err.message, err.cause],
        ['ApplyFailed', `${transient.message} (gave up after 3 retries; next try at the interval)`, transient],
      );
    });
  }

  it('a limit of 0 gives up at once', () => {
    const err = retryPolicy(transient, { ...SPEC, retry: { ...SPEC.retry, limit: 0 } }, 1);
    assert.ok(err instanceof StalledError);
    assert.equal(err.message, `${transient.message} (gave up after 0 retries; next try at the interval)`);
  });

  const unchanged: { name: string; err: SigilError; spec: ApplicationSpec | undefined }[] = [
    { name: 'a StalledError', err: new StalledError('InvalidRevision', 'x'), spec: SPEC },
    { name: 'a WaitingError', err: new WaitingError('WaveProgressing', 'x', 5_000), spec: SPEC },
    { name: 'a TransientError without a spec (it could not be read)', err: transient, spec: undefined },
  ];
  for (const c of unchanged) {
    it(`${c.name} is returned unchanged`, () => {
      for (const attempt of [1, 100]) assert.equal(retryPolicy(c.err, c.spec, attempt), c.err);
    });
  }

  it('waits min(maxDuration, duration·factor^(attempt−1)) up to the limit, then stalls (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 15 }),
        (limit, durationMs, factor, maxDurationMs, attempt) => {
          const err = retryPolicy(transient, { ...SPEC, retry: { limit, durationMs, factor, maxDurationMs } }, attempt);
          if (attempt > limit) {
            assert.ok(err instanceof StalledError);
            assert.ok(err.message.endsWith(`(gave up after ${limit} retries; next try at the interval)`));
          } else {
            assert.ok(err instanceof WaitingError);
            assert.equal(err.after, Math.min(maxDurationMs, durationMs * factor ** (attempt - 1)));
          }
        },
      ),
    );
  });
});

// ---- createSyncReconciler against fakes ----

const KEY = 'team-a/web';
const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const OLD_SHA = '1111111111111111111111111111111111111111';
const NOW = new Date('2030-01-02T03:04:05.678Z');
const TIME = '2030-01-02T03:04:05Z';
const EARLIER = '2030-01-01T00:00:00Z';
const LABEL = 'team-a.web';

const settings: InventoryEntry = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'settings' };
const old: InventoryEntry = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'old' };
const renderedSettings: RenderedObject = { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'fast' } }, source: 'deploy/app.yaml', index: 0 };

const idText = (id: ObjectId): string => `${id.kind} ${id.namespace ?? ''}/${id.name}`;

interface World {
  deps: SyncDeps;
  app: ApplicationResource;
  /** Cluster writes and reads, in order: `apply dry-run …`, `apply …`, `get …`, `delete …`. */
  calls: string[];
  store: Map<string, KubeObject>;
  patches: ApplicationStatus[];
  requeues: Array<[string, number]>;
  resolved: string[];
  observed: string[];
}

/** An Application team-a/web (generation 3) with `spec`, its previous `status`, and fakes for everything it reaches. */
function world(options: {
  spec: Record<string, unknown>;
  status?: ApplicationStatus;
  render?: () => Promise<RenderedObject[]>;
  live?: KubeObject[];
  /** Makes the real (not dry-run) apply fail with this error. */
  applyFails?: unknown;
}): World {
  const app: ApplicationResource = {
    apiVersion: 'sigil.dev/v1',
    kind: 'Application',
    metadata: { name: 'web', namespace: 'team-a', uid: 'uid-web', generation: 3 },
    spec: options.spec,
    ...(options.status ? { status: options.status } : {}),
  };
  const calls: string[] = [];
  const store = new Map<string, KubeObject>();
  for (const obj of options.live ?? []) store.set(idText({ ...obj, ...obj.metadata }), structuredClone(obj));
  let version = 100;
  const cluster = {
    async kind(apiVersion: string, kind: string): Promise<KindInfo | undefined> {
      return apiVersion === 'v1' && kind === 'ConfigMap' ? { plural: 'configmaps', namespaced: true } : undefined;
    },
    async apply(obj: KubeObject, dryRun?: boolean): Promise<KubeObject> {
      const id = idText({ ...obj, ...obj.metadata });
      calls.push(`apply ${dryRun ? 'dry-run ' : ''}${id}`);
      if (!dryRun && options.applyFails) throw options.applyFails;
      const result = structuredClone(obj);
      result.metadata = { ...result.metadata, resourceVersion: String(++version) };
      if (!dryRun) store.set(id, structuredClone(result));
      return result;
    },
    async get(id: ObjectId): Promise<KubeObject | undefined> {
      calls.push(`get ${idText(id)}`);
      return structuredClone(store.get(idText(id)));
    },
    async delete(id: ObjectId): Promise<boolean> {
      calls.push(`delete ${idText(id)}`);
      return store.delete(idText(id));
    },
  } as unknown as Cluster;
  const patches: ApplicationStatus[] = [];
  const requeues: Array<[string, number]> = [];
  const resolved: string[] = [];
  const observed: string[] = [];
  const deps: SyncDeps = {
    apps: { get: (key) => (key === KEY ? app : undefined) },
    target: async () => ({
      name: 'in-cluster',
      cluster,
      home: { get: async () => assert.fail('no Secret is read without spec.source.secretRef') } as unknown as Cluster,
      live: async (entry) => structuredClone(store.get(idText(entry))),
      watch: () => {},
      ping: async () => {},
    }),
    verify: async () => assert.fail('no commit is verified without spec.source.verify'),
    crossNamespaceRefs: true,
    async resolve(repoURL, revision, credentials, fresh) {
      resolved.push(`${repoURL} ${revision} ${credentials === undefined ? 'anonymous' : 'credentials'} ${fresh ? 'fresh' : 'cached'}`);
      return SHA;
    },
    render: async (repoURL, commit, path) => {
      assert.deepEqual([repoURL, commit, path], ['https://git.example.com/deploy.git', SHA, 'deploy']);
      return options.render ? options.render() : [structuredClone(renderedSettings)];
    },
    patchStatus: async (ref: AppRef, status: ApplicationStatus) => {
      assert.deepEqual(ref, { apiVersion: 'sigil.dev/v1', kind: 'Application', namespace: 'team-a', name: 'web', uid: 'uid-web' });
      // What the API server stores: JSON, so fields set to undefined are not there.
      const stored = JSON.parse(JSON.stringify(status)) as ApplicationStatus;
      patches.push(stored);
      app.status = stored;
    },
    requeue: (key, ms) => requeues.push([key, ms]),
    observer: {
      synced: (_app, revision, objects, pruned) => observed.push(`synced ${revision.slice(0, 7)} ${objects} ${pruned}`),
      drifted: (_app, drift, healing) => observed.push(`drifted ${drift.length} ${healing}`),
      failed: (_app, err) => observed.push(`failed ${err.reason}`),
      finished: (_app, result, reason) => observed.push(`finished ${result} ${reason}`),
    },
    clock: () => NOW,
    random: () => 0.5,
  };
  return { deps, app, calls, store, patches, requeues, resolved, observed };
}

const source = { repoURL: 'https://git.example.com/deploy.git', path: './deploy/' };
const automated = (policy: Record<string, boolean> = {}): Record<string, unknown> => ({ source, syncPolicy: { automated: policy } });

const conditions = (ready: boolean, reason: string, message: string, stalled = false, reconciling = false): Condition[] => [
  { type: 'Ready', status: ready ? 'True' : 'False', reason, message, lastTransitionTime: TIME, observedGeneration: 3 },
  { type: 'Reconciling', status: reconciling ? 'True' : 'False', reason: reconciling ? reason : 'Succeeded', message: reconciling ? message : 'reconciliation finished', lastTransitionTime: TIME, observedGeneration: 3 },
  { type: 'Stalled', status: stalled ? 'True' : 'False', reason: stalled ? reason : 'Succeeded', message: stalled ? message : 'not stalled', lastTransitionTime: TIME, observedGeneration: 3 },
];

/** A live ConfigMap `name` in team-a, tracked by `owner`. */
const liveConfigMap = (name: string, owner: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'team-a', resourceVersion: '7', annotations: { 'sigil.dev/tracking-id': owner } },
  data: {},
});

describe('createSyncReconciler', () => {
  it('first sync: dry-run then apply, Ready, Synced, inventory, history, requeue after the interval', async () => {
    const w = world({ spec: automated() });
    await createSyncReconciler(w.deps)(KEY);
    assert.deepEqual(w.resolved, ['https://git.example.com/deploy.git main anonymous cached']);
    assert.deepEqual(w.calls, ['apply dry-run ConfigMap team-a/settings', 'apply ConfigMap team-a/settings']);
    const message = 'applied revision abcdef0: 1 objects';
    assert.deepEqual(w.patches, [
      {
        sync: { status: 'Synced', revision: SHA },
        lastAttemptedRevision: SHA,
        inventory: [settings],
        lastAppliedRevision: SHA,
        drift: [],
        history: [{ revision: SHA, time: TIME, result: 'Succeeded', message }],
        observedGeneration: 3,
        conditions: conditions(true, 'Synced', message),
        health: { status: 'Healthy' },
      },
    ]);
    assert.deepEqual(w.requeues, [[KEY, 180_000]]);
    assert.deepEqual(w.observed, ['synced abcdef0 1 0', 'finished success Synced']);
    assert.deepEqual(w.store.get('ConfigMap team-a/settings'), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'settings',
        namespace: 'team-a',
        labels: { 'sigil.dev/app': LABEL },
        annotations: { 'sigil.dev/tracking-id': 'team-a.web:/ConfigMap:team-a/settings' },
        resourceVersion: '102',
      },
      data: { mode: 'fast' },
    });
  });

  it('the next reconcile with nothing changed applies nothing and reports the match', async () => {
    const w = world({ spec: automated() });
    const reconcile = createSyncReconciler(w.deps);
    await reconcile(KEY);
    await reconcile(KEY);
    assert.deepEqual(w.calls, ['apply dry-run ConfigMap team-a/settings', 'apply ConfigMap team-a/settings']);
    assert.equal(w.patches.length, 2);
    assert.deepEqual(w.patches[1]?.conditions, conditions(true, 'Synced', 'revision abcdef0 is applied and matches the cluster'));
    assert.deepEqual(w.patches[1]?.history, w.patches[0]?.history);
    assert.deepEqual(w.requeues, [
      [KEY, 180_000],
      [KEY, 180_000],
    ]);
  });

  it('a suspended Application: Ready False Suspended, health Suspended, nothing resolved or applied, no requeue', async () => {
    const w = world({ spec: { ...automated(), suspend: true } });
    await createSyncReconciler(w.deps)(KEY);
    assert.deepEqual(w.resolved, []);
    assert.deepEqual(w.calls, []);
    assert.deepEqual(w.patches, [
      {
        observedGeneration: 3,
        conditions: conditions(false, 'Suspended', 'spec.suspend is true'),
        health: { status: 'Suspended', message: 'spec.suspend is true: the engine does not sync or heal' },
      },
    ]);
    assert.deepEqual(w.requeues, []);
    assert.deepEqual(w.observed, ['finished success Suspended']);
  });

  it('a render failure: nothing applied, history Failed, Stalled, and the StalledError itself rejects', async () => {
    const boom = new StalledError('RenderFailed', 'deploy/app.yaml: line 3: bad indentation of a mapping entry');
    const w = world({ spec: automated(), render: () => Promise.reject(boom) });
    await assert.rejects(createSyncReconciler(w.deps)(KEY), (err: unknown) => err === boom);
    assert.deepEqual(w.calls, []);
    assert.deepEqual(w.patches, [
      {
        sync: { status: 'OutOfSync', revision: SHA },
        history: [{ revision: SHA, time: TIME, result: 'Failed', message: boom.message }],
        observedGeneration: 3,
        conditions: conditions(false, 'RenderFailed', boom.message, true),
        health: { status: 'Healthy' },
      },
    ]);
    assert.deepEqual(w.requeues, [[KEY, 180_000]]);
    assert.deepEqual(w.observed, ['failed RenderFailed', 'finished failure RenderFailed']);
  });

  it('an empty revision with applied objects: StalledError EmptyRevision, nothing deleted', async () => {
    const w = world({
      spec: automated({ prune: true }),
      status: { lastAppliedRevision: OLD_SHA, inventory: [old] },
      render: async () => [],
      live: [liveConfigMap('old', trackingId(LABEL, old))],
    });
    const message = 'revision abcdef0 renders no objects; 1 applied objects are kept (set spec.syncPolicy.automated.allowEmpty to prune them all)';
    await assert.rejects(createSyncReconciler(w.deps)(KEY), { name: 'StalledError', reason: 'EmptyRevision', message });
    assert.deepEqual(w.calls, []);
    assert.ok(w.store.has('ConfigMap team-a/old'));
    assert.deepEqual(w.patches, [
      {
        lastAppliedRevision: OLD_SHA,
        inventory: [old],
        sync: { status: 'OutOfSync', revision: SHA },
        history: [{ revision: SHA, time: TIME, result: 'Failed', message }],
        observedGeneration: 3,
        conditions: conditions(false, 'EmptyRevision', message, true),
        health: { status: 'Healthy' },
      },
    ]);
  });

  it('a transient apply failure: WaitingError after the retry backoff, history Failed, Reconciling', async () => {
    const failure = new KubeRestError(500, { reason: 'InternalError', message: 'etcdserver: request timed out' }, 'PATCH /api/v1/namespaces/team-a/configmaps/settings');
    const w = world({ spec: automated(), applyFails: failure });
    const reconcile = createSyncReconciler(w.deps);
    const message = 'deploy/app.yaml document 1: apply ConfigMap team-a/settings: HTTP 500 InternalError: etcdserver: request timed out';
    await assert.rejects(reconcile(KEY), (err: unknown) => {
      assert.ok(err instanceof WaitingError);
      assert.deepEqual([err.reason, err.message, err.after], ['ApplyFailed', message, 5_000]);
      return true;
    });
    assert.deepEqual(w.patches[0]?.conditions, conditions(false, 'ApplyFailed', message, false, true));
    assert.deepEqual(w.patches[0]?.history, [{ revision: SHA, time: TIME, result: 'Failed', message }]);
    assert.equal(w.patches[0]?.lastAppliedRevision, undefined);
    // The second consecutive failure waits twice as long.
    await assert.rejects(reconcile(KEY), { name: 'WaitingError', after: 10_000 });
  });

  const prunes: { name: string; policy: Record<string, boolean>; owner: string; calls: string[]; inventory: InventoryEntry[]; sync: 'Synced' | 'OutOfSync'; message: string; deleted: boolean }[] = [
    {
      name: 'prune on, tracked by this Application: deleted',
      policy: { prune: true },
      owner: trackingId(LABEL, old),
      calls: ['get ConfigMap team-a/old', 'delete ConfigMap team-a/old'],
      inventory: [settings],
      sync: 'Synced',
      message: 'applied revision abcdef0: 1 objects, 1 pruned',
      deleted: true,
    },
    {
      name: 'prune on, tracked by another Application: released, not deleted',
      policy: { prune: true },
      owner: trackingId('team-b.web', old),
      calls: ['get ConfigMap team-a/old'],
      inventory: [settings],
      sync: 'Synced',
      message: 'applied revision abcdef0: 1 objects',
      deleted: false,
    },
    {
      name: 'prune off: kept in the inventory, OutOfSync',
      policy: {},
      owner: trackingId(LABEL, old),
      calls: [],
      inventory: [settings, old],
      sync: 'OutOfSync',
      message: 'applied revision abcdef0: 1 objects, 1 not pruned (prune is off)',
      deleted: false,
    },
  ];
  for (const c of prunes) {
    it(`an object no longer rendered, ${c.name}`, async () => {
      const w = world({ spec: automated(c.policy), status: { lastAppliedRevision: OLD_SHA, inventory: [old] }, live: [liveConfigMap('old', c.owner)] });
      await createSyncReconciler(w.deps)(KEY);
      assert.deepEqual(w.calls, ['apply dry-run ConfigMap team-a/settings', 'apply ConfigMap team-a/settings', ...c.calls]);
      assert.equal(w.store.has('ConfigMap team-a/old'), !c.deleted);
      const status = w.patches[0];
      assert.deepEqual(status?.inventory, c.inventory);
      assert.deepEqual(status?.sync, { status: c.sync, revision: SHA });
      assert.deepEqual(status?.history, [{ revision: SHA, time: TIME, result: 'Succeeded', message: c.message }]);
      assert.deepEqual(status?.conditions, conditions(true, 'Synced', c.message));
    });
  }

  it('keeps lastTransitionTime of conditions whose status did not flip', async () => {
    const previous: Condition[] = conditions(true, 'Synced', 'old').map((c) => ({ ...c, lastTransitionTime: EARLIER, observedGeneration: 2 }));
    const w = world({ spec: automated(), status: { conditions: previous } });
    await createSyncReconciler(w.deps)(KEY);
    assert.deepEqual(
      w.patches[0]?.conditions?.map((c) => c.lastTransitionTime),
      [EARLIER, EARLIER, EARLIER],
    );
  });

  it('an Application that is gone (or has no uid) is forgotten: nothing read, written or requeued', async () => {
    const w = world({ spec: automated() });
    await createSyncReconciler(w.deps)('team-a/other');
    delete w.app.metadata!.uid;
    await createSyncReconciler(w.deps)(KEY);
    assert.deepEqual([w.resolved, w.calls, w.patches, w.requeues, w.observed], [[], [], [], [], []]);
  });
});
