/**
 * Reconciles one SealedSecret: read it from the informer cache, open it with the sealing keys, make its
 * Secret equal to it under the ownership rules of secret-plan.ts, and patch its status once, at the end,
 * from the outcome. Failures are typed (shared/errors.ts) so the work queue knows whether to retry.
 *
 * Work-queue keys are `<api>:<namespace>/<name>`: `sigil:` for `sigil.dev/v1` objects, `bitnami:` for
 * `bitnami.com/v1alpha1` ones (`--watch-bitnami`), each with its API's annotation names and status shape.
 */
import type { CoreV1Api, CustomObjectsApi, KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SigilError, StalledError, WaitingError } from '../../shared/errors.js';
import { readSealedSecret, type SealedSecret } from '../../shared/manifest/sealed-secret.js';
import type { SecretObject } from '../../shared/sealing/unseal-secret.js';
import { nextStatus, sameStatus, type Outcome, type SealedSecretStatus } from './conditions.js';
import { apiStatus, kubeError } from '../runtime/api-errors.js';
import { BITNAMI_ANNOTATIONS, planSecret, SIGIL_ANNOTATIONS, type OwnershipAnnotations, type Owner, type SecretPlan } from './secret-plan.js';
import { backoff } from '../runtime/backoff.js';

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

/** The longest wait between two tries of a SealedSecret while Vault is unavailable or denies. */
const VAULT_MAX_RETRY_MS = 60_000;

/** The SealedSecret APIs the controller reconciles. */
export type SealedSecretApiName = 'sigil' | 'bitnami';

/** Where each API's objects live and which names its rules use. */
export const SEALED_SECRET_APIS: Record<SealedSecretApiName, {
  group: string;
  version: string;
  plural: string;
  condition: 'Ready' | 'Synced';
  annotations: OwnershipAnnotations;
}> = {
  sigil: { group: 'sigil.dev', version: 'v1', plural: 'sealedsecrets', condition: 'Ready', annotations: SIGIL_ANNOTATIONS },
  bitnami: { group: 'bitnami.com', version: 'v1alpha1', plural: 'sealedsecrets', condition: 'Synced', annotations: BITNAMI_ANNOTATIONS },
};

/** The work-queue key of an object of `api`. */
export function queueKey(api: SealedSecretApiName, namespacedName: string): string {
  return `${api}:${namespacedName}`;
}

/** What the unsealer reads and writes through. */
export interface UnsealerDeps {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  keys: { ring(): Opener };
  /** The cached object of `api` with key `namespace/name`. */
  sealedSecrets: { get(api: SealedSecretApiName, key: string): SealedSecretResource | undefined };
  /** Secrets carrying the ownership label; others are read from the API when needed. */
  ownedSecrets: { get(key: string): V1Secret | undefined };
  /** Opens Vault-sealed SealedSecrets (`--vault-addr`); absent, they are refused with VaultNotConfigured. */
  vault?: { unseal(ss: SealedSecret): Promise<SecretObject> };
  observer: UnsealObserver;
  clock: () => Date;
}

