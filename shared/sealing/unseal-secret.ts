/**
 * SealedSecret → Secret with the cluster's private keys: the one step both `seal unseal` (recovery) and the
 * controller run. Error text names the SealedSecret and key, never a value.
 */
import type { KeyObject } from 'node:crypto';
import { hybridDecrypt, OpenError } from '../crypto/hybrid.js';
import { scopeLabel } from '../crypto/scope.js';
import type { SealedSecret } from '../manifest/sealed-secret.js';
import { BASE64_PATTERN } from '../manifest/secret.js';
import { StalledError } from '../errors.js';

/** A Secret manifest as the API server takes it. */
export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type: string;
  immutable?: boolean;
  data: Record<string, string>;
}

/** The Secret and, per key, the index into `keys` of the key that opened it. */
export interface Unsealed {
  secret: SecretObject;
  keyIndexes: Map<string, number>;
}

/** The name used in messages: `namespace/name`, or `name` when cluster-wide with no namespace. */
export function sealedSecretRef(ss: Pick<SealedSecret, 'name' | 'namespace'>): string {
  return ss.namespace ? `${ss.namespace}/${ss.name}` : ss.name;
}

/**
 * Opens every value of a cluster-key SealedSecret with the first of `keys` that fits.
 * Throws StalledError (reason `DecryptFailed`) naming the SealedSecret, the key and why (truncated, no key
 * opens it, altered); a Vault-sealed object is refused here (reason `VaultSealed`).
 */
export function unsealSecret(ss: SealedSecret, keys: readonly KeyObject[]): Unsealed {
  const ref = sealedSecretRef(ss);
  if (ss.vault) {
    throw new StalledError('VaultSealed', `SealedSecret ${ref} is sealed with Vault transit key ${ss.vault.key}, not a cluster key`);
  }
  const label = scopeLabel(ss.scope, ss.namespace ?? '', ss.name);
  const data: [string, string][] = [];
  const keyIndexes = new Map<string, number>();
  for (const [key, value] of ss.encryptedData) {
    try {
      const { plaintext, keyIndex } = hybridDecrypt(keys, label, decodeBase64(value));
      data.push([key, plaintext.toString('base64')]);
      keyIndexes.set(key, keyIndex);
    } catch (err) {
      const why = err instanceof OpenError ? err.message : 'it could not be decrypted';
      throw new StalledError('DecryptFailed', `SealedSecret ${ref}: key ${key}: ${why}`);
    }
  }
  return { secret: secretObject(ss, data), keyIndexes };
}

/** The Secret `ss` unseals to, holding `data` (key → standard base64, in the given order). */
export function secretObject(ss: SealedSecret, data: Iterable<readonly [string, string]>): SecretObject {
  const { labels, annotations, type, immutable } = ss.template;
  const metadata: SecretObject['metadata'] = { name: ss.name };
  if (ss.namespace) metadata.namespace = ss.namespace;
  if (Object.keys(labels).length) metadata.labels = labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  return { apiVersion: 'v1', kind: 'Secret', metadata, type, ...(immutable !== undefined ? { immutable } : {}), data: Object.fromEntries(data) };
}

/** Strict standard base64 (whitespace tolerated, as YAML folding may add it); throws OpenError otherwise. */
function decodeBase64(value: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (!BASE64_PATTERN.test(compact)) throw new OpenError('the value is not valid base64');
  return Buffer.from(compact, 'base64');
}
