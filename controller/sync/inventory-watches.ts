/**
 * Watches of what Applications applied: one list+watch per kind present in any inventory, selected by the
 * `sigil.dev/app` label (so never the whole cluster's objects of that kind), shared by every Application.
 * A change to a watched object wakes the Application its label names; the caches also answer the
 * engine's reads of live objects (health, drift) without a request per object.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeRest } from '../runtime/kube-rest.js';
import { objectKey, watchObjects, type ObjectCache } from '../runtime/informer.js';
import type { Logger } from '../runtime/logger.js';
import type { InventoryEntry } from './application.js';
import { groupOf, type Cluster, type KubeObject } from './cluster.js';
import { SYNC_LABELS } from './plan.js';

/** The shared watches. */
export interface InventoryWatches {
  /** Starts watching the kinds of `entries` not watched yet (in the background). */
  ensure(entries: readonly InventoryEntry[]): void;
  /** The live object: from its kind's cache when there, else read with `reader` (default: the watches' own identity). */
  live(entry: InventoryEntry, reader?: Cluster): Promise<KubeObject | undefined>;
  synced(): boolean;
  stop(): void;
}

/** Watches for `cluster`; `wake(appLabel)` gets the label value of each changed object. */
export function inventoryWatches(options: { kc: KubeConfig; rest: KubeRest; cluster: Cluster; log: Logger; wake: (appLabel: string) => void }): InventoryWatches {
  const caches = new Map<string, ObjectCache<KubeObject> | 'starting'>();
  /** objectKey → app label, to know whom a deletion concerns once the cache has forgotten the object. */
  const owners = new Map<string, string>();
  let stopped = false;

  const kindKey = (e: InventoryEntry): string => `${e.apiVersion}|${e.kind}`;
  const start = async (apiVersion: string, kind: string): Promise<void> => {
    const key = `${apiVersion}|${kind}`;
    try {
      const path = await options.cluster.collectionPath(apiVersion, kind);
      if (stopped) return;
      const cache: ObjectCache<KubeObject> = watchObjects<KubeObject>({
        kc: options.kc,
        path,
        labelSelector: SYNC_LABELS.app,
        list: () => options.rest.request({ method: 'GET', path, query: { labelSelector: SYNC_LABELS.app } }),
        onChange: (objKey) => {
          const id = `${key}|${objKey}`;
          const label = cache.get(objKey)?.metadata.labels?.[SYNC_LABELS.app] ?? owners.get(id);
          if (cache.get(objKey)) owners.set(id, label ?? '');
          else owners.delete(id);
          if (label) options.wake(label);
        },
        log: options.log.child({ informer: `${groupOf(apiVersion) || 'core'} ${kind}` }),
      });
      caches.set(key, cache);
      await cache.start();
    } catch (err) {
      // Not served (yet): the next ensure tries again.
      caches.delete(key);
      options.log.warn('cannot watch applied kind', { apiVersion, kind, error: (err as Error).message });
    }
  };

  return {
    ensure(entries) {
      for (const e of entries) {
        const key = kindKey(e);
        if (stopped || caches.has(key)) continue;
        caches.set(key, 'starting');
        void start(e.apiVersion, e.kind);
      }
    },
    async live(entry, reader = options.cluster) {
      const cache = caches.get(kindKey(entry));
      // A cache miss is read through: the object may have been written a moment ago and not be seen yet.
      const cached = cache && cache !== 'starting' && cache.synced() ? cache.get(objectKey({ metadata: { name: entry.name, ...(entry.namespace ? { namespace: entry.namespace } : {}) } })) : undefined;
      return cached ?? reader.get(entry);
    },
    synced: () => [...caches.values()].every((c) => c !== 'starting' && c.synced()),
    stop() {
      stopped = true;
      for (const c of caches.values()) if (c !== 'starting') c.stop();
      caches.clear();
    },
  };
}
