/**
 * What the unsealer does to the Secret of a SealedSecret, decided without I/O: create it, leave it, update
 * it, recreate it (type or immutability changed), or refuse because someone else owns it. Pure, so every
 * ownership rule is tested as a table.
 *
 * Ownership rules:
 * - a Secret controlled by this SealedSecret (ownerReference with its uid) is kept equal to it: a hand edit
 *   is restored, a deleted Secret recreated;
 * - a Secret not owned by it is never overwritten, unless it carries the annotation `sigil.dev/managed: "true"`
 *   (taken over: replaced and owned) or `sigil.dev/patch: "true"` (keys, labels and annotations merged in,
 *   ownership left alone);
 * - the template annotation `sigil.dev/skip-owner-reference: "true"` writes no ownerReference, so the
 *   Secret outlives its SealedSecret; the ownership label still marks it as the controller's.
 * Bitnami SealedSecrets use Sealed Secrets' own annotation names for the same three rules.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { StalledError } from '../../shared/errors.js';

/** The label every Secret written by the controller carries (value: the SealedSecret's name). */
export const OWNER_LABEL = 'sigil.dev/sealed-secret';

/** The annotations that relax the ownership rules; each API has its own names. */
export interface OwnershipAnnotations {
  /** On an existing Secret: take it over. */
  managed: string;
  /** On an existing Secret: merge into it, leave its ownership alone. */
  patch: string;
  /** On the template: write no ownerReference. */
  skipOwnerReference: string;
}

/** Sigil's names (`sigil.dev/v1` SealedSecrets). */
export const SIGIL_ANNOTATIONS: OwnershipAnnotations = {
  managed: 'sigil.dev/managed',
  patch: 'sigil.dev/patch',
  skipOwnerReference: 'sigil.dev/skip-owner-reference',
};

/** Sealed Secrets' names, honoured on `bitnami.com/v1alpha1` SealedSecrets (`--watch-bitnami`). */
export const BITNAMI_ANNOTATIONS: OwnershipAnnotations = {
  managed: 'sealedsecrets.bitnami.com/managed',
  patch: 'sealedsecrets.bitnami.com/patch',
  skipOwnerReference: 'sealedsecrets.bitnami.com/skip-set-owner-references',
};

/** The SealedSecret as the plan needs it. */
export interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

/** The Secret the SealedSecret describes. */
export interface DesiredSecret {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  type: string;
  immutable?: boolean;
  /** base64 values. */
  data: Record<string, string>;
}

/** The one write to make, or none. */
export type SecretPlan =
  | { action: 'create'; secret: V1Secret }
  | { action: 'update'; secret: V1Secret }
  | { action: 'recreate'; secret: V1Secret }
  | { action: 'none' };

/**
 * Decides the write that makes `existing` (undefined when there is none) equal to what `owner` describes.
 * Throws StalledError('NotOwned') when an existing Secret belongs to someone else and allows no takeover.
 */
export function planSecret(
  owner: Owner,
  desired: DesiredSecret,
  existing: V1Secret | undefined,
  names: OwnershipAnnotations = SIGIL_ANNOTATIONS,
): SecretPlan {
  const skipOwnerRef = desired.annotations[names.skipOwnerReference] === 'true';
  const ownerRef: V1OwnerReference = {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
  };
  const fresh: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: owner.name,
      namespace: owner.namespace,
      labels: { ...desired.labels, [OWNER_LABEL]: owner.name },
      annotations: Object.keys(desired.annotations).length ? { ...desired.annotations } : undefined,
      ownerReferences: skipOwnerRef ? undefined : [ownerRef],
    },
    type: desired.type,
    ...(desired.immutable !== undefined ? { immutable: desired.immutable } : {}),
    data: desired.data,
  };
  if (!existing) return { action: 'create', secret: fresh };

  const meta = existing.metadata ?? {};
  const controlledByUs = (meta.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.uid);
  const ours = controlledByUs || (skipOwnerRef && meta.labels?.[OWNER_LABEL] === owner.name);
  const annotations = meta.annotations ?? {};
  if (!ours && annotations[names.patch] === 'true') {
    return patchInto(existing, desired);
  }
  if (!ours && annotations[names.managed] !== 'true') {
    throw new StalledError(
      'NotOwned',
      `Secret ${owner.namespace}/${owner.name} exists and is not owned by this SealedSecret; ` +
        `annotate it ${names.managed}: "true" to let the controller take it over, or ${names.patch}: "true" to merge into it`,
    );
  }
  // Ours (or taken over): make it exactly the desired Secret, keeping the other owners' references.
  const otherRefs = (meta.ownerReferences ?? []).filter((r) => !(r.controller && r.uid === owner.uid) && !r.controller);
  const target: V1Secret = {
    ...fresh,
    metadata: {
      ...fresh.metadata,
      resourceVersion: meta.resourceVersion,
      ownerReferences: skipOwnerRef ? (otherRefs.length ? otherRefs : undefined) : [...otherRefs, ownerRef],
    },
  };
  const immutableBlocks = existing.immutable === true && (!sameData(existing, target) || desired.immutable !== true);
  if ((existing.type ?? 'Opaque') !== desired.type || immutableBlocks) {
    return { action: 'recreate', secret: { ...target, metadata: { ...target.metadata, resourceVersion: undefined } } };
  }
  return sameSecret(existing, target) ? { action: 'none' } : { action: 'update', secret: target };
}

function patchInto(existing: V1Secret, desired: DesiredSecret): SecretPlan {
  const meta = existing.metadata ?? {};
  const merged: V1Secret = {
    ...existing,
    metadata: {
      ...meta,
      labels: { ...meta.labels, ...desired.labels },
      annotations: { ...meta.annotations, ...desired.annotations },
    },
    data: { ...existing.data, ...desired.data },
  };
  return sameSecret(existing, merged) ? { action: 'none' } : { action: 'update', secret: merged };
}

function sameData(a: V1Secret, b: V1Secret): boolean {
  return sameMap(a.data, b.data);
}

function sameSecret(a: V1Secret, b: V1Secret): boolean {
  const am = a.metadata ?? {};
  const bm = b.metadata ?? {};
  return (
    sameData(a, b) &&
    sameMap(am.labels, bm.labels) &&
    sameMap(am.annotations, bm.annotations) &&
    (a.type ?? 'Opaque') === (b.type ?? 'Opaque') &&
    (a.immutable ?? false) === (b.immutable ?? false) &&
    JSON.stringify((am.ownerReferences ?? []).map(refKey)) === JSON.stringify((bm.ownerReferences ?? []).map(refKey))
  );
}

function refKey(r: V1OwnerReference): string {
  return `${r.uid}:${r.controller === true}`;
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  return ak.length === bk.length && ak.every((k) => (a ?? {})[k] === (b ?? {})[k] && Object.hasOwn(b ?? {}, k));
}
