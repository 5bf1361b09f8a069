import { StalledError } from '../errors.js';
import { SCOPES, isScope, type Scope } from '../crypto/scope.js';
import {
  describeObject,
  invalid,
  isMapping,
  notAString,
  objectLabel,
  readMapping,
  readOptionalBoolean,
  readOptionalString,
  readStringMap,
} from './fields.js';

/** Sigil's own SealedSecret API. */
export const SIGIL_API_VERSION = 'sigil.dev/v1';
/** The Sealed Secrets (kubeseal) API, read and written for compatibility. */
export const BITNAMI_API_VERSION = 'bitnami.com/v1alpha1';
/** Which of the two APIs a SealedSecret is written in. */
export type SealedSecretApi = 'sigil' | 'bitnami';

/** Sealed Secrets marks the scope of a `bitnami.com/v1alpha1` object with these annotations (value "true"). */
export const BITNAMI_SCOPE_ANNOTATIONS = {
  'namespace-wide': 'sealedsecrets.bitnami.com/namespace-wide',
  'cluster-wide': 'sealedsecrets.bitnami.com/cluster-wide',
} as const;

/** What the Secret unsealed from a SealedSecret looks like, apart from its data. */
export interface SecretTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  type: string;
  immutable?: boolean;
}

/** A SealedSecret in either API, validated. */
export interface SealedSecret {
  api: SealedSecretApi;
  name: string;
  namespace?: string;
  scope: Scope;
  /** Sealed values by key, in the order they were read. */
  encryptedData: Map<string, string>;
  template: SecretTemplate;
  /** Set when the values are sealed with Vault transit instead of the cluster key (sigil.dev/v1 only). */
  vault?: { mount: string; key: string };
  outerLabels: Record<string, string>;
  outerAnnotations: Record<string, string>;
}

/** True when `value` is a SealedSecret of either API (by apiVersion and kind alone). */
export function isSealedSecret(value: Record<string, unknown>): boolean {
  return value.kind === 'SealedSecret' && (value.apiVersion === SIGIL_API_VERSION || value.apiVersion === BITNAMI_API_VERSION);
}

/**
 * Reads and validates a SealedSecret of either API. For `bitnami.com/v1alpha1` the scope comes from the
 * scope annotations, which are then left out of the returned annotations (writing adds them back).
 * Messages read `<where> (SealedSecret <namespace>/<name>): <reason>`.
 * @throws StalledError('InvalidManifest') when it is not a SealedSecret, has no name, has no namespace
 *   while not cluster-wide, has an unknown spec.scope, non-string encryptedData values, a malformed
 *   spec.vault or template, or uses Sealed Secrets' fields Sigil does not carry (spec.data, template data).
 */
export function readSealedSecret(value: Record<string, unknown>, where: string): SealedSecret {
  const at = describeObject(where, 'SealedSecret', value.metadata);
  if (!isSealedSecret(value)) {
    invalid(at, `expected apiVersion ${SIGIL_API_VERSION} or ${BITNAMI_API_VERSION} and kind SealedSecret`);
  }
  const api: SealedSecretApi = value.apiVersion === SIGIL_API_VERSION ? 'sigil' : 'bitnami';
  const metadata = readMapping(value.metadata, 'metadata', at);
  const name = readOptionalString(metadata.name, 'metadata.name', at);
  if (name === undefined || name === '') invalid(at, 'metadata.name is required');
  const namespace = readOptionalString(metadata.namespace, 'metadata.namespace', at) || undefined;
  const outerAnnotations = readStringMap(metadata.annotations, 'metadata.annotations', at);
  if (!isMapping(value.spec)) invalid(at, 'spec is required and must be a mapping');
  const spec = value.spec;
  if (spec.data !== undefined && spec.data !== null) invalid(at, 'spec.data (the pre-v0.7 Sealed Secrets format) is not supported');

  const scope = api === 'sigil' ? readScope(spec.scope, at) : bitnamiScope(outerAnnotations);
  if (namespace === undefined && scope !== 'cluster-wide') {
    invalid(at, `metadata.namespace is required: a ${scope} SealedSecret is bound to its namespace`);
  }
  const vault = api === 'sigil' ? readVault(spec.vault, at) : undefined;
  const template = readTemplate(spec.template, at);
  if (api === 'bitnami') {
    dropScopeAnnotations(outerAnnotations);
    dropScopeAnnotations(template.annotations);
  }
  return {
    api,
    name,
    ...(namespace === undefined ? {} : { namespace }),
    scope,
    encryptedData: readEncryptedData(spec.encryptedData, at),
    template,
    ...(vault === undefined ? {} : { vault }),
    outerLabels: readStringMap(metadata.labels, 'metadata.labels', at),
    outerAnnotations,
  };
}

/**
 * The manifest to write for `ss`, in its API's shape; encryptedData keys sorted for stable diffs.
 * @throws StalledError('InvalidManifest') when a bitnami.com/v1alpha1 object would carry Vault values.
 */
