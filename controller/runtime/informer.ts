/**
 * A list-and-watch cache of one kind of object, on client-node's informer (`makeInformer`), made to keep
 * going: client-node's informer stops for good on the first error (a failed list, a refused or broken watch),
 * so this one restarts it after a backoff (1 s doubling to 30 s, reset once a start succeeds), logging each
 * failure. A restart resumes the watch from the last resourceVersion; client-node relists after a 410 Gone.
 *
 * Objects are keyed `namespace/name`, or `name` for cluster-scoped ones; every add, update (a new
 * resourceVersion) and delete, including those a relist finds, is reported as `onChange(key)`.
 */
import * as k8s from '@kubernetes/client-node';
import { TransientError } from '../../shared/errors.js';
import { apiErrorFields } from './api-errors.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { backoff } from './backoff.js';

/** The cache `watchObjects` returns. */
export interface ObjectCache<T> {
  /** Lists, watches, and resolves once the first list is in the cache; rejects if stopped before that. */
  start(): Promise<void>;
  /** The object with key `namespace/name` (or `name`), as last seen. */
  get(key: string): T | undefined;
  /** Every cached object, ordered by key. */
  list(): T[];
  /** Whether the first list has been cached (stays true afterwards). */
  synced(): boolean;
  /** Stops watching and cancels any pending restart; a stopped cache does not start again. */
  stop(): void;
}

/** What to watch and whom to tell. */
export interface WatchObjectsOptions<T extends k8s.KubernetesObject> {
  kc: k8s.KubeConfig;
  /** Collection path, e.g. `/apis/sigil.dev/v1/sealedsecrets` or `/api/v1/namespaces/NS/secrets`. */
  path: string;
  /** Lists the same collection (with the same label selector). */
  list: () => Promise<k8s.KubernetesListObject<T>>;
  labelSelector?: string;
  onChange: (key: string) => void;
  log: Logger;
  /** First restart delay (default 1000 ms); it doubles per consecutive failure up to `maxRestartDelayMs`. */
  restartDelayMs?: number;
  /** Default 30 000 ms. */
  maxRestartDelayMs?: number;
  clock?: Clock;
  /** Seam for tests: builds the informer (default client-node's makeInformer). */
  makeInformer?: (kc: k8s.KubeConfig, path: string, list: k8s.ListPromise<T>, labelSelector?: string) => k8s.Informer<T> & k8s.ObjectCache<T>;
}

/** The cache key of `obj`: `namespace/name`, or `name` when it has no namespace. */
export function objectKey(obj: k8s.KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

/**
 * A cache of the objects at `path` matching `labelSelector`, kept current by a watch that restarts itself.
 * Nothing is listed until `start()`. Never throws; `onChange` errors are logged.
 */
export function watchObjects<T extends k8s.KubernetesObject>(options: WatchObjectsOptions<T>): ObjectCache<T> {
  const clock = options.clock ?? systemClock;
  const base = options.restartDelayMs ?? 1000;
  const max = options.maxRestartDelayMs ?? 30_000;
  const log = options.log.child({ watch: options.path, ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}) });
  const informer = (options.makeInformer ?? k8s.makeInformer)(options.kc, options.path, options.list, options.labelSelector);

  let stopped = false;
  let isSynced = false;
  let failures = 0;
  /** Bumped by every error, so a start that saw one is not taken for a success. */
  let errors = 0;
  let timer: unknown;
  let running: Promise<void> | undefined;
  let resolveStart: () => void = () => undefined;
  let rejectStart: (err: Error) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    resolveStart = resolve;
    rejectStart = reject;
  });
  // A rejection nobody awaits (stop before start) must not crash the process.
  started.catch(() => undefined);

  const notify = (obj: T): void => {
    try {
      options.onChange(objectKey(obj));
    } catch (err) {
      log.error('change handler failed', { object: objectKey(obj), err });
    }
  };
  informer.on(k8s.ADD, notify);
  informer.on(k8s.UPDATE, notify);
  informer.on(k8s.DELETE, notify);
  /** Schedules a restart after the next backoff delay. */
  const fail = (err: unknown): void => {
    // client-node reports the abort of its own request when stopped: that is not a failure.
    if (stopped) return;
    errors++;
    failures++;
    const delayMs = backoff(failures, base, max);
    log.warn('watch failed; restarting', { err: apiErrorFields(err), attempt: failures, delayMs });
    clock.clearTimeout(timer);
    timer = clock.setTimeout(() => void run(), delayMs);
  };
  informer.on(k8s.ERROR, fail);

  const run = async (): Promise<void> => {
    if (stopped) return;
    const before = errors;
    try {
      await informer.start();
    } catch (err) {
      // client-node's start rejects only before it reaches the API (no current cluster, credentials).
      if (errors === before) fail(err);
      return;
    }
    if (stopped) {
      // Stopped while listing: client-node opens the watch anyway; close it.
      await informer.stop();
      return;
    }
    if (errors !== before) return;
    failures = 0;
    if (!isSynced) {
      isSynced = true;
      log.debug('cache synced', { objects: informer.list().length });
      resolveStart();
    }
  };

  return {
    start() {
      running ??= run();
      return started;
    },
    get(key) {
      const slash = key.indexOf('/');
      return slash === -1 ? informer.get(key) : informer.get(key.slice(slash + 1), key.slice(0, slash));
    },
    list() {
      return [...informer.list()].sort((a, b) => compare(objectKey(a), objectKey(b)));
    },
    synced: () => isSynced,
    stop() {
      if (stopped) return;
      stopped = true;
      clock.clearTimeout(timer);
      informer.stop().catch(() => undefined);
      if (!isSynced) rejectStart(new TransientError('InformerStopped', `watch of ${options.path} stopped before its first list`));
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