/** Returns `reconcile(queueKey)` for the work queue. */
export function createUnsealer(deps: UnsealerDeps): (key: string) => Promise<void> {
  /** uid → name of the key Secret that opened it last, tried first next time. */
  const hints = new Map<string, string>();
  /**
   * uid → the generation last made Ready and the resourceVersion its Secret had then. While both still hold,
   * a reconcile has nothing to do and returns before decrypting: the queue is woken by the controller's own
   * writes (the Secret it created, the status it patched), and those wake-ups must cost nothing.
   */
  const settled = new Map<string, { generation: number; secretVersion: string }>();
  /** uid → consecutive Vault outages or denials, for that object's retry delay. */
  const vaultFailures = new Map<string, number>();

  return async function reconcile(qkey: string): Promise<void> {
    const [apiName, key] = qkey.split(':', 2) as [SealedSecretApiName, string];
    const api = SEALED_SECRET_APIS[apiName];
    const obj = deps.sealedSecrets.get(apiName, key);
    if (!api || !obj?.metadata?.name || !obj.metadata.namespace || !obj.metadata.uid) return; // deleted: GC removes the Secret
    const done = settled.get(obj.metadata.uid);
    const cachedSecret = deps.ownedSecrets.get(key);
    if (done && done.generation === (obj.metadata.generation ?? 0)) {
      if (done.secretVersion === cachedSecret?.metadata?.resourceVersion) return;
      // The cache may not have seen the controller's own write yet: ask the API server before decrypting
      // again (for a Vault-sealed object a decrypt is a Vault request; a deleted or edited Secret goes on).
      const live = await readSecret({ name: obj.metadata.name, namespace: obj.metadata.namespace }).catch(() => undefined);
      if (live?.metadata?.resourceVersion === done.secretVersion) return;
    }
    const started = process.hrtime.bigint();
    const ref: ObjectRef = {
      apiVersion: obj.apiVersion ?? `${api.group}/${api.version}`,
      kind: obj.kind ?? 'SealedSecret',
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
    };
    let outcome: Outcome;
    let secretVersion: string | undefined;
    try {
      const result = await unsealInto(ref, obj, api.annotations);
      secretVersion = result.secretVersion;
      const action = result.action;
      outcome = { ready: true, reason: 'Unsealed', message: action === 'none' ? 'Secret is up to date' : `Secret ${action}d` };
    } catch (err) {
      settled.delete(ref.uid);
      const typed = err instanceof SigilError ? err : kubeError('WriteFailed', `write Secret ${key}`, err);
      outcome = { ready: false, reason: typed.reason, message: typed.message };
      deps.observer.failed(ref, typed);
      await patchStatus(obj, outcome, api).catch(() => undefined);
      deps.observer.finished(ref, 'failure', typed.reason, seconds(started));
      throw typed;
    }
    await patchStatus(obj, outcome, api);
    if (secretVersion) settled.set(ref.uid, { generation: obj.metadata.generation ?? 0, secretVersion });
    deps.observer.finished(ref, 'success', outcome.reason, seconds(started));
  };

  /** Makes the Secret right; says what it did and the Secret's resourceVersion afterwards. */
  async function unsealInto(
    ref: ObjectRef,
    obj: SealedSecretResource,
    names: OwnershipAnnotations,
  ): Promise<{ action: SecretPlan['action']; secretVersion?: string }> {
    let ss: SealedSecret;
    try {
      ss = readSealedSecret(obj as unknown as Record<string, unknown>, `SealedSecret ${ref.namespace}/${ref.name}`);
    } catch (err) {
      throw new StalledError('InvalidSpec', (err as Error).message);
    }
    const secret = ss.vault ? await openWithVault(ref, ss) : openWithKeys(ref, ss);
    const desired = {
      labels: secret.metadata.labels ?? {},
      annotations: secret.metadata.annotations ?? {},
      type: secret.type,
      ...(secret.immutable !== undefined ? { immutable: secret.immutable } : {}),
      data: secret.data,
    };
    const owner: Owner = ref;
    const existing = deps.ownedSecrets.get(`${ref.namespace}/${ref.name}`) ?? (await readSecret(ref));
    const plan = planSecret(owner, desired, existing, names);
    const where = `Secret ${ref.namespace}/${ref.name}`;
    const namespace = ref.namespace;
    let written: V1Secret | undefined = existing;
    try {
      if (plan.action === 'create') written = await deps.core.createNamespacedSecret({ namespace, body: plan.secret, fieldManager: 'sigil' });
      if (plan.action === 'update') written = await deps.core.replaceNamespacedSecret({ name: ref.name, namespace, body: plan.secret, fieldManager: 'sigil' });
      if (plan.action === 'recreate') {
        await deps.core.deleteNamespacedSecret({ name: ref.name, namespace });
        written = await deps.core.createNamespacedSecret({ namespace, body: plan.secret, fieldManager: 'sigil' });
      }
    } catch (err) {
      throw kubeError('WriteFailed', `${plan.action} ${where}`, err);
    }
    if (plan.action !== 'none') deps.observer.written(ref, plan.action);
    return { action: plan.action, secretVersion: written?.metadata?.resourceVersion };
  }

  function openWithKeys(ref: ObjectRef, ss: SealedSecret): SecretObject {
    const { secret, keyName } = deps.keys.ring().unseal(ss, hints.get(ref.uid));
    hints.set(ref.uid, keyName);
    return secret;
  }

  /**
   * Opens a Vault-sealed SealedSecret with one decrypt batch. While Vault is unreachable or denies, the
   * object is tried again with its own backoff (1 s doubling to 1 min) for as long as it takes: the queue's
   * give-up would leave it failed after a long outage. Nothing is written meanwhile, so the Secret stays.
   */
  async function openWithVault(ref: ObjectRef, ss: SealedSecret): Promise<SecretObject> {
    if (!deps.vault) {
      throw new StalledError('VaultNotConfigured', `SealedSecret ${ref.namespace}/${ref.name} is sealed with Vault transit (${ss.vault!.mount}/${ss.vault!.key}), but the controller runs without --vault-addr`);
    }
    try {
      const secret = await deps.vault.unseal(ss);
      vaultFailures.delete(ref.uid);
      return secret;
    } catch (err) {
      if (!(err instanceof SigilError) || (err.reason !== 'VaultUnavailable' && err.reason !== 'VaultDenied')) throw err;
      const n = (vaultFailures.get(ref.uid) ?? 0) + 1;
      vaultFailures.set(ref.uid, n);
      throw new WaitingError(err.reason, err.message, backoff(n, 1000, VAULT_MAX_RETRY_MS), { cause: err });
    }
  }

  async function readSecret(ref: Pick<ObjectRef, 'name' | 'namespace'>): Promise<V1Secret | undefined> {
    try {
      return await deps.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw kubeError('WriteFailed', `read Secret ${ref.namespace}/${ref.name}`, err);
    }
  }

  async function patchStatus(obj: SealedSecretResource, outcome: Outcome, api: (typeof SEALED_SECRET_APIS)[SealedSecretApiName]): Promise<void> {
    const status = nextStatus(obj.status, outcome, obj.metadata?.generation ?? 0, deps.clock(), api.condition);
    if (sameStatus(obj.status, status)) return;
    try {
      await deps.custom.patchNamespacedCustomObjectStatus(
        { group: api.group, version: api.version, namespace: obj.metadata!.namespace!, plural: api.plural, name: obj.metadata!.name!, body: { status } },
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