export function sealedSecretObject(ss: SealedSecret): Record<string, unknown> {
  const encryptedData = Object.fromEntries([...ss.encryptedData.keys()].sort().map((key) => [key, ss.encryptedData.get(key)]));
  const namespace = ss.namespace === undefined ? {} : { namespace: ss.namespace };
  const typeAndImmutable = { type: ss.template.type, ...(ss.template.immutable === undefined ? {} : { immutable: ss.template.immutable }) };
  if (ss.api === 'sigil') {
    const templateMetadata = withMaps({}, ss.template.labels, ss.template.annotations);
    return {
      apiVersion: SIGIL_API_VERSION,
      kind: 'SealedSecret',
      metadata: withMaps({ name: ss.name, ...namespace }, ss.outerLabels, ss.outerAnnotations),
      spec: {
        scope: ss.scope,
        encryptedData,
        ...(ss.vault === undefined ? {} : { vault: { mount: ss.vault.mount, key: ss.vault.key } }),
        template: { ...(Object.keys(templateMetadata).length === 0 ? {} : { metadata: templateMetadata }), ...typeAndImmutable },
      },
    };
  }
  if (ss.vault !== undefined) {
    const at = objectLabel('SealedSecret', ss);
    throw new StalledError(
      'InvalidManifest',
      `${at}: a ${BITNAMI_API_VERSION} SealedSecret cannot carry Vault values; use the ${SIGIL_API_VERSION} API`,
    );
  }
  // kubeseal marks the scope on the SealedSecret and on the template alike.
  const scopeMark: Record<string, string> = ss.scope === 'strict' ? {} : { [BITNAMI_SCOPE_ANNOTATIONS[ss.scope]]: 'true' };
  return {
    apiVersion: BITNAMI_API_VERSION,
    kind: 'SealedSecret',
    metadata: withMaps({ name: ss.name, ...namespace }, ss.outerLabels, { ...ss.outerAnnotations, ...scopeMark }),
    spec: {
      encryptedData,
      template: {
        metadata: withMaps({ name: ss.name, ...namespace }, ss.template.labels, { ...ss.template.annotations, ...scopeMark }),
        ...typeAndImmutable,
      },
    },
  };
}

/** `metadata` plus `labels` and `annotations`, each only when not empty. */
function withMaps(
  metadata: Record<string, unknown>,
  labels: Record<string, string>,
  annotations: Record<string, string>,
): Record<string, unknown> {
  return {
    ...metadata,
    ...(Object.keys(labels).length === 0 ? {} : { labels: { ...labels } }),
    ...(Object.keys(annotations).length === 0 ? {} : { annotations: { ...annotations } }),
  };
}

function readScope(value: unknown, at: string): Scope {
  if (value === undefined || value === null) return 'strict';
  if (!isScope(value)) invalid(at, `spec.scope must be one of ${SCOPES.join(', ')}`);
  return value;
}

/** As the Sealed Secrets controller decides it: cluster-wide wins over namespace-wide. */
function bitnamiScope(annotations: Record<string, string>): Scope {
  if (annotations[BITNAMI_SCOPE_ANNOTATIONS['cluster-wide']] === 'true') return 'cluster-wide';
  if (annotations[BITNAMI_SCOPE_ANNOTATIONS['namespace-wide']] === 'true') return 'namespace-wide';
  return 'strict';
}

function dropScopeAnnotations(annotations: Record<string, string>): void {
  for (const key of Object.values(BITNAMI_SCOPE_ANNOTATIONS)) delete annotations[key];
}

function readVault(value: unknown, at: string): { mount: string; key: string } | undefined {
  if (value === undefined || value === null) return undefined;
  const vault = readMapping(value, 'spec.vault', at);
  if (typeof vault.mount !== 'string' || vault.mount === '') invalid(at, 'spec.vault.mount must be a non-empty string');
  if (typeof vault.key !== 'string' || vault.key === '') invalid(at, 'spec.vault.key must be a non-empty string');
  return { mount: vault.mount, key: vault.key };
}

function readEncryptedData(value: unknown, at: string): Map<string, string> {
  const encryptedData = new Map<string, string>();
  for (const [key, item] of Object.entries(readMapping(value, 'spec.encryptedData', at))) {
    if (typeof item !== 'string') invalid(at, notAString(`spec.encryptedData.${key}`, item));
    encryptedData.set(key, item);
  }
  return encryptedData;
}

function readTemplate(value: unknown, at: string): SecretTemplate {
  const template = readMapping(value, 'spec.template', at);
  if (template.data !== undefined && template.data !== null) invalid(at, 'spec.template.data (templated values) is not supported');
  const metadata = readMapping(template.metadata, 'spec.template.metadata', at);
  const immutable = readOptionalBoolean(template.immutable, 'spec.template.immutable', at);
  return {
    labels: readStringMap(metadata.labels, 'spec.template.metadata.labels', at),
    annotations: readStringMap(metadata.annotations, 'spec.template.metadata.annotations', at),
    type: readOptionalString(template.type, 'spec.template.type', at) || 'Opaque',
    ...(immutable === undefined ? {} : { immutable }),
  };
}
