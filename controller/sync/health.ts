/**
 * The health of live objects, in the manner of Argo CD's built-in health checks and kstatus: one rule per
 * well-known kind (workloads, Pods, claims, Services, Ingresses, CRDs, SealedSecrets, Applications), a
 * generic rule for everything else (observedGeneration, then a `Ready` condition), and the aggregate of many.
 * Pure: reads only the object it is given. Messages are built from `status` fields alone, never from `data`
 * or `spec`, so a Secret's values cannot end up in an Application's status.
 */

/** How healthy an object is, as Argo CD names it. */
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Suspended' | 'Unknown';

/** The health of one object, with what a person should read when it is not Healthy. */
export interface Health {
  status: HealthStatus;
  message?: string;
}

type Obj = Record<string, unknown>;
type Rule = (obj: Obj) => Health;

/** Worst first: the order `aggregateHealth` ranks by. */
const WORST_FIRST: readonly HealthStatus[] = ['Degraded', 'Missing', 'Progressing', 'Suspended', 'Unknown', 'Healthy'];

/**
 * The health of one live object; `undefined` (not found) is Missing. An object being deleted is Progressing.
 * Kinds with a rule of their own are matched by API group and kind (any version); SealedSecret by kind alone,
 * so both Sigil's and Sealed Secrets' count. Never throws: fields of the wrong type count as absent.
 */
export function assessHealth(obj: Record<string, unknown> | undefined): Health {
  if (!obj) return { status: 'Missing', message: 'not found in the cluster' };
  if (at(obj, 'metadata', 'deletionTimestamp') !== undefined) return progressing('Pending deletion');
  const kind = str(obj.kind) ?? '';
  const group = groupOf(str(obj.apiVersion) ?? '');
  if (kind === 'SealedSecret') return sealedSecret(obj, group);
  return (RULES.get(`${group}/${kind}`) ?? generic)(obj);
}

/** The worst of `statuses`: Degraded > Missing > Progressing > Suspended > Unknown > Healthy; none → Healthy. */
export function aggregateHealth(statuses: readonly HealthStatus[]): HealthStatus {
  return WORST_FIRST.find((s) => statuses.includes(s)) ?? 'Healthy';
}

const RULES = new Map<string, Rule>([
  ['apps/Deployment', deployment],
  ['apps/StatefulSet', statefulSet],
  ['apps/DaemonSet', daemonSet],
  ['apps/ReplicaSet', replicaSet],
  ['batch/Job', job],
  ['/Pod', pod],
  ['/PersistentVolumeClaim', persistentVolumeClaim],
  ['/Service', service],
  ['networking.k8s.io/Ingress', ingress],
  ['extensions/Ingress', ingress],
  ['apiextensions.k8s.io/CustomResourceDefinition', customResourceDefinition],
  ['sigil.dev/Application', application],
]);

// Paused first, as Argo CD does: a person paused it, and that is what they should see.
function deployment(obj: Obj): Health {
  if (at(obj, 'spec', 'paused') === true) return { status: 'Suspended', message: 'Deployment is paused' };
  const pending = unobserved(obj, true);
  if (pending) return pending;
  const progress = condition(obj, 'Progressing');
  if (progress?.status === 'False' && progress.reason === 'ProgressDeadlineExceeded') {
    return degraded(detail('Deployment exceeded its progress deadline', progress.message));
  }
  const replicas = num(at(obj, 'spec', 'replicas')) ?? 1;
  const { updatedReplicas: updated = 0, replicas: current = 0, availableReplicas: available = 0 } = counts(obj);
  if (updated < replicas) return progressing(`Waiting for rollout: ${updated} of ${replicas} replicas are updated`);
  if (current > updated) return progressing(`Waiting for rollout: ${current - updated} old replicas are pending termination`);
  if (available < updated) return progressing(`Waiting for rollout: ${available} of ${updated} updated replicas are available`);
  return healthy();
}

// kstatus's order. A partition above 0 holds pods back on purpose, so the revisions never match; the rollout
// is done once every pod above the partition is updated.
function statefulSet(obj: Obj): Health {
  const pending = unobserved(obj, true);
  if (pending) return pending;
  const replicas = num(at(obj, 'spec', 'replicas')) ?? 1;
  const { readyReplicas: ready = 0, replicas: current = 0, updatedReplicas: updated = 0 } = counts(obj);
  if (at(obj, 'spec', 'updateStrategy', 'type') === 'OnDelete') {
    return healthy(`OnDelete update strategy: ${ready} of ${replicas} pods are ready`);
  }
  if (ready < replicas) return progressing(`Waiting for rollout: ${ready} of ${replicas} pods are ready`);
  if (current > replicas) return progressing(`Waiting for scale down: ${current - replicas} pods are pending termination`);
  const partition = num(at(obj, 'spec', 'updateStrategy', 'rollingUpdate', 'partition')) ?? 0;
  if (partition > 0) {
    const target = Math.max(replicas - partition, 0);
    if (updated < target) return progressing(`Waiting for partitioned rollout: ${updated} of ${target} pods are updated`);
    return healthy(`Partitioned rollout complete: ${updated} pods are updated`);
  }
  const updateRevision = str(at(obj, 'status', 'updateRevision'));
  if (updateRevision !== str(at(obj, 'status', 'currentRevision'))) {
    return progressing(`Waiting for rollout: ${updated} of ${replicas} pods are at revision ${updateRevision ?? '(unknown)'}`);
  }
  return healthy();
}

