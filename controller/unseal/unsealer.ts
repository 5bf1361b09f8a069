/**
 * Reconciles one SealedSecret: read it from the informer cache, open it with the sealing keys, make its
 * Secret equal to it under the ownership rules of secret-plan.ts, and patch its status once, at the end,
 * from the outcome. Failures are typed (shared/errors.ts) so the work queue knows whether to retry.
 */
import type { CoreV1Api, CustomObjectsApi, KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SigilError, StalledError } from '../../shared/errors.js';
import { readSealedSecret, type SealedSecret } from '../../shared/manifest/sealed-secret.js';
import type { SecretObject } from '../../shared/sealing/unseal-secret.js';
import { nextStatus, sameStatus, type Outcome, type SealedSecretStatus } from './conditions.js';
import { apiStatus, kubeError } from '../runtime/api-errors.js';
import { planSecret, type Owner, type SecretPlan } from './secret-plan.js';

/** A SealedSecret as the informer caches it. */
export interface SealedSecretResource extends KubernetesObject {
  spec?: unknown;
  status?: SealedSecretStatus;
}

/** What opens SealedSecrets: the key ring, with a hint of the key that opened the object last time. */
export interface Opener {
  unseal(ss: SealedSecret, hint?: string): { secret: SecretObject; keyName: string };
}

/** Where the unsealer reports what it did; main turns these into logs, events and metrics. */
export interface UnsealObserver {
  written(ref: ObjectRef, action: Exclude<SecretPlan['action'], 'none'>): void;
  failed(ref: ObjectRef, err: SigilError): void;
  finished(ref: ObjectRef, result: 'success' | 'failure', reason: string, seconds: number): void;
}

/** The SealedSecret an event or a log line is about. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

/** What the unsealer reads and writes through. */
export interface UnsealerDeps {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  keys: { ring(): Opener };
  sealedSecrets: { get(key: string): SealedSecretResource | undefined };
  /** Secrets carrying the ownership label; others are read from the API when needed. */
  ownedSecrets: { get(key: string): V1Secret | undefined };
  observer: UnsealObserver;
  clock: () => Date;
}

const GROUP = 'sigil.dev';
const VERSION = 'v1';
const PLURAL = 'sealedsecrets';

/** Returns `reconcile(key)` for the work queue; `key` is `namespace/name`. */
export function createUnsealer(deps: UnsealerDeps): (key: string) => Promise<void> {
  /** uid → name of the key Secret that opened it last, tried first next time. */
  const hints = new Map<string, string>();

  return async function reconcile(key: string): Promise<void> {
    const obj = deps.sealedSecrets.get(key);
    if (!obj?.metadata?.name || !obj.metadata.namespace || !obj.metadata.uid) return; // deleted: GC removes the Secret
    const started = process.hrtime.bigint();
    const ref: ObjectRef = {
      apiVersion: obj.apiVersion ?? `${GROUP}/${VERSION}`,
      kind: obj.kind ?? 'SealedSecret',
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
    };
    let outcome: Outcome;
    try {
      const action = await unsealInto(ref, obj);
      outcome = { ready: true, reason: 'Unsealed', message: action === 'none' ? 'Secret is up to date' : `Secret ${action}d` };
    } catch (err) {
      const typed = err instanceof SigilError ? err : kubeError('WriteFailed', `write Secret ${key}`, err);
      outcome = { ready: false, reason: typed.reason, message: typed.message };
      deps.observer.failed(ref, typed);
      await patchStatus(obj, outcome).catch(() => undefined);
      deps.observer.finished(ref, 'failure', typed.reason, seconds(started));
      throw typed;
    }
    await patchStatus(obj, outcome);
    deps.observer.finished(ref, 'success', outcome.reason, seconds(started));
  };

  async function unsealInto(ref: ObjectRef, obj: SealedSecretResource): Promise<SecretPlan['action']> {
    let ss: SealedSecret;
    try {
      ss = readSealedSecret(obj as unknown as Record<string, unknown>, `SealedSecret ${ref.namespace}/${ref.name}`);
    } catch (err) {
      throw new StalledError('InvalidSpec', (err as Error).message);
    }
    const { secret, keyName } = deps.keys.ring().unseal(ss, hints.get(ref.uid));
    hints.set(ref.uid, keyName);
    const desired = {
      labels: secret.metadata.labels ?? {},
      annotations: secret.metadata.annotations ?? {},
      type: secret.type,
      ...(secret.immutable !== undefined ? { immutable: secret.immutable } : {}),
      data: secret.data,
    };
    const owner: Owner = ref;
    const existing = deps.ownedSecrets.get(`${ref.namespace}/${ref.name}`) ?? (await readSecret(ref));
    const plan = planSecret(owner, desired, existing);
    const where = `Secret ${ref.namespace}/${ref.name}`;
    const namespace = ref.namespace;
    try {
      if (plan.action === 'create') await deps.core.createNamespacedSecret({ namespace, body: plan.secret, fieldManager: 'sigil' });
      if (plan.action === 'update') await deps.core.replaceNamespacedSecret({ name: ref.name, namespace, body: plan.secret, fieldManager: 'sigil' });
      if (plan.action === 'recreate') {
        await deps.core.deleteNamespacedSecret({ name: ref.name, namespace });
        await deps.core.createNamespacedSecret({ namespace, body: plan.secret, fieldManager: 'sigil' });
      }
    } catch (err) {
      throw kubeError('WriteFailed', `${plan.action} ${where}`, err);
    }
    if (plan.action !== 'none') deps.observer.written(ref, plan.action);
    return plan.action;
  }

  async function readSecret(ref: ObjectRef): Promise<V1Secret | undefined> {
    try {
      return await deps.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw kubeError('WriteFailed', `read Secret ${ref.namespace}/${ref.name}`, err);
    }
  }

  async function patchStatus(obj: SealedSecretResource, outcome: Outcome): Promise<void> {
    const status = nextStatus(obj.status, outcome, obj.metadata?.generation ?? 0, deps.clock());
    if (sameStatus(obj.status, status)) return;
    try {
      await deps.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: obj.metadata!.namespace!, plural: PLURAL, name: obj.metadata!.name!, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (apiStatus(err) === 404) return; // deleted meanwhile
      throw kubeError('StatusFailed', `update status of SealedSecret ${obj.metadata!.namespace}/${obj.metadata!.name}`, err);
    }
  }
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
