/**
 * Pruning: deleting what an Application applied before and no longer renders. Only after a fully
 * successful apply, in reverse apply order, and only objects that still say they are this Application's:
 * the tracking annotation must name it (another Application or a person may have taken the object over),
 * and objects with ownerReferences (something else manages them) or `sigil.dev/prune: disabled` are left.
 */
import type { InventoryEntry } from './application.js';
import { restFailure } from '../runtime/kube-rest.js';
import { describeObject, type Cluster } from './cluster.js';
import { pruneOrder } from './order.js';
import { SYNC_LABELS, trackingId } from './plan.js';

/** What a prune did with each stale entry. */
export interface PruneResult {
  /** Deleted, or already gone. */
  deleted: InventoryEntry[];
  /** Left in place and no longer tracked, with why. */
  released: Array<{ entry: InventoryEntry; why: string }>;
  /** Delete failed: stays in the inventory and is tried again. */
  failed: Array<{ entry: InventoryEntry; message: string }>;
}

/** Deletes `stale` entries of Application `appLabel` (`namespace.name`). Never throws for one object's failure. */
export async function prune(stale: readonly InventoryEntry[], appLabel: string, cluster: Cluster): Promise<PruneResult> {
  const result: PruneResult = { deleted: [], released: [], failed: [] };
  const ordered = pruneOrder(stale.map((e) => ({ ...e, namespaced: e.namespace !== undefined, annotations: {} as Record<string, string> })));
  for (const item of ordered) {
    const entry: InventoryEntry = { apiVersion: item.apiVersion, kind: item.kind, ...(item.namespace ? { namespace: item.namespace } : {}), name: item.name };
    try {
      const live = await cluster.get(entry);
      if (!live) {
        result.deleted.push(entry);
        continue;
      }
      const meta = live.metadata as { annotations?: Record<string, string>; ownerReferences?: unknown[] };
      const why =
        meta.annotations?.[SYNC_LABELS.tracking] !== trackingId(appLabel, entry)
          ? 'its tracking annotation names another owner'
          : meta.ownerReferences?.length
            ? 'it has ownerReferences'
            : meta.annotations?.[SYNC_LABELS.prune] === 'disabled'
              ? `it is annotated ${SYNC_LABELS.prune}: disabled`
              : undefined;
      if (why) {
        result.released.push({ entry, why });
        continue;
      }
      await cluster.delete(entry);
      result.deleted.push(entry);
    } catch (err) {
      result.failed.push({ entry, message: `delete ${describeObject(entry)}: ${restFailure(err)}` });
    }
  }
  return result;
}
