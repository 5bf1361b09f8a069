/**
 * From rendered objects to the objects the engine will apply: each kind looked up in the API server (or
 * in a CRD of the same revision), the destination namespace filled in where a namespaced object names
 * none, duplicates refused, and every object stamped with the Application's label and tracking
 * annotation. Nothing here writes to the cluster.
 */
import { StalledError } from '../../shared/errors.js';
import { appLabelValue, type InventoryEntry } from './application.js';
import { checkObjects, listProblems, type ObjectPolicy } from './check-objects.js';
import { describeObject, groupOf, type Cluster, type KubeObject } from './cluster.js';
import { SYNC_WAVE_ANNOTATION } from './order.js';
import type { RenderedObject } from './render.js';

/** Labels and annotations the engine puts on what it applies, and reads back. */
export const SYNC_LABELS = {
  /** `<namespace>.<name>` of the Application: what the drift watches select on. */
  app: 'sigil.dev/app',
  /** `<namespace>.<name>:<group>/<kind>:<namespace>/<name>`: pruning deletes only what still names its Application. */
  tracking: 'sigil.dev/tracking-id',
  /** `disabled`: never pruned. */
  prune: 'sigil.dev/prune',
  /** Integer: the wave the object is applied in. */
  wave: SYNC_WAVE_ANNOTATION,
} as const;

/** An object ready to apply. */
export interface PlannedObject {
  object: KubeObject;
  /** Where it came from, for messages. */
  source: string;
  namespaced: boolean;
  /** True when its kind is defined by a CRD of the same revision (it cannot be dry-run before that CRD exists). */
  newKind: boolean;
  /** True when its namespace is created by the same revision. */
  newNamespace: boolean;
  /** The annotations orderWaves reads. */
  apiVersion: string;
  kind: string;
  annotations: Record<string, string>;
}

/** The tracking annotation's value for `id` applied by Application `app` (`namespace.name`). */
export function trackingId(app: string, id: InventoryEntry): string {
  return `${app}:${groupOf(id.apiVersion)}/${id.kind}:${id.namespace ?? ''}/${id.name}`;
}

/** Same object, whatever the version of its group. */
export function sameObject(a: InventoryEntry, b: InventoryEntry): boolean {
  return groupOf(a.apiVersion) === groupOf(b.apiVersion) && a.kind === b.kind && (a.namespace ?? '') === (b.namespace ?? '') && a.name === b.name;
}

/** The inventory entry of an object. */
export function entryOf(obj: KubeObject): InventoryEntry {
  return { apiVersion: obj.apiVersion, kind: obj.kind, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}), name: obj.metadata.name };
}

/**
 * Plans `rendered` for Application `namespace/name`. Throws StalledError('InvalidRevision', …) listing every
 * problem: static ones (check-objects.ts), kinds the API server does not serve, duplicates.
 */
export async function planObjects(
  rendered: readonly RenderedObject[],
  options: { cluster: Cluster; app: { namespace: string; name: string }; defaultNamespace: string; policy: ObjectPolicy },
): Promise<PlannedObject[]> {
  checkObjects(rendered, options.policy);
  const label = appLabelValue(options.app.namespace, options.app.name);
  // Kinds and namespaces this revision itself creates.
  const newKinds = new Map<string, boolean>();
  const newNamespaces = new Set<string>();
  for (const { object } of rendered) {
    const o = object as KubeObject;
    if (o.kind === 'CustomResourceDefinition' && groupOf(o.apiVersion) === 'apiextensions.k8s.io') {
      const spec = (o.spec ?? {}) as { group?: string; names?: { kind?: string }; scope?: string; versions?: Array<{ name?: string }> };
      for (const v of spec.versions ?? []) newKinds.set(`${spec.group}/${v.name}|${spec.names?.kind}`, spec.scope !== 'Cluster');
    }
    if (o.kind === 'Namespace' && o.apiVersion === 'v1') newNamespaces.add(o.metadata.name);
  }

  const problems: string[] = [];
  const planned: PlannedObject[] = [];
  const seen = new Map<string, string>();
  for (const { object, source, index } of rendered) {
    const obj = structuredClone(object) as KubeObject;
    const where = `${source} document ${index + 1}`;
    const info = await options.cluster.kind(obj.apiVersion, obj.kind);
    const crdScope = newKinds.get(`${obj.apiVersion}|${obj.kind}`);
    if (!info && crdScope === undefined) {
      problems.push(`${where}: the API server has no kind ${obj.kind} in ${obj.apiVersion}`);
      continue;
    }
    const namespaced = info ? info.namespaced : crdScope!;
    if (namespaced) obj.metadata.namespace ||= options.defaultNamespace;
    else delete obj.metadata.namespace;
    const entry = entryOf(obj);
    const key = `${groupOf(obj.apiVersion)}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const first = seen.get(key);
    if (first) {
      problems.push(`${where}: ${describeObject(entry)} is also defined in ${first}`);
      continue;
    }
    seen.set(key, where);
    obj.metadata.labels = { ...obj.metadata.labels, [SYNC_LABELS.app]: label };
    obj.metadata.annotations = { ...obj.metadata.annotations, [SYNC_LABELS.tracking]: trackingId(label, entry) };
    delete obj.status;
    planned.push({
      object: obj,
      source: where,
      namespaced,
      newKind: !info,
      newNamespace: namespaced && newNamespaces.has(obj.metadata.namespace ?? ''),
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      annotations: obj.metadata.annotations,
    });
  }
  if (problems.length) throw new StalledError('InvalidRevision', listProblems(problems));
  return planned;
}
