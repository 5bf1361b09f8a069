/**
 * watchObjects around client-node's real ListWatch, with a scripted Watch in place of the HTTP one: what
 * the cache holds, which keys are reported, and how it restarts after errors (the fake clock moves time).
 * The same code against a real kube-apiserver is in runtime.integration.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { createFakeClock, settle } from './fake-clock.js';
import { objectKey, watchObjects } from './informer.js';
import { createLogger } from './logger.js';

type Obj = k8s.V1ConfigMap;
type Callback = (phase: string, obj: unknown, watchObj?: unknown) => void;

interface WatchCall {
  path: string;
  query: Record<string, unknown>;
  event: Callback;
  done: (err: unknown) => void;
}

/** Stands in for client-node's Watch: records each watch and lets the test drive it. */
class ScriptedWatch {
  readonly calls: WatchCall[] = [];

  async watch(path: string, query: Record<string, unknown>, event: Callback, done: (err: unknown) => void): Promise<AbortController> {
    this.calls.push({ path, query: { ...query }, event, done });
    return new AbortController();
  }

  get last(): WatchCall {
    return this.calls[this.calls.length - 1]!;
  }
}

const cm = (name: string, namespace: string | undefined, rv: string, data = 'x'): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace ? { namespace } : {}), resourceVersion: rv },
  data: { v: data },
});

function setup(lists: Array<Obj[] | Error>) {
  const clock = createFakeClock(0);
  const watch = new ScriptedWatch();
  const changes: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  let listCalls = 0;
  const log = createLogger({
    level: 'debug',
    format: 'json',
    clock: () => new Date(clock.now()),
    stream: new Writable({
      write(chunk: Buffer, _e, done) {
        const entry = JSON.parse(chunk.toString('utf8')) as Record<string, unknown>;
        delete entry.time;
        logs.push(entry);
        done();
      },
    }),
  });
  const cache = watchObjects<Obj>({
    kc: new k8s.KubeConfig(),
    path: '/api/v1/configmaps',
    labelSelector: 'sigil.dev/test=yes',
    list: async () => {
      const next = lists[Math.min(listCalls++, lists.length - 1)]!;
      if (next instanceof Error) throw next;
      return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(10 * listCalls) }, items: next };
    },
    onChange: (key) => changes.push(key),
    log,
    clock,
    makeInformer: (_kc, path, list, labelSelector) => new k8s.ListWatch<Obj>(path, watch as unknown as k8s.Watch, list, false, labelSelector),
  });
  return { clock, watch, changes, logs, cache, listCalls: () => listCalls };
}

