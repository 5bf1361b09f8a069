/**
 * The sync engine's view of one cluster: API discovery (which kinds exist, their plural and scope), and
 * server-side apply, dry-run, read and delete of objects of any kind, as field manager `sigil`.
 *
 * Discovery is cached per group-version and asked again when a kind is missing, so a CRD applied by
 * the same revision is found once it is established.
 */
import type { KubeRest } from '../runtime/kube-rest.js';

/** The field manager of every apply. */
export const FIELD_MANAGER = 'sigil';

/** Names an object of any kind. */
export interface ObjectId {
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

/** What discovery says about a kind. */
export interface KindInfo {
  plural: string;
  namespaced: boolean;
}

/** A Kubernetes object as JSON. */
export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

/** The group of an apiVersion (`''` for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** `group/Kind namespace/name` (or without the namespace), as messages name objects. */
export function describeObject(id: ObjectId): string {
  const group = groupOf(id.apiVersion);
  return `${group ? `${id.kind}.${group}` : id.kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

/** The ObjectId of an object. */
export function idOf(obj: KubeObject): ObjectId {
  return { apiVersion: obj.apiVersion, kind: obj.kind, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}), name: obj.metadata.name };
}

/** A cluster the engine applies to. */
export class Cluster {
  private readonly discovered = new Map<string, Promise<Map<string, KindInfo>>>();

  constructor(readonly rest: KubeRest) {}

  /** The plural and scope of `kind` in `apiVersion`, or undefined when the API server does not serve it. */
  async kind(apiVersion: string, kind: string): Promise<KindInfo | undefined> {
    const known = await this.resources(apiVersion, false);
    return known.get(kind) ?? (await this.resources(apiVersion, true)).get(kind);
  }

  /** The collection path of a kind, in `namespace` when given. */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const info = await this.kind(apiVersion, kind);
    if (!info) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return info.namespaced && namespace ? `${base}/namespaces/${namespace}/${info.plural}` : `${base}/${info.plural}`;
  }

  /** Server-side apply of `obj` (forced: Git is the source of truth for the fields it names); `dryRun` persists nothing. */
  async apply(obj: KubeObject, dryRun = false): Promise<KubeObject> {
    return this.rest.request<KubeObject>({
      method: 'PATCH',
      path: await this.objectPath(idOf(obj)),
      query: { fieldManager: FIELD_MANAGER, force: 'true', ...(dryRun ? { dryRun: 'All' } : {}) },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** The live object, or undefined when it does not exist. */
  async get(id: ObjectId): Promise<KubeObject | undefined> {
    try {
      return await this.rest.request<KubeObject>({ method: 'GET', path: await this.objectPath(id) });
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw err;
    }
  }

  /** Deletes the object (dependents in the background); resolves false when it was already gone. */
  async delete(id: ObjectId): Promise<boolean> {
    try {
      await this.rest.request({ method: 'DELETE', path: await this.objectPath(id), body: { propagationPolicy: 'Background' } });
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return false;
      throw err;
    }
  }

  private async objectPath(id: ObjectId): Promise<string> {
    return `${await this.collectionPath(id.apiVersion, id.kind, id.namespace)}/${encodeURIComponent(id.name)}`;
  }

  private resources(apiVersion: string, refresh: boolean): Promise<Map<string, KindInfo>> {
    let known = this.discovered.get(apiVersion);
    if (!known || refresh) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      known = this.rest
        .request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>({ method: 'GET', path })
        .then((list) => new Map((list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }])))
        .catch((err: unknown) => {
          // An unknown group-version is "no such kind"; anything else is a real failure, and is not cached.
          this.discovered.delete(apiVersion);
          if ((err as { code?: unknown }).code === 404) return new Map<string, KindInfo>();
          throw err;
        });
      this.discovered.set(apiVersion, known);
    }
    return known;
  }
}
