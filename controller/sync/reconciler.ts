/**
 * Reconciles one Application, as an ordered list of steps whose results one `finally` turns into the
 * status (one patch):
 *
 * 1. read the spec; a suspended Application is left alone;
 * 2. resolve the target revision (ls-remote, shared by every Application of the repo);
 * 3. the desired objects of that revision: checkout (fetched once per repo and commit), render, plan;
 * 4. sync when automated and something moved (revision, spec, refresh) or on a manual `sigil.dev/sync`:
 *    dry-run everything, apply in waves, then prune what the previous inventory had and this one has not;
 * 5. otherwise compare the live objects with the desired ones (drift) and, with selfHeal, re-apply what
 *    drifted, backing off when another writer keeps changing it;
 * 6. health of everything in the inventory.
 *
 * A failure at any step leaves the cluster as the last good revision made it: nothing of a revision is
 * written before all of it passed the dry-run, and nothing is pruned unless the apply fully succeeded.
 */
import { SigilError, StalledError, TransientError, WaitingError } from '../../shared/errors.js';
import { kubeError } from '../runtime/api-errors.js';
import { restFailure } from '../runtime/kube-rest.js';
import { APP_ANNOTATIONS, appLabelValue, readApplicationSpec, type ApplicationResource, type ApplicationSpec, type ApplicationStatus, type DriftEntry, type InventoryEntry, type SecretRef } from './application.js';
import { applyRevision, type AppliedVersions } from './apply-revision.js';
import { describeObject, idOf } from './cluster.js';
import { driftOf } from './drift.js';
import { credentialsFromSecretData, type GitCredentials } from './git-source.js';
import { aggregateHealth, assessHealth, type HealthStatus } from './health.js';
import { entryOf, planObjects, sameObject, type PlannedObject } from './plan.js';
import { prune } from './prune.js';
import type { RenderedObject } from './render.js';
import { nextConditions, sameAppStatus, withHistory, type ReconcileOutcome } from './status.js';
import type { Target } from './targets.js';
import { backoff } from '../runtime/backoff.js';

/** Where the reconciler reports what it did; engine.ts turns these into logs, events and metrics. */
export interface SyncObserver {
  synced(app: AppRef, revision: string, objects: number, pruned: number): void;
  drifted(app: AppRef, drift: DriftEntry[], healing: boolean): void;
  failed(app: AppRef, err: SigilError): void;
  finished(app: AppRef, result: 'success' | 'failure', reason: string, seconds: number): void;
}

/** The Application an event or log line is about. */
export interface AppRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** What the reconciler reads and writes through. */
export interface SyncDeps {
  apps: { get(key: string): ApplicationResource | undefined };
  /** Where and as whom this Application's objects are applied (targets.ts). */
  target(app: AppRef, spec: ApplicationSpec): Promise<Target>;
  /** Resolves a revision to a commit (shared and briefly cached by the engine). */
  resolve(repoURL: string, revision: string, credentials: GitCredentials | undefined, fresh: boolean): Promise<string>;
  /** The rendered objects of `path` at `commit` (checkout shared by the engine). */
  render(repoURL: string, commit: string, path: string, credentials: GitCredentials | undefined): Promise<RenderedObject[]>;
  /** Checks the signature of `commit` against the trusted keys of a Secret's data; throws StalledError('VerificationFailed'). */
  verify(repoURL: string, commit: string, credentials: GitCredentials | undefined, keys: Record<string, string>, keysName: string): Promise<void>;
  /** `--no-cross-namespace-refs`: Secret references outside the Application's namespace are refused. */
  crossNamespaceRefs: boolean;
  patchStatus(app: AppRef, status: ApplicationStatus): Promise<void>;
  /** Reconcile this Application again after `ms`. */
  requeue(key: string, ms: number): void;
  observer: SyncObserver;
  clock: () => Date;
  random: () => number;
}

