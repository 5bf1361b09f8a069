/**
 * Secret → SealedSecret with the cluster key: every data value sealed on its own, bound to the scope's label.
 */
import type { KeyObject } from 'node:crypto';
import { hybridEncrypt, type RandomSource } from '../crypto/hybrid.js';
import { scopeLabel, type Scope } from '../crypto/scope.js';
import type { SealedSecretApi, SealedSecret } from '../manifest/sealed-secret.js';
import type { PlainSecret } from '../manifest/secret.js';
import { StalledError } from '../errors.js';

/** Where a sealed value may be opened: the Secret it belongs to and the scope that binds it. */
export interface SealTarget {
  name: string;
  namespace: string;
  scope: Scope;
}

/** Seals one value for `target`; returns standard padded base64. */
export function sealValue(
  publicKey: KeyObject,
  target: SealTarget,
  plaintext: Buffer,
  random?: RandomSource,
): string {
  const label = scopeLabel(target.scope, target.namespace, target.name);
  return hybridEncrypt(publicKey, label, plaintext, random).toString('base64');
}

/** Seals every value of `data` for `target`, keys sorted so a file's diff is stable. */
export function sealData(
  publicKey: KeyObject,
  target: SealTarget,
  data: ReadonlyMap<string, Buffer>,
  random?: RandomSource,
): Map<string, string> {
  const sealed = new Map<string, string>();
  for (const key of [...data.keys()].sort()) sealed.set(key, sealValue(publicKey, target, data.get(key)!, random));
  return sealed;
}

/** Options for sealing a whole Secret. */
export interface SealSecretOptions {
  publicKey: KeyObject;
  scope: Scope;
  api: SealedSecretApi;
  /** Used when the Secret names no namespace. */
  defaultNamespace: string;
  random?: RandomSource;
}

/**
 * Seals a validated Secret into a SealedSecret that carries its labels, annotations, type and immutability
 * in the template. Throws StalledError when the Secret's namespace contradicts an explicit one.
 */
export function sealSecret(secret: PlainSecret, options: SealSecretOptions): SealedSecret {
  const target = sealTarget(secret, options.scope, options.defaultNamespace);
  return sealedSecretFor(secret, target, options.api, sealData(options.publicKey, target, secret.data, options.random));
}

/**
 * Where `secret`'s values are sealed for: its name, its namespace (else `defaultNamespace`) and `scope`.
 * @throws StalledError('InvalidManifest') when there is no namespace at all and the scope needs one.
 */
export function sealTarget(secret: PlainSecret, scope: Scope, defaultNamespace: string): SealTarget {
  const namespace = secret.namespace ?? defaultNamespace;
  if (!namespace && scope !== 'cluster-wide') {
    throw new StalledError('InvalidManifest', `${secret.where}: no namespace; give one with -n or in metadata`);
  }
  return { name: secret.name, namespace, scope };
}

/** The SealedSecret holding `encryptedData` for `secret` at `target`: its template carries the Secret's metadata, type and immutability. */
export function sealedSecretFor(secret: PlainSecret, target: SealTarget, api: SealedSecretApi, encryptedData: Map<string, string>): SealedSecret {
  return {
    api,
    name: target.name,
    namespace: target.namespace || undefined,
    scope: target.scope,
    encryptedData,
    template: {
      labels: secret.labels,
      annotations: secret.annotations,
      type: secret.type,
      ...(secret.immutable !== undefined ? { immutable: secret.immutable } : {}),
    },
    outerLabels: {},
    outerAnnotations: {},
  };
}
