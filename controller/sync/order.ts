/**
 * The order objects are applied in, and pruned in. What others depend on goes first: Namespaces, then
 * CRDs, then the other cluster-scoped objects, then namespaced objects wave by wave (`sigil.dev/sync-wave`),
 * and within a wave credentials and configuration before the workloads that mount them.
 */
import { groupOf } from './cluster.js';

/** The annotation holding an object's wave: an integer string, 0 when absent. */
export const SYNC_WAVE_ANNOTATION = 'sigil.dev/sync-wave';

/** How an object will be applied; `namespaced` known from API discovery. */
export interface OrderInput {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  annotations?: Record<string, string>;
}

/** A group of objects applied together; all must be healthy before the next wave starts. */
export interface Wave<T> {
  /** `namespaces`, `crds`, `cluster` or `wave <n>`. */
  id: string;
  items: T[];
}

/** Within a wave, kinds in this order; other kinds after them. Cluster-scoped RBAC sits beside its namespaced twin. */
const KIND_ORDER: readonly (readonly string[])[] = [
  ['SealedSecret'],
  ['Secret'],
  ['ConfigMap'],
  ['ServiceAccount'],
  ['Role', 'ClusterRole'],
  ['RoleBinding', 'ClusterRoleBinding'],
  ['PersistentVolumeClaim'],
  ['Service'],
  ['Deployment'],
  ['StatefulSet'],
  ['DaemonSet'],
  ['ReplicaSet'],
  ['Job'],
  ['CronJob'],
  ['Pod'],
];
const KIND_RANK: ReadonlyMap<string, number> = new Map(KIND_ORDER.flatMap((kinds, rank) => kinds.map((kind) => [kind, rank] as const)));
const OTHER_KINDS_RANK = KIND_ORDER.length;

/**
 * The wave number in an annotation value: a decimal integer with an optional sign (`-1`, `0`, `+5`, as Go's
 * strconv.Atoi reads it), within JavaScript's safe integers; `undefined` for anything else.
 */
export function parseSyncWave(value: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(value)) return undefined;
  const wave = Number(value);
  return Number.isSafeInteger(wave) ? wave : undefined;
}

/**
 * Sorts `objects` into apply order and groups them into waves (a new array; the input is not changed):
 * `namespaces` (v1 Namespace), `crds` (apiextensions.k8s.io CustomResourceDefinition), `cluster` (every
 * other cluster-scoped object), then one `wave <n>` per distinct sync-wave of namespaced objects, ascending.
 * Empty waves are left out. Within each wave: by sync-wave, then by kind (KIND_ORDER), then input order.
 * A missing or unreadable sync-wave counts as 0 (check-objects.ts refuses unreadable ones earlier). Throws nothing.
 */
export function orderWaves<T extends OrderInput>(objects: readonly T[]): Wave<T>[] {
  const keyed = objects.map((item, position) => {
    const phase = phaseOf(item);
    return { item, position, phase, phaseRank: PHASES.indexOf(phase), wave: waveOf(item), rank: KIND_RANK.get(item.kind) ?? OTHER_KINDS_RANK };
  });
  keyed.sort((a, b) => a.phaseRank - b.phaseRank || a.wave - b.wave || a.rank - b.rank || a.position - b.position);
  const waves: Wave<T>[] = [];
  for (const k of keyed) {
    const id = k.phase === 'namespaced' ? `wave ${k.wave}` : k.phase;
    const last = waves[waves.length - 1];
    if (last?.id === id) last.items.push(k.item);
    else waves.push({ id, items: [k.item] });
  }
  return waves;
}

/**
 * The order to delete `objects` in: exactly the reverse of the apply order, so later waves go first, kinds
 * in reverse KIND_ORDER within a wave, and CRDs then Namespaces last. A new array. Throws nothing.
 */
export function pruneOrder<T extends OrderInput>(objects: readonly T[]): T[] {
  return orderWaves(objects).flatMap((wave) => wave.items).reverse();
}

/** The phases in apply order; the first three are also the ids of their waves. */
const PHASES = ['namespaces', 'crds', 'cluster', 'namespaced'] as const;
type Phase = (typeof PHASES)[number];

function phaseOf(o: OrderInput): Phase {
  if (o.kind === 'Namespace' && o.apiVersion === 'v1') return 'namespaces';
  if (o.kind === 'CustomResourceDefinition' && groupOf(o.apiVersion) === 'apiextensions.k8s.io') return 'crds';
  return o.namespaced ? 'namespaced' : 'cluster';
}

function waveOf(o: OrderInput): number {
  const value = o.annotations?.[SYNC_WAVE_ANNOTATION];
  return (value === undefined ? undefined : parseSyncWave(value)) ?? 0;
}
