/**
 * Static checks on rendered objects, before anything touches a cluster: what every object needs to be
 * applied and tracked (apiVersion, kind, a valid name), a readable sync-wave, and no plain Secret in Git
 * unless the Application allows it. Duplicates are found later, once discovery says which kinds are
 * namespaced (plan.ts). The API server's dry-run judges everything else.
 */
import { StalledError } from '../../shared/errors.js';
import { describeType, isMapping, notAString, objectLabel } from '../../shared/manifest/fields.js';
import { parseSyncWave, SYNC_WAVE_ANNOTATION } from './order.js';
import type { RenderedObject } from './render.js';

/** What an Application allows in its source. */
export interface ObjectPolicy {
  /** Apply `v1` Secrets found in Git instead of refusing them. */
  allowPlaintextSecrets: boolean;
}

/** How many problems a message lists before it only counts the rest. */
const MAX_LISTED = 10;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RBAC names are path segments (`system:aggregate-to-view` is common), not DNS names. */
const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];

/**
 * Checks every object and returns when all are fine.
 * @throws StalledError('InvalidRevision') listing every problem found (listProblems), each as
 *   `<source> document <index+1>: [<Kind> <namespace>/<name>: ]<problem>`.
 */
export function checkObjects(objects: readonly RenderedObject[], policy: ObjectPolicy): void {
  const problems = objects.flatMap(({ object, source, index }) => {
    const label = typeof object.kind === 'string' && object.kind !== '' ? `${objectLabel(object.kind, object.metadata)}: ` : '';
    return problemsOf(object, policy).map((problem) => `${source} document ${index + 1}: ${label}${problem}`);
  });
  if (problems.length > 0) throw new StalledError('InvalidRevision', listProblems(problems));
}

/** `a; b; c`, at most the first 10, then `; … and N more`: one line for a condition message. */
export function listProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_LISTED).join('; ');
  return problems.length > MAX_LISTED ? `${shown}; … and ${problems.length - MAX_LISTED} more` : shown;
}

function problemsOf(object: Record<string, unknown>, policy: ObjectPolicy): string[] {
  const problems = [requiredString(object.apiVersion, 'apiVersion'), requiredString(object.kind, 'kind')];
  const metadata = object.metadata ?? {};
  if (!isMapping(metadata)) {
    problems.push(`metadata is ${describeType(metadata)}, not a mapping`);
  } else {
    problems.push(nameProblem(metadata.name, object), namespaceProblem(metadata.namespace), syncWaveProblem(metadata.annotations));
  }
  if (object.apiVersion === 'v1' && object.kind === 'Secret' && !policy.allowPlaintextSecrets) {
    problems.push('plain Secrets are refused in Git (seal it with seal, or set spec.policy.allowPlaintextSecrets)');
  }
  return problems.filter((p): p is string => p !== undefined);
}

function requiredString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return `${field} is missing`;
  if (typeof value !== 'string') return notAString(field, value);
  return value === '' ? `${field} is empty` : undefined;
}

function nameProblem(name: unknown, object: Record<string, unknown>): string | undefined {
  const missing = requiredString(name, 'metadata.name');
  if (missing !== undefined || typeof name !== 'string') return missing;
  if (typeof object.kind === 'string' && RBAC_KINDS.includes(object.kind) && String(object.apiVersion).startsWith('rbac.authorization.k8s.io/')) {
    return name === '.' || name === '..' || /[/%]/.test(name) ? `metadata.name may not contain '/' or '%', nor be '.' or '..'` : undefined;
  }
  return name.length <= 253 && DNS_SUBDOMAIN.test(name)
    ? undefined
    : `metadata.name must be lowercase letters, digits, '-' and '.', start and end with a letter or digit, and be at most 253 characters`;
}

function namespaceProblem(namespace: unknown): string | undefined {
  // Absent, null and "" all mean "the default namespace", as kubectl reads them.
  if (namespace === undefined || namespace === null || namespace === '') return undefined;
  if (typeof namespace !== 'string') return notAString('metadata.namespace', namespace);
  return namespace.length <= 63 && DNS_LABEL.test(namespace)
    ? undefined
    : `metadata.namespace must be lowercase letters, digits and '-', start and end with a letter or digit, and be at most 63 characters`;
}

function syncWaveProblem(annotations: unknown): string | undefined {
  if (annotations === undefined || annotations === null) return undefined;
  if (!isMapping(annotations)) return `metadata.annotations is ${describeType(annotations)}, not a mapping`;
  const wave = annotations[SYNC_WAVE_ANNOTATION];
  const field = `annotation ${SYNC_WAVE_ANNOTATION}`;
  if (wave === undefined) return undefined;
  if (typeof wave !== 'string') return notAString(field, wave);
  return parseSyncWave(wave) === undefined ? `${field} must be an integer such as "-1", "0" or "5"` : undefined;
}