/** What the reconciler remembers of an Application between runs (lost on restart, rebuilt from Git). */
interface AppMemory {
  revision: string;
  generation: number;
  planned: PlannedObject[];
  /** resourceVersion of each object as the engine last wrote or checked it: unchanged means no drift. */
  versions: AppliedVersions;
  heals: number;
  nextHealAt: number;
}

/** Self-heal backoff: 5 s doubling to 5 min while an object keeps drifting. */
const HEAL_BASE_MS = 5_000;
const HEAL_MAX_MS = 300_000;
/** An Application whose objects are still progressing is looked at again this soon. */
const PROGRESSING_RECHECK_MS = 5_000;

/** Returns `reconcile(key)` (key `namespace/name`) for the work queue. */
export function createSyncReconciler(deps: SyncDeps): (key: string) => Promise<void> {
  const memory = new Map<string, AppMemory>();
  /** Consecutive failed reconciles per Application, for its retry backoff. */
  const failures = new Map<string, number>();

  return async function reconcile(key: string): Promise<void> {
    const app = deps.apps.get(key);
    const meta = app?.metadata;
    if (!app || !meta?.name || !meta.namespace || !meta.uid) {
      memory.delete(key);
      failures.delete(key);
      return;
    }
    const ref: AppRef = { apiVersion: app.apiVersion ?? 'sigil.dev/v1', kind: 'Application', namespace: meta.namespace, name: meta.name, uid: meta.uid };
    const generation = meta.generation ?? 0;
    const started = process.hrtime.bigint();
    const previous = app.status ?? {};
    const status: ApplicationStatus = structuredClone(previous);
    let outcome: ReconcileOutcome;
    let spec: ApplicationSpec | undefined;
    let failure: SigilError | undefined;
    let health: { status: HealthStatus; message?: string } | undefined;
    let target: Target | undefined;
    try {
      spec = readApplicationSpec(app);
      if (spec.suspend) {
        health = { status: 'Suspended', message: 'spec.suspend is true: the engine does not sync or heal' };
        outcome = { ready: false, reason: 'Suspended', message: 'spec.suspend is true', reconciling: false, stalled: false };
      } else {
        checkRefs(ref, spec);
        target = await deps.target(ref, spec);
        await target.ping();
        outcome = await syncSteps(ref, key, spec, app, status, generation, target);
        health = await healthOf(target, status.inventory ?? []);
        if (outcome.ready && health.status === 'Progressing') deps.requeue(key, PROGRESSING_RECHECK_MS);
      }
    } catch (err) {
      failure = err instanceof SigilError ? err : kubeError('SyncFailed', `sync Application ${key}`, err);
      const waiting = failure instanceof WaitingError;
      outcome = { ready: false, reason: failure.reason, message: failure.message, reconciling: !(failure instanceof StalledError), stalled: failure instanceof StalledError };
      if (!waiting) deps.observer.failed(ref, failure);
      health = target && failure.reason !== 'ClusterUnreachable' ? await healthOf(target, status.inventory ?? []).catch(() => ({ status: 'Unknown' as const })) : { status: 'Unknown' };
    }
    status.observedGeneration = generation;
    status.conditions = nextConditions(previous.conditions, outcome, generation, deps.clock());
    if (health) status.health = health.message ? { status: health.status, message: health.message } : { status: health.status };
    if (!sameAppStatus(previous, status)) {
      try {
        await deps.patchStatus(ref, status);
      } catch (err) {
        failure ??= kubeError('StatusPatchFailed', `patch status of Application ${key}`, err);
      }
    }
    deps.observer.finished(ref, failure ? 'failure' : 'success', outcome.reason, Number(process.hrtime.bigint() - started) / 1e9);
    // The next look at Git: the interval, ±10% so that many Applications do not poll in step.
    if (spec && !spec.suspend) deps.requeue(key, Math.round(spec.intervalMs * (0.9 + 0.2 * deps.random())));
    if (!failure) {
      failures.delete(key);
      return;
    }
    const attempt = (failures.get(key) ?? 0) + 1;
    failures.set(key, attempt);
    throw retryPolicy(failure, spec, attempt);
  };

  /** Steps 2–5; writes revision, inventory, drift and history into `status`. */
  async function syncSteps(ref: AppRef, key: string, spec: ApplicationSpec, app: ApplicationResource, status: ApplicationStatus, generation: number, target: Target): Promise<ReconcileOutcome> {
    const annotations = app.metadata?.annotations ?? {};
    const refresh = annotations[APP_ANNOTATIONS.refresh];
    const manualSync = annotations[APP_ANNOTATIONS.sync];
    const refreshed = refresh !== undefined && refresh !== status.lastHandledRefresh;
    const syncAsked = manualSync !== undefined && manualSync !== status.lastHandledSync;

    const credentials = spec.source.secretRef ? credentialsFromSecretData(await secretData(target, spec.source.secretRef, 'spec.source.secretRef'), refName(spec.source.secretRef)) : undefined;
    const revision = await deps.resolve(spec.source.repoURL, spec.source.targetRevision, credentials, refreshed);
    status.lastHandledRefresh = refresh;
    status.sync = { status: status.sync?.status ?? 'Unknown', revision };

    const known = memory.get(key);
    const fresh = known?.revision === revision && known.generation === generation && !refreshed ? known : undefined;
    let planned: PlannedObject[];
    try {
      const verify = spec.source.verify;
      if (verify) await deps.verify(spec.source.repoURL, revision, credentials, await secretData(target, verify.secretRef, 'spec.source.verify.secretRef'), refName(verify.secretRef));
      planned = fresh?.planned ?? (await planObjects(await deps.render(spec.source.repoURL, revision, spec.source.path, credentials), {
        cluster: target.cluster,
        app: ref,
        defaultNamespace: spec.destination.namespace,
        policy: { allowPlaintextSecrets: spec.allowPlaintextSecrets },
      }));
    } catch (err) {
      if (spec.automated || syncAsked) recordAttempt(status, revision, 'Failed', err, syncAsked ? manualSync : undefined);
      status.sync = { status: 'OutOfSync', revision };
      throw err;
    }

    const moved = revision !== status.lastAppliedRevision || status.observedGeneration !== generation || refreshed || !known;
    if ((spec.automated && moved) || syncAsked) {
      return applySteps(ref, key, spec, status, revision, generation, planned, syncAsked ? manualSync : undefined, target);
    }
    const memo: AppMemory = fresh ?? { revision, generation, planned, versions: new Map(), heals: 0, nextHealAt: 0 };
    memory.set(key, memo);
    return driftSteps(ref, key, spec, status, revision, memo, target);
  }

  /** Step 4: the sync of a revision. */
  async function applySteps(
    ref: AppRef,
    key: string,
    spec: ApplicationSpec,
    status: ApplicationStatus,
    revision: string,
    generation: number,
    planned: PlannedObject[],
    manualSync: string | undefined,
    target: Target,
  ): Promise<ReconcileOutcome> {
    const before = status.inventory ?? [];
    const entries = planned.map((p) => entryOf(p.object));
    const label = appLabelValue(ref.namespace, ref.name);
    let pruned = 0;
    try {
      if (!entries.length && before.length && !spec.automated?.allowEmpty) {
        throw new StalledError('EmptyRevision', `revision ${short(revision)} renders no objects; ${before.length} applied objects are kept (set spec.syncPolicy.automated.allowEmpty to prune them all)`);
      }
      status.lastAttemptedRevision = revision;
      target.watch(entries);
      const versions = await applyRevision(planned, target.cluster);
      const stale = before.filter((old) => !entries.some((e) => sameObject(e, old)));
      let kept: InventoryEntry[] = stale;
      let pruneFailure: string | undefined;
      if (spec.automated?.prune && stale.length) {
        const result = await prune(stale, label, target.cluster);
        pruned = result.deleted.length;
        kept = result.failed.map((f) => f.entry);
        pruneFailure = result.failed.map((f) => f.message).join('; ') || undefined;
      }
      status.inventory = [...entries, ...kept];
      status.lastAppliedRevision = revision;
      status.drift = [];
      status.sync = { status: kept.length ? 'OutOfSync' : 'Synced', revision };
      memory.set(key, { revision, generation, planned, versions, heals: 0, nextHealAt: 0 });
      if (pruneFailure) throw new TransientError('PruneFailed', `applied ${short(revision)}, but could not prune: ${pruneFailure}`);
      const message = `applied revision ${short(revision)}: ${entries.length} objects${pruned ? `, ${pruned} pruned` : ''}${kept.length ? `, ${kept.length} not pruned (prune is off)` : ''}`;
      recordAttempt(status, revision, 'Succeeded', message, manualSync);
      deps.observer.synced(ref, revision, entries.length, pruned);
      return { ready: true, reason: 'Synced', message, reconciling: false, stalled: false };
    } catch (err) {
      if (!(err instanceof WaitingError)) recordAttempt(status, revision, 'Failed', err, manualSync);
      status.sync = { status: 'OutOfSync', revision };
      throw err;
    }
  }

  /** Step 5: drift of the applied objects, healed when asked. */
  async function driftSteps(ref: AppRef, key: string, spec: ApplicationSpec, status: ApplicationStatus, revision: string, memo: AppMemory, target: Target): Promise<ReconcileOutcome> {
    const synced = revision === status.lastAppliedRevision;
    if (!synced) {
      status.sync = { status: 'OutOfSync', revision };
      const message = `revision ${short(revision)} is not applied (${status.lastAppliedRevision ? `${short(status.lastAppliedRevision)} is` : 'nothing is'}); sync with the ${APP_ANNOTATIONS.sync} annotation or set spec.syncPolicy.automated`;
      return { ready: true, reason: 'OutOfSync', message, reconciling: false, stalled: false };
    }
    target.watch(memo.planned.map((p) => entryOf(p.object)));
    const drift: DriftEntry[] = [];
    const drifted: PlannedObject[] = [];
    for (const p of memo.planned) {
      const id = describeObject(idOf(p.object));
      const cached = await target.live(entryOf(p.object));
      if (cached && (cached.metadata as { resourceVersion?: string }).resourceVersion === memo.versions.get(id)) continue;
      // Changed (or gone) in the cache: read it fresh, since a watch that was down may still hold an old copy.
      const live = await target.cluster.get(entryOf(p.object));
      const version = (live?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      if (live && version === memo.versions.get(id)) continue;
      const fields = await driftOf(p.object, live, target.cluster).catch((err: unknown) => {
        throw new TransientError('DriftCheckFailed', `compare ${id}: ${restFailure(err)}`, { cause: err });
      });
      if (fields.length) {
        drift.push({ ...entryOf(p.object), fields });
        drifted.push(p);
      } else if (version) memo.versions.set(id, version);
    }
    const unpruned = (status.inventory ?? []).length - memo.planned.length;
    status.drift = drift;
    status.sync = { status: drift.length || unpruned > 0 ? 'OutOfSync' : 'Synced', revision };
    if (!drift.length) {
      memo.heals = 0;
      return { ready: true, reason: 'Synced', message: `revision ${short(revision)} is applied and matches the cluster`, reconciling: false, stalled: false };
    }
    const heal = spec.automated?.selfHeal === true;
    deps.observer.drifted(ref, drift, heal);
    const summary = drift.map((d) => `${describeObject(d)} (${d.fields.join(', ')})`).join('; ');
    if (!heal) return { ready: true, reason: 'DriftDetected', message: `the cluster differs from revision ${short(revision)}: ${summary}`, reconciling: false, stalled: false };
    const now = deps.clock().getTime();
    if (now < memo.nextHealAt) {
      deps.requeue(key, memo.nextHealAt - now);
      return { ready: false, reason: 'HealBackoff', message: `drift keeps coming back; next heal in ${Math.ceil((memo.nextHealAt - now) / 1000)} s: ${summary}`, reconciling: true, stalled: false };
    }
    // Re-apply only what drifted, in apply order (a sub-list of the plan keeps its order).
    const versions = await applyRevision(drifted, target.cluster);
    for (const [id, v] of versions) memo.versions.set(id, v);
    memo.heals++;
    memo.nextHealAt = now + backoff(memo.heals, HEAL_BASE_MS, HEAL_MAX_MS);
    status.drift = [];
    status.sync = { status: unpruned > 0 ? 'OutOfSync' : 'Synced', revision };
    return { ready: true, reason: 'Healed', message: `re-applied what drifted from revision ${short(revision)}: ${summary}`, reconciling: false, stalled: false };
  }

  /** The data of a referenced Secret, read with the Application's identity. */
  async function secretData(target: Target, ref: SecretRef, field: string): Promise<Record<string, string>> {
    const secret = await target.home.get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.name });
    if (!secret) throw new WaitingError('SecretNotFound', `Secret ${refName(ref)} (${field}) does not exist`, 30_000);
    return (secret.data as Record<string, string> | undefined) ?? {};
  }

  /** Under `--no-cross-namespace-refs`, every Secret an Application names must be in its own namespace. */
  function checkRefs(ref: AppRef, spec: ApplicationSpec): void {
    if (deps.crossNamespaceRefs) return;
    const refs: Array<[string, SecretRef | undefined]> = [
      ['spec.source.secretRef', spec.source.secretRef],
      ['spec.source.verify.secretRef', spec.source.verify?.secretRef],
      ['spec.destination.cluster.secretRef', spec.destination.cluster?.secretRef],
    ];
    for (const [field, r] of refs) {
      if (r && r.namespace !== ref.namespace) {
        throw new StalledError('CrossNamespaceRef', `${field} names Secret ${refName(r)} outside the Application's namespace ${ref.namespace}, which --no-cross-namespace-refs forbids`);
      }
    }
  }

  async function healthOf(target: Target, inventory: readonly InventoryEntry[]): Promise<{ status: HealthStatus; message?: string }> {
    const each = await Promise.all(inventory.map(async (e) => ({ e, h: assessHealth(await target.live(e)) })));
    const status = aggregateHealth(each.map((x) => x.h.status));
    const worst = each.find((x) => x.h.status === status && status !== 'Healthy');
    return worst ? { status, message: `${describeObject(worst.e)}: ${worst.h.message ?? status}` } : { status };
  }

  /** Adds a sync attempt to the history; `outcome` is the summary of a success or what failed. */
  function recordAttempt(status: ApplicationStatus, revision: string, result: 'Succeeded' | 'Failed', outcome: unknown, manualSync: string | undefined): void {
    const time = deps.clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const message = outcome === undefined ? undefined : outcome instanceof Error ? outcome.message : String(outcome);
    const entry = { revision, time, result, ...(message ? { message: message.slice(0, 1024) } : {}) };
    const last = status.history?.[0];
    // The same attempt failing the same way again (every interval) updates its time instead of filling the history.
    if (last && last.revision === revision && last.result === result && last.message === entry.message) status.history = [entry, ...status.history!.slice(1)];
    else status.history = withHistory(status.history, entry);
    if (manualSync !== undefined) status.lastHandledSync = manualSync;
  }
}

/**
 * How the work queue retries the `attempt`-th consecutive failure: transient ones after the Application's
 * `syncPolicy.retry` backoff, until its limit; then not before the next interval (Stalled for the queue,
 * while the interval's requeue still comes).
 */
export function retryPolicy(err: SigilError, spec: ApplicationSpec | undefined, attempt: number): SigilError {
  if (!(err instanceof TransientError) || !spec) return err;
  const { limit, durationMs, factor, maxDurationMs } = spec.retry;
  if (attempt > limit) return new StalledError(err.reason, `${err.message} (gave up after ${limit} retries; next try at the interval)`, { cause: err });
  return new WaitingError(err.reason, err.message, backoff(attempt, durationMs, maxDurationMs, factor), { cause: err });
}

function refName(ref: SecretRef): string {
  return `${ref.namespace}/${ref.name}`;
}

function short(sha: string): string {
  return /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 7) : sha;
}
