/**
 * Loading the test control plane for the controller benchmarks, through @kubernetes/client-node as admin:
 * objects created at a fixed client concurrency, Secrets counted until they are all there, namespaces
 * emptied. (Without kube-controller-manager a deleted namespace keeps its objects, so emptying one means
 * deleting its collections.)
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import type { KeyObject } from 'node:crypto';
import { sealedSecretObject, type SealedSecretApi } from '../../shared/manifest/sealed-secret.js';
import { sealSecret } from '../../shared/sealing/seal-secret.js';
import { inParallel, sleep } from './measure.js';

/** The admin's API clients. */
export interface Clients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

/** Where each API keeps its SealedSecrets. */
export const SEALED_SECRET_RESOURCE: Record<SealedSecretApi, { group: string; version: string; plural: string }> = {
  sigil: { group: 'sigil.dev', version: 'v1', plural: 'sealedsecrets' },
  bitnami: { group: 'bitnami.com', version: 'v1alpha1', plural: 'sealedsecrets' },
};

/** Clients for the kubeconfig file at `path`. */
export function clientsFor(path: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

/** The 5 small values every benchmark Secret carries, the same for plain and sealed ones. */
export function values(name: string, keys = 5): Map<string, Buffer> {
  return new Map(Array.from({ length: keys }, (_, i) => [`key${i}`, Buffer.from(`value-${i}-of-${name}`)] as const));
}

/** A plain Opaque Secret body. */
export function plainSecret(name: string, namespace: string, labels: Record<string, string> = {}): V1Secret {
  const data = Object.fromEntries([...values(name)].map(([k, v]) => [k, v.toString('base64')]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type: 'Opaque', data };
}

/**
 * `count` SealedSecret bodies `<prefix><i>` in `namespace`, sealed in-process for `publicKey` in the given
 * API, strict scope; `labels` go to the Secret template (so the Secrets made from them can be selected).
 */
export function sealedSecrets(options: {
  publicKey: KeyObject;
  api: SealedSecretApi;
  namespace: string;
  count: number;
  prefix: string;
  labels?: Record<string, string>;
}): Record<string, unknown>[] {
  return Array.from({ length: options.count }, (_, i) => {
    const name = `${options.prefix}${i}`;
    const secret = { name, namespace: options.namespace, labels: options.labels ?? {}, annotations: {}, type: 'Opaque', data: values(name), where: 'bench' };
    return sealedSecretObject(sealSecret(secret, { publicKey: options.publicKey, scope: 'strict', api: options.api, defaultNamespace: options.namespace }));
  });
}

/** Creates `namespace`. */
export async function createNamespace(clients: Clients, namespace: string): Promise<void> {
  await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
}

/** Creates the Secrets at `concurrency` requests in flight; resolves with the wall time in ms. */
export async function createSecrets(clients: Clients, bodies: V1Secret[], concurrency: number): Promise<number> {
  const start = performance.now();
  await inParallel(bodies.length, concurrency, (i) => clients.core.createNamespacedSecret({ namespace: bodies[i]!.metadata!.namespace!, body: bodies[i]! }));
  return performance.now() - start;
}

/** Starts creating the SealedSecrets at `concurrency` in flight; the promise settles when all are created. */
export function createSealedSecrets(clients: Clients, api: SealedSecretApi, bodies: Record<string, unknown>[], concurrency: number): Promise<void> {
  const resource = SEALED_SECRET_RESOURCE[api];
  return inParallel(bodies.length, concurrency, (i) => {
    const namespace = (bodies[i]!.metadata as { namespace: string }).namespace;
    return clients.custom.createNamespacedCustomObject({ ...resource, namespace, body: bodies[i]! });
  });
}

/**
 * How many Secrets `namespace` holds (matching `labelSelector` when given). Asks for metadata only
 * (PartialObjectMetadataList), so polling every 250 ms does not make the apiserver serialize every value.
 */
export async function countSecrets(clients: Clients, namespace: string, labelSelector?: string): Promise<number> {
  const list = await clients.core.listNamespacedSecret(
    { namespace, ...(labelSelector ? { labelSelector } : {}) },
    setHeaderOptions('Accept', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'),
  );
  return list.items?.length ?? 0; // a metadata list of nothing has items: null
}

/** When the count was reached (ms since `since`), or the count seen when the time ran out. */
export type CountResult = { done: true; ms: number } | { done: false; seen: number; ms: number };

/**
 * Counts the Secrets every `intervalMs` until there are `count`, `timeoutMs` since `since` have passed, or
 * `stop()` says to give up (the caller then reports why).
 */
export async function waitForSecrets(
  clients: Clients,
  options: { namespace: string; labelSelector?: string; count: number; since: number; timeoutMs: number; intervalMs?: number; stop?: () => boolean },
): Promise<CountResult> {
  for (;;) {
    const seen = await countSecrets(clients, options.namespace, options.labelSelector);
    const ms = performance.now() - options.since;
    if (seen >= options.count) return { done: true, ms };
    if (ms > options.timeoutMs || options.stop?.()) return { done: false, seen, ms };
    await sleep(options.intervalMs ?? 250);
  }
}

/** Deletes the namespace's SealedSecrets (of `apis`) and Secrets (matching `labelSelector` when given). */
export async function emptyNamespace(clients: Clients, namespace: string, options: { apis: SealedSecretApi[]; labelSelector?: string }): Promise<void> {
  for (const api of options.apis) {
    await clients.custom.deleteCollectionNamespacedCustomObject({ ...SEALED_SECRET_RESOURCE[api], namespace });
  }
  await clients.core.deleteCollectionNamespacedSecret({ namespace, ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}) });
}
