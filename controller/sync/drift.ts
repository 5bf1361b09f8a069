/**
 * Drift: whether a live object still is what Git says. The API server answers that itself: a server-side
 * dry-run apply of the desired object returns the object as it would be after the apply, with the
 * server's own defaulting and merge rules; if it differs from the live object outside status and
 * server-owned metadata, something else changed it. No defaulting is re-implemented here, so the
 * comparison settles (the top complaint about hand-written diffs).
 *
 * Drift is reported as field paths only (`data.password`, `spec.replicas`), never values.
 */
import type { Cluster, KubeObject } from './cluster.js';

/** Metadata fields the server owns; they differ without drift. */
const SERVER_METADATA = new Set(['resourceVersion', 'managedFields', 'generation', 'creationTimestamp', 'uid', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']);
/** At most this many paths are reported per object. */
const MAX_PATHS = 20;
/** The path reported for an object that is gone. */
export const MISSING = '<missing>';

/** The paths where `live` differs from what applying `desired` would make it; [MISSING] when it is gone. */
export async function driftOf(desired: KubeObject, live: KubeObject | undefined, cluster: Cluster): Promise<string[]> {
  if (!live) return [MISSING];
  const wouldBe = await cluster.apply(desired, true);
  return differences(strip(wouldBe), strip(live));
}

/** Paths at which `a` and `b` differ, sorted, at most MAX_PATHS (then `…`). Exported for tests. */
export function differences(a: unknown, b: unknown): string[] {
  const out: string[] = [];
  walk(a, b, '', out);
  out.sort();
  return out.length > MAX_PATHS ? [...out.slice(0, MAX_PATHS), '…'] : out;
}

function strip(obj: KubeObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = obj;
  const meta = Object.fromEntries(Object.entries(metadata).filter(([k]) => !SERVER_METADATA.has(k)));
  return { ...rest, metadata: meta };
}

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length > MAX_PATHS) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      out.push(path || '.');
      return;
    }
    a.forEach((item, i) => walk(item, b[i], `${path}[${i}]`, out));
    return;
  }
  if (isRecord(a) && isRecord(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (a !== b) out.push(path || '.');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
