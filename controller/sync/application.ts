/**
 * The Application resource (`applications.sigil.dev/v1`): its spec read into a typed, defaulted form, and
 * the shape of its status. The CRD (controller/deploy/crds/applications.sigil.dev.yaml) defaults and checks
 * most fields already; this reading checks what a schema cannot and never trusts that it ran.
 */
import { StalledError } from '../../shared/errors.js';
import { parseDuration } from '../config.js';
import type { HealthStatus } from './health.js';

export const APPLICATION_API = { group: 'sigil.dev', version: 'v1', plural: 'applications', kind: 'Application' } as const;

/** Annotations a person sets on an Application. */
export const APP_ANNOTATIONS = {
  /** Any new value: look at Git now. */
  refresh: 'sigil.dev/refresh',
  /** Any new value: sync now, also when not automated. */
  sync: 'sigil.dev/sync',
} as const;

/** A Secret an Application names; the namespace defaults to the Application's. */
export interface SecretRef {
  namespace: string;
  name: string;
}

/** The spec, defaulted. Durations in milliseconds. */
export interface ApplicationSpec {
  source: {
    repoURL: string;
    targetRevision: string;
    path: string;
    secretRef?: SecretRef;
    /** Only revisions whose head commit is signed by a key of this Secret are applied. */
    verify?: { mode: 'head'; secretRef: SecretRef };
  };
  /** `cluster`: a remote cluster, by a Secret holding its kubeconfig; absent: the controller's own cluster. */
  destination: { namespace: string; cluster?: { secretRef: SecretRef } };
  /** Every read and write for this Application impersonates this ServiceAccount of its namespace. */
  serviceAccountName?: string;
  automated?: { prune: boolean; selfHeal: boolean; allowEmpty: boolean };
  intervalMs: number;
  retry: { limit: number; durationMs: number; factor: number; maxDurationMs: number };
  allowPlaintextSecrets: boolean;
  suspend: boolean;
}

/** One object the Application applied. */
export interface InventoryEntry {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** What the engine last saw differ between Git and the cluster. */
export interface DriftEntry extends InventoryEntry {
  fields: string[];
}

/** One sync attempt, newest first in `status.history`. */
export interface HistoryEntry {
  revision: string;
  time: string;
  result: 'Succeeded' | 'Failed';
  message?: string;
}

/** A Kubernetes condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** The status the engine writes. */
export interface ApplicationStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  sync?: { status: 'Synced' | 'OutOfSync' | 'Unknown'; revision?: string };
  health?: { status: HealthStatus; message?: string };
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastHandledRefresh?: string;
  lastHandledSync?: string;
  inventory?: InventoryEntry[];
  drift?: DriftEntry[];
  history?: HistoryEntry[];
}

/** An Application as the informer caches it. */
export interface ApplicationResource {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; annotations?: Record<string, string> };
  spec?: unknown;
  status?: ApplicationStatus;
}

const DEFAULT_INTERVAL = '3m';

/**
 * Reads and defaults the spec of `app`. Throws StalledError('InvalidSpec', …) naming the field and why.
 */
export function readApplicationSpec(app: ApplicationResource): ApplicationSpec {
  const where = `Application ${app.metadata?.namespace}/${app.metadata?.name}`;
  const fail = (field: string, why: string): never => {
    throw new StalledError('InvalidSpec', `${where}: spec${field ? `.${field}` : ''} ${why}`);
  };
  const spec = record(app.spec) ?? fail('', 'is missing');
  const source = record(spec.source) ?? fail('source', 'is missing');
  const repoURL = string(source.repoURL) || fail('source.repoURL', 'is missing');
  if (!/^(https?|ssh|git|file):\/\/|^[\w.-]+@[\w.-]+:/.test(repoURL)) fail('source.repoURL', 'must be an https://, http://, ssh://, git:// or file:// URL (or user@host:path)');
  // Only a leading `.` segment is dropped: `..` and `.hidden` keep their dots, and `/` is refused before its slash goes.
  const rawPath = string(source.path) || '.';
  const path = rawPath.replace(/^\.(\/|$)/, '').replace(/\/$/, '');
  if (rawPath.startsWith('/') || path.split('/').includes('..')) fail('source.path', 'must be a relative path inside the repository');
  const ref = (field: string, value: unknown): SecretRef | undefined => {
    const r = record(value);
    if (!r) return undefined;
    const name = string(r.name) || fail(`${field}.name`, 'is missing');
    return { namespace: string(r.namespace) || app.metadata?.namespace || 'default', name };
  };
  const secretRef = ref('source.secretRef', source.secretRef);
  const verifySpec = record(source.verify);
  if (verifySpec && verifySpec.mode !== undefined && verifySpec.mode !== 'head') fail('source.verify.mode', `must be head, not ${JSON.stringify(verifySpec.mode)}`);
  const verifyRef = verifySpec ? (ref('source.verify.secretRef', verifySpec.secretRef) ?? fail('source.verify.secretRef', 'is missing')) : undefined;
  const destination = record(spec.destination) ?? {};
  const clusterSpec = record(destination.cluster);
  const clusterRef = clusterSpec ? (ref('destination.cluster.secretRef', clusterSpec.secretRef) ?? fail('destination.cluster.secretRef', 'is missing')) : undefined;
  const serviceAccountName = string(spec.serviceAccountName);
  if (serviceAccountName && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(serviceAccountName)) fail('serviceAccountName', 'is not a valid ServiceAccount name');
  const policy = record(spec.syncPolicy) ?? {};
  const automated = record(policy.automated);
  const retry = record(policy.retry) ?? {};
  const backoff = record(retry.backoff) ?? {};
  const duration = (field: string, value: unknown, fallback: string): number => {
    try {
      return parseDuration(string(value) || fallback);
    } catch {
      return fail(field, `is not a duration such as 30s, 3m or 1h: ${JSON.stringify(value)}`);
    }
  };
  const intervalMs = duration('syncPolicy.interval', policy.interval, DEFAULT_INTERVAL);
  if (intervalMs < 1000) fail('syncPolicy.interval', 'must be at least 1s');
  return {
    source: {
      repoURL,
      targetRevision: string(source.targetRevision) || 'main',
      path,
      ...(secretRef ? { secretRef } : {}),
      ...(verifyRef ? { verify: { mode: 'head' as const, secretRef: verifyRef } } : {}),
    },
    destination: { namespace: string(destination.namespace) || app.metadata?.namespace || 'default', ...(clusterRef ? { cluster: { secretRef: clusterRef } } : {}) },
    ...(serviceAccountName ? { serviceAccountName } : {}),
    ...(automated ? { automated: { prune: automated.prune === true, selfHeal: automated.selfHeal === true, allowEmpty: automated.allowEmpty === true } } : {}),
    intervalMs,
    retry: {
      limit: typeof retry.limit === 'number' ? retry.limit : 5,
      durationMs: duration('syncPolicy.retry.backoff.duration', backoff.duration, '5s'),
      factor: typeof backoff.factor === 'number' ? backoff.factor : 2,
      maxDurationMs: duration('syncPolicy.retry.backoff.maxDuration', backoff.maxDuration, '3m'),
    },
    allowPlaintextSecrets: record(spec.policy)?.allowPlaintextSecrets === true,
    suspend: spec.suspend === true,
  };
}

/** `namespace.name`: the value of the `sigil.dev/app` label on what the Application applied. */
export function appLabelValue(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function string(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}