function daemonSet(obj: Obj): Health {
  const pending = unobserved(obj, true);
  if (pending) return pending;
  const { desiredNumberScheduled: desired = 0, updatedNumberScheduled: updated = 0, numberAvailable: available = 0 } = counts(obj);
  if (at(obj, 'spec', 'updateStrategy', 'type') === 'OnDelete') {
    return healthy(`OnDelete update strategy: ${updated} of ${desired} pods are updated`);
  }
  if (updated < desired) return progressing(`Waiting for rollout: ${updated} of ${desired} pods are updated`);
  if (available < desired) return progressing(`Waiting for rollout: ${available} of ${desired} pods are available`);
  return healthy();
}

function replicaSet(obj: Obj): Health {
  const pending = unobserved(obj, true);
  if (pending) return pending;
  const failure = condition(obj, 'ReplicaFailure');
  if (failure?.status === 'True') return degraded(failure.message || failure.reason || 'ReplicaFailure');
  const replicas = num(at(obj, 'spec', 'replicas')) ?? 1;
  const available = counts(obj).availableReplicas ?? 0;
  if (available < replicas) return progressing(`Waiting for rollout: ${available} of ${replicas} replicas are available`);
  return healthy();
}

function job(obj: Obj): Health {
  const failed = condition(obj, 'Failed');
  if (failed?.status === 'True') return degraded(failed.message || failed.reason || 'Job failed');
  if (condition(obj, 'Complete')?.status === 'True') return healthy();
  if (at(obj, 'spec', 'suspend') === true) return { status: 'Suspended', message: 'Job is suspended' };
  const { active = 0, succeeded = 0, failed: failures = 0 } = counts(obj);
  return progressing(`Waiting for the Job to complete: ${active} active, ${succeeded} succeeded, ${failures} failed pods`);
}

/** Waiting reasons that do not clear by themselves (Argo CD's test: Err…, …Error, …BackOff). */
const STUCK = /^Err|Error$|BackOff$|^InvalidImageName$/;

// Terminal phases first; then containers stuck waiting, which keep a Pod Pending or Running for ever. A Pod
// that restarts only on failure (or never) has a finite life: it is Progressing until it Succeeds, like a
// Job, even when Ready (Argo CD's rule).
function pod(obj: Obj): Health {
  const phase = str(at(obj, 'status', 'phase'));
  const statuses = [...list(at(obj, 'status', 'initContainerStatuses')), ...list(at(obj, 'status', 'containerStatuses'))];
  if (phase === 'Succeeded') return healthy();
  if (phase === 'Failed') {
    const exited = statuses.map(terminated).find((t) => t !== undefined);
    return degraded(str(at(obj, 'status', 'message')) || exited || 'Pod failed');
  }
  const stuck = statuses.flatMap((c) => {
    const waiting = rec(at(c, 'state', 'waiting'));
    const reason = str(waiting?.reason);
    return reason && STUCK.test(reason) ? [`container ${str(c.name) ?? '?'}: ${detail(reason, str(waiting?.message))}`] : [];
  });
  if (stuck.length > 0) return degraded(stuck.join('; '));
  if (phase === 'Pending') return progressing(detail('Waiting for the Pod to start', falseCondition(obj, 'PodScheduled')?.message));
  if (phase !== 'Running') return { status: 'Unknown', message: `Pod phase is ${phase ?? 'not reported'}` };
  if ((str(at(obj, 'spec', 'restartPolicy')) ?? 'Always') !== 'Always') return progressing('Waiting for the Pod to finish');
  const ready = condition(obj, 'Ready');
  if (ready?.status === 'True') return healthy();
  return progressing(detail('Waiting for the Pod to be ready', ready?.message));
}

/** Why a container stopped, from its reason and exit code (not its termination message, which the app writes). */
function terminated(container: Obj): string | undefined {
  const state = rec(at(container, 'state', 'terminated'));
  const code = num(state?.exitCode) ?? 0;
  const reason = str(state?.reason);
  if (!state || (code === 0 && reason !== 'OOMKilled')) return undefined;
  return `container ${str(container.name) ?? '?'} terminated: ${reason ?? 'Error'} (exit code ${code})`;
}