describe('watchObjects', () => {
  it('lists, caches by key, reports every change, and watches from the list resourceVersion', async () => {
    const t = setup([[cm('a', 'ns1', '1'), cm('b', 'ns2', '2'), cm('c', undefined, '3')]]);
    assert.equal(t.cache.synced(), false);
    await t.cache.start();
    assert.equal(t.cache.synced(), true);
    assert.deepEqual(t.changes, ['ns1/a', 'ns2/b', 'c']);
    assert.deepEqual(t.cache.list().map(objectKey), ['c', 'ns1/a', 'ns2/b']);
    assert.deepEqual(t.cache.get('ns1/a'), cm('a', 'ns1', '1'));
    assert.deepEqual(t.cache.get('c'), cm('c', undefined, '3'));
    assert.equal(t.cache.get('a'), undefined);
    assert.equal(t.cache.get('ns2/a'), undefined);
    assert.deepEqual(
      t.watch.calls.map((c) => [c.path, c.query]),
      [['/api/v1/configmaps', { resourceVersion: '10', labelSelector: 'sigil.dev/test=yes' }]],
    );

    t.watch.last.event('MODIFIED', cm('a', 'ns1', '11', 'changed'));
    t.watch.last.event('MODIFIED', cm('a', 'ns1', '11', 'changed')); // same resourceVersion: not a change
    t.watch.last.event('ADDED', cm('d', 'ns1', '12'));
    t.watch.last.event('DELETED', cm('b', 'ns2', '13'));
    assert.deepEqual(t.changes.slice(3), ['ns1/a', 'ns1/d', 'ns2/b']);
    assert.deepEqual(t.cache.get('ns1/a')?.data, { v: 'changed' });
    assert.deepEqual(t.cache.list().map(objectKey), ['c', 'ns1/a', 'ns1/d']);
    t.cache.stop();
  });

  it('restarts after a watch error, with backoff, resuming from the last resourceVersion', async () => {
    const t = setup([[cm('a', 'ns1', '1')]]);
    await t.cache.start();
    t.watch.last.event('MODIFIED', cm('a', 'ns1', '15'));
    t.watch.last.done(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
    await settle();
    assert.deepEqual(t.clock.pending(), [1000]);
    assert.deepEqual(t.logs, [
      { level: 'debug', msg: 'cache synced', watch: '/api/v1/configmaps', labelSelector: 'sigil.dev/test=yes', objects: 1 },
      {
        level: 'warn',
        msg: 'watch failed; restarting',
        watch: '/api/v1/configmaps',
        labelSelector: 'sigil.dev/test=yes',
        err: { name: 'Error', message: 'Internal Server Error', status: 500 },
        attempt: 1,
        delayMs: 1000,
      },
    ]);
    await t.clock.advance(999);
    assert.equal(t.watch.calls.length, 1);
    await t.clock.advance(1);
    assert.equal(t.watch.calls.length, 2);
    assert.deepEqual(t.watch.last.query, { resourceVersion: '15', labelSelector: 'sigil.dev/test=yes' });
    assert.equal(t.listCalls(), 1);
    assert.deepEqual(t.clock.pending(), []);

    // Succeeded, so the next failure starts from the first delay again.
    t.watch.last.done(new Error('socket hang up'));
    await settle();
    assert.deepEqual(t.clock.pending(), [2000]);
    t.cache.stop();
    assert.deepEqual(t.clock.pending(), []);
  });

  it('relists after 410 Gone, reporting objects that vanished meanwhile', async () => {
    const t = setup([[cm('a', 'ns1', '1'), cm('b', 'ns1', '2')], [cm('a', 'ns1', '1')]]);
    await t.cache.start();
    t.changes.length = 0;
    t.watch.last.event('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    t.watch.last.done(null);
    await settle();
    assert.equal(t.listCalls(), 2);
    assert.deepEqual(t.changes, ['ns1/b']);
    assert.deepEqual(t.cache.list().map(objectKey), ['ns1/a']);
    assert.deepEqual(t.watch.last.query, { resourceVersion: '20', labelSelector: 'sigil.dev/test=yes' });
    t.cache.stop();
  });

  it('keeps retrying a failing first list (1 s, 2 s, …) and resolves start once it succeeds', async () => {
    const t = setup([new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'), [cm('a', 'ns1', '1')]]);
    let synced = false;
    const started = t.cache.start().then(() => {
      synced = true;
    });
    await settle();
    assert.deepEqual([synced, t.listCalls(), t.clock.pending()], [false, 1, [1000]]);
    await t.clock.advance(1000);
    assert.deepEqual([synced, t.listCalls(), t.clock.pending()], [false, 2, [3000]]);
    await t.clock.advance(2000);
    await started;
    assert.deepEqual([synced, t.listCalls(), t.clock.pending(), t.cache.synced()], [true, 3, [], true]);
    assert.deepEqual(
      t.logs.filter((l) => l.level === 'warn').map((l) => [l.attempt, l.delayMs]),
      [
        [1, 1000],
        [2, 2000],
      ],
    );
    t.cache.stop();
  });

  it('rejects start when stopped before the first list, and logs what onChange throws', async () => {
    const t = setup([new Error('down')]);
    const started = t.cache.start();
    await settle();
    t.cache.stop();
    await assert.rejects(started, { name: 'TransientError', reason: 'InformerStopped', message: 'watch of /api/v1/configmaps stopped before its first list' });
    assert.deepEqual(t.clock.pending(), []);

    const u = setup([[cm('a', 'ns1', '1')]]);
    const cache = watchObjects<Obj>({
      kc: new k8s.KubeConfig(),
      path: '/x',
      list: async () => ({ items: [cm('a', 'ns1', '1')], metadata: { resourceVersion: '1' } }),
      onChange: () => {
        throw new Error('handler bug');
      },
      log: createLogger({ level: 'info', format: 'json', stream: new Writable({ write: (c: Buffer, _e, d) => (u.logs.push(JSON.parse(c.toString())), d()) }) }),
      makeInformer: (_kc, path, list) => new k8s.ListWatch<Obj>(path, u.watch as unknown as k8s.Watch, list, false),
    });
    await cache.start();
    assert.deepEqual(
      u.logs.map((l) => [l.msg, l.object, l.err]),
      [['change handler failed', 'ns1/a', { name: 'Error', message: 'handler bug' }]],
    );
    cache.stop();
  });
});
