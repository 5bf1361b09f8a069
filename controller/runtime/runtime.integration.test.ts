/**
 * The runtime's Kubernetes pieces against a real kube-apiserver + etcd (test/env): the informer cache with a
 * label selector, Events with their de-duplication, and leader election on a Lease (takeover after release,
 * stepping down when the Lease is taken or renewals stop working).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../test/env/control-plane.js';
import { eventSuffix, createEventRecorder } from './events.js';
import { watchObjects } from './informer.js';
import { startLeaderElection, type LeaderElection } from './leader-election.js';
import { createLogger, type Logger } from './logger.js';

/** A logger whose entries (without time) are kept for assertions. */
function memoryLog(): { log: Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        delete entry.time;
        entries.push(entry);
      }
      done();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'json', stream }), entries };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('runtime against a real kube-apiserver', () => {
  let cp: ControlPlane;
  let dir: string;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  const cleanups: Array<() => unknown> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-runtime-'));
    cp = await startControlPlane({ dir });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    for (const name of ['informer', 'events', 'leases']) await core.createNamespace({ body: { metadata: { name } } });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('informer: caches and reports ConfigMaps matching the label selector, and nothing else', async () => {
    const namespace = 'informer';
    const labels = { 'sigil.dev/test': 'yes' };
    const cm = (name: string, data: Record<string, string>, l?: Record<string, string>): k8s.V1ConfigMap => ({ metadata: { name, namespace, ...(l ? { labels: l } : {}) }, data });
    await core.createNamespacedConfigMap({ namespace, body: cm('pre', { v: '1' }, labels) });
    await core.createNamespacedConfigMap({ namespace, body: cm('other', { v: '1' }) });

    const { log } = memoryLog();
    const changes: string[] = [];
    const cache = watchObjects<k8s.V1ConfigMap>({
      kc,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      labelSelector: 'sigil.dev/test=yes',
      list: () => core.listNamespacedConfigMap({ namespace, labelSelector: 'sigil.dev/test=yes' }),
      onChange: (key) => changes.push(key),
      log,
    });
    cleanups.push(() => cache.stop());
    await cache.start();
    assert.equal(cache.synced(), true);
    assert.deepEqual(changes, ['informer/pre']);
    assert.deepEqual(cache.list().map((o) => [o.metadata?.name, o.data]), [['pre', { v: '1' }]]);
    assert.equal(cache.get('informer/other'), undefined);

    await core.createNamespacedConfigMap({ namespace, body: cm('b', { v: '1' }, labels) });
    await waitFor('add of b', () => changes.length === 2);
    await core.createNamespacedConfigMap({ namespace, body: cm('ignored', { v: '1' }) });
    await core.replaceNamespacedConfigMap({ name: 'b', namespace, body: cm('b', { v: '2' }, labels) });
    await waitFor('update of b', () => changes.length === 3);
    assert.deepEqual(cache.get('informer/b')?.data, { v: '2' });
    await core.deleteNamespacedConfigMap({ name: 'pre', namespace });
    await waitFor('delete of pre', () => changes.length === 4);
    // Gaining the label is an add, losing it a delete, as far as a selector's watch goes.
    await core.replaceNamespacedConfigMap({ name: 'other', namespace, body: cm('other', { v: '9' }, labels) });
    await waitFor('other joins', () => changes.length === 5);
    await core.replaceNamespacedConfigMap({ name: 'b', namespace, body: cm('b', { v: '3' }) });
    await waitFor('b leaves', () => changes.length === 6);
    await sleep(200);

    assert.deepEqual(changes, ['informer/pre', 'informer/b', 'informer/b', 'informer/pre', 'informer/other', 'informer/b']);
    assert.deepEqual(cache.list().map((o) => [o.metadata?.namespace, o.metadata?.name, o.data]), [['informer', 'other', { v: '9' }]]);
    assert.equal(cache.get('informer/b'), undefined);
    assert.equal(cache.get('informer/ignored'), undefined);
    assert.deepEqual(cache.get('informer/other')?.metadata?.labels, labels);
    cache.stop();
  });

  it('events: writes an Event, folds a repeat into count 2, starts anew after 10 minutes', async () => {
    const namespace = 'events';
    const target = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'evref', namespace } } });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'evref', namespace, uid: target.metadata!.uid! };
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000); // Event timestamps have whole seconds
    let now = t0;
    const { log, entries } = memoryLog();
    const recorder = createEventRecorder(kc, { component: 'sigil-controller', log, clock: () => now });
    const events = async (): Promise<k8s.CoreV1Event[]> =>
      (await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=evref' })).items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    const summary = (e: k8s.CoreV1Event): unknown[] => [
      e.metadata?.name,
      e.type,
      e.reason,
      e.message,
      e.count,
      e.firstTimestamp?.toISOString(),
      e.lastTimestamp?.toISOString(),
    ];

    await recorder.normal(ref, 'Unsealed', 'Secret events/evref written');
    const [first] = await events();
    // client-node returns model class instances: compare their JSON.
    assert.deepEqual(
      plain({
        involvedObject: first!.involvedObject,
        source: first!.source,
        reportingComponent: first!.reportingComponent,
        reportingInstance: first!.reportingInstance,
      }),
      {
        involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', name: 'evref', namespace, uid: ref.uid },
        source: { component: 'sigil-controller' },
        reportingComponent: 'sigil-controller',
        reportingInstance: hostname(),
      },
    );
    const name1 = `evref.${eventSuffix(t0, 0)}`;
    assert.deepEqual((await events()).map(summary), [[name1, 'Normal', 'Unsealed', 'Secret events/evref written', 1, t0.toISOString(), t0.toISOString()]]);

    const t1 = new Date(t0.getTime() + 5 * 60_000);
    now = t1;
    await Promise.all([recorder.normal(ref, 'Unsealed', 'Secret events/evref written'), recorder.warning(ref, 'NoKey', 'no sealing key opens it')]);
    const name2 = `evref.${eventSuffix(t1, 1)}`;
    assert.deepEqual((await events()).map(summary), [
      [name1, 'Normal', 'Unsealed', 'Secret events/evref written', 2, t0.toISOString(), t1.toISOString()],
      [name2, 'Warning', 'NoKey', 'no sealing key opens it', 1, t1.toISOString(), t1.toISOString()],
    ]);

    const t2 = new Date(t1.getTime() + 10 * 60_000 + 1000);
    now = t2;
    await recorder.normal(ref, 'Unsealed', 'Secret events/evref written');
    const name3 = `evref.${eventSuffix(t2, 2)}`;
    assert.deepEqual((await events()).map(summary).filter((s) => s[0] === name3), [[name3, 'Normal', 'Unsealed', 'Secret events/evref written', 1, t2.toISOString(), t2.toISOString()]]);
    assert.deepEqual(entries, []);
  });

  it('events: a failed write is logged, never thrown', async () => {
    const userKc = new k8s.KubeConfig();
    userKc.loadFromString(await cp.kubeconfigForUser('no-rights'));
    const { log, entries } = memoryLog();
    const recorder = createEventRecorder(userKc, { component: 'sigil-controller', log });
    await recorder.warning({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'events' }, 'NoKey', 'no key');
    assert.equal(entries.length, 1);
    const { err, ...rest } = entries[0]!;
    assert.deepEqual(rest, { level: 'warn', msg: 'event not recorded', event: { type: 'Warning', reason: 'NoKey' }, object: 'ConfigMap events/x' });
    assert.deepEqual(err, {
      name: 'Error',
      message: 'events is forbidden: User "no-rights" cannot create resource "events" in API group "" in the namespace "events"',
      status: 403,
      reason: 'Forbidden',
    });
  });

  describe('leader election', () => {
    const timing = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.25 };
    const lease = (name: string): Promise<k8s.V1Lease> => kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name, namespace: 'leases' });

    /** An elector with its callback counts and log. */
    function elector(identity: string, name: string, config = kc): { le: LeaderElection; started: number[]; stopped: number[]; entries: Array<Record<string, unknown>> } {
      const { log, entries } = memoryLog();
      const started: number[] = [];
      const stopped: number[] = [];
      const le = startLeaderElection({
        kc: config,
        namespace: 'leases',
        name,
        identity,
        ...timing,
        onStartedLeading: () => started.push(Date.now()),
        onStoppedLeading: () => stopped.push(Date.now()),
        log,
      });
      cleanups.push(() => le.stop());
      return { le, started, stopped, entries };
    }

    it('two candidates: exactly one leads; when it stops, the other takes over within a retry or two', async () => {
      const a = elector('a', 'pair');
      const b = elector('b', 'pair');
      await waitFor('a leader', () => a.le.isLeader() || b.le.isLeader());
      await sleep(1500); // several renewals: still one leader, never two
      const [leader, follower] = a.le.isLeader() ? [a, b] : [b, a];
      assert.deepEqual([leader.le.isLeader(), follower.le.isLeader()], [true, false]);
      assert.deepEqual([leader.started.length, leader.stopped.length, follower.started.length], [1, 0, 0]);
      const held = await lease('pair');
      assert.deepEqual([held.spec?.holderIdentity, held.spec?.leaseDurationSeconds, held.spec?.leaseTransitions], [leader === a ? 'a' : 'b', 3, 0]);

      const stoppedAt = Date.now();
      await leader.le.stop();
      assert.deepEqual([leader.le.isLeader(), leader.stopped.length], [false, 1]);
      const tookMs = await waitFor('the follower to lead', () => follower.le.isLeader(), 5000);
      assert.ok(Date.now() - stoppedAt < 2000, `takeover took ${tookMs} ms after release`);
      const taken = await lease('pair');
      assert.deepEqual([taken.spec?.holderIdentity, taken.spec?.leaseTransitions], [follower === a ? 'a' : 'b', 1]);
      assert.equal(follower.started.length, 1);
      await follower.le.stop();
      assert.equal((await lease('pair')).spec?.holderIdentity, '');
    });

    it('a leader steps down when the Lease is deleted and recreated by another holder', async () => {
      const c = elector('c', 'taken');
      await waitFor('c to lead', () => c.le.isLeader());
      const api = kc.makeApiClient(k8s.CoordinationV1Api);
      await waitFor('the intruder to hold the Lease', async () => {
        try {
          await api.deleteNamespacedLease({ name: 'taken', namespace: 'leases' });
        } catch {
          // already gone
        }
        try {
          const at = new k8s.V1MicroTime(Date.now());
          await api.createNamespacedLease({
            namespace: 'leases',
            body: { metadata: { name: 'taken', namespace: 'leases' }, spec: { holderIdentity: 'intruder', leaseDurationSeconds: 30, acquireTime: at, renewTime: at } },
          });
          return true;
        } catch {
          return false; // c recreated it in between: try again
        }
      });
      await waitFor('c to step down', () => !c.le.isLeader(), 5000);
      assert.deepEqual([c.started.length, c.stopped.length], [1, 1]);
      const down = c.entries.find((e) => e.msg === 'stopped leading');
      assert.ok(down && ['lease taken over', 'lease deleted'].includes(down.why as string), JSON.stringify(down));
      await sleep(1000); // a valid Lease of someone else is left alone
      assert.deepEqual([c.le.isLeader(), (await lease('taken')).spec?.holderIdentity], [false, 'intruder']);
    });

    it('a leader whose renewals fail steps down after renewDeadline', async () => {
      const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: 'leases',
        body: { metadata: { name: 'elector' }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: 'leases',
        body: { metadata: { name: 'elector' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'elector' }, subjects: [{ kind: 'User', name: 'elector-d', apiGroup: 'rbac.authorization.k8s.io' }] },
      });
      const userKc = new k8s.KubeConfig();
      userKc.loadFromString(await cp.kubeconfigForUser('elector-d'));
      const d = elector('d', 'revoked', userKc);
      await waitFor('d to lead', () => d.le.isLeader());
      const revokedAt = Date.now();
      await rbac.deleteNamespacedRoleBinding({ name: 'elector', namespace: 'leases' });
      await waitFor('d to step down', () => !d.le.isLeader(), 6000);
      const afterMs = d.stopped[0]! - revokedAt;
      // The last renewal may have started up to one retry period (250 ms) before the revocation.
      assert.ok(afterMs >= 1700 && afterMs <= 3500, `stepped down ${afterMs} ms after the revocation`);
      assert.deepEqual([d.started.length, d.stopped.length], [1, 1]);
      const failures = d.entries.filter((e) => e.msg === 'lease renewal failed');
      assert.ok(failures.length >= 3, `${failures.length} renewal failures logged`);
      assert.deepEqual((failures[0]!.err as { status: number; reason: string }).status, 403);
      assert.deepEqual(
        d.entries.filter((e) => e.msg === 'stopped leading').map((e) => e.why),
        ['renew deadline exceeded'],
      );
    });
  });
});