function persistentVolumeClaim(obj: Obj): Health {
  switch (str(at(obj, 'status', 'phase'))) {
    case 'Bound':
      return healthy();
    case 'Lost':
      return degraded('The claim lost its PersistentVolume');
    case 'Pending':
      return progressing('Waiting for a PersistentVolume to be bound');
    default:
      return { status: 'Unknown' };
  }
}

function service(obj: Obj): Health {
  if (at(obj, 'spec', 'type') !== 'LoadBalancer' || list(at(obj, 'status', 'loadBalancer', 'ingress')).length > 0) return healthy();
  return progressing('Waiting for the load balancer to get an address');
}

function ingress(obj: Obj): Health {
  if (list(at(obj, 'status', 'loadBalancer', 'ingress')).length > 0) return healthy();
  return progressing('Waiting for the ingress controller to publish an address');
}

function customResourceDefinition(obj: Obj): Health {
  const names = falseCondition(obj, 'NamesAccepted');
  if (names) return degraded(names.message || names.reason || 'names not accepted');
  if (condition(obj, 'Established')?.status === 'True') return healthy();
  return progressing('Waiting for the CustomResourceDefinition to be established');
}

// Sigil writes `Ready`, Sealed Secrets' controller `Synced` (controller/unseal/conditions.ts).
function sealedSecret(obj: Obj, group: string): Health {
  const pending = unobserved(obj, false);
  if (pending) return pending;
  const type = group === 'bitnami.com' ? 'Synced' : 'Ready';
  const c = condition(obj, type);
  if (!c) return progressing('Waiting for the controller to unseal it');
  if (c.status === 'True') return healthy();
  if (c.status === 'False') return degraded(c.message || c.reason || `${type} is False`);
  return progressing(detail(`Waiting for ${type}`, c.message));
}

function application(obj: Obj): Health {
  const pending = unobserved(obj, false);
  if (pending) return pending;
  const health = rec(at(obj, 'status', 'health'));
  const status = WORST_FIRST.find((s) => s === health?.status) ?? 'Unknown';
  const message = str(health?.message);
  return message ? { status, message } : { status };
}

// kstatus's generic rule, narrowed to the one condition most controllers agree on.
function generic(obj: Obj): Health {
  const pending = unobserved(obj, false);
  if (pending) return pending;
  const ready = condition(obj, 'Ready');
  if (!ready || ready.status === 'True') return healthy();
  if (ready.status === 'False' && !ready.reason.includes('Progress')) return degraded(ready.message || ready.reason || 'Ready is False');
  return progressing(detail('Waiting for Ready', ready.message));
}

/**
 * Progressing when the object's controller has not yet seen its latest spec. `required`: the controller always
 * writes observedGeneration (the workload controllers), so its absence means "not yet" too.
 */
function unobserved(obj: Obj, required: boolean): Health | undefined {
  const generation = num(at(obj, 'metadata', 'generation'));
  const observed = num(at(obj, 'status', 'observedGeneration'));
  if (generation === undefined || (observed === undefined && !required)) return undefined;
  if ((observed ?? 0) >= generation) return undefined;
  return progressing(`Waiting for the controller to observe generation ${generation}`);
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

function condition(obj: Obj, type: string): Condition | undefined {
  const found = list(at(obj, 'status', 'conditions')).find((c) => c.type === type);
  return found && { type, status: str(found.status) ?? 'Unknown', reason: str(found.reason) ?? '', message: str(found.message) ?? '' };
}

function falseCondition(obj: Obj, type: string): Condition | undefined {
  const c = condition(obj, type);
  return c?.status === 'False' ? c : undefined;
}

/** The numeric fields of `status`. */
function counts(obj: Obj): Record<string, number | undefined> {
  const status = rec(obj.status) ?? {};
  return Object.fromEntries(Object.entries(status).filter(([, v]) => num(v) !== undefined)) as Record<string, number>;
}

function healthy(message?: string): Health {
  return message ? { status: 'Healthy', message } : { status: 'Healthy' };
}

function progressing(message: string): Health {
  return { status: 'Progressing', message };
}

function degraded(message: string): Health {
  return { status: 'Degraded', message };
}

function detail(text: string, more: string | undefined): string {
  return more ? `${text}: ${more}` : text;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function at(obj: unknown, ...path: string[]): unknown {
  let value = obj;
  for (const key of path) value = rec(value)?.[key];
  return value;
}

function rec(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(rec).filter((v): v is Obj => v !== undefined) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
