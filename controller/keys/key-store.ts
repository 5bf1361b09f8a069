/**
 * Key Secrets and the published certificate in the cluster, through client-node: list and parse key Secrets
 * (Sigil's own, or Sealed Secrets' to adopt), make a new key Secret, publish the newest certificate.
 * Nothing here logs, and no message holds key material: a bad key Secret is named with a fixed reason.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { parseCertificate, parsePrivateKeys, type SealingCert } from '../../shared/crypto/certificate.js';
import { generateSealingKey } from '../../shared/crypto/generate-key.js';
import { TransientError } from '../../shared/errors.js';
import { apiStatus, kubeError } from '../runtime/api-errors.js';
import type { SealingKey } from './key-ring.js';
import {
  CREATED_AT_ANNOTATION,
  KEY_CERT_FIELD,
  KEY_LABELS,
  KEY_NAME_PREFIX,
  KEY_PRIVATE_FIELD,
  KEY_SECRET_TYPE,
  KEY_STATES,
  type KeySource,
} from './key-names.js';
import { CERT_CONFIGMAP, CERT_CONFIGMAP_KEY } from '../../shared/names.js';

/** A key Secret that was left out, and why (a fixed text: never key material). */
export interface RejectedKey {
  name: string;
  namespace: string;
  reason: string;
}

/** The keys of one namespace and source, and the Secrets that carried the label but could not be read. */
export interface KeyList {
  keys: SealingKey[];
  rejected: RejectedKey[];
}

/**
 * Lists the key Secrets of `source` in `namespace`: every Secret carrying the source's label
 * (`sigil.dev/sealing-key` or `sealedsecrets.bitnami.com/sealed-secrets-key`), whatever its value.
 * Throws TransientError/StalledError `KeyListFailed` when the API call fails.
 */
export async function listKeys(core: k8s.CoreV1Api, namespace: string, source: KeySource): Promise<KeyList> {
  let secrets: k8s.V1SecretList;
  try {
    secrets = await core.listNamespacedSecret({ namespace, labelSelector: KEY_LABELS[source] });
  } catch (err) {
    throw kubeError('KeyListFailed', `list ${source} key Secrets in namespace ${namespace}`, err);
  }
  const list: KeyList = { keys: [], rejected: [] };
  for (const secret of secrets.items) {
    const key = keyFromSecret(secret, source, (reason) =>
      list.rejected.push({ name: secret.metadata?.name ?? '', namespace: secret.metadata?.namespace ?? namespace, reason }),
    );
    if (key) list.keys.push(key);
  }
  return list;
}

/**
 * Parses a key Secret of `source`: its label value (`active` or `compromised`), `tls.crt` (the first
 * certificate) and `tls.key` (exactly one RSA key, matching the certificate). Returns undefined, after
 * passing the reason to `onRejected`, for anything malformed; never throws on bad data.
 */
export function keyFromSecret(
  secret: k8s.V1Secret,
  source: KeySource,
  onRejected: (reason: string) => void = () => undefined,
): SealingKey | undefined {
  const reject = (reason: string): undefined => {
    onRejected(reason);
    return undefined;
  };
  const name = secret.metadata?.name;
  const namespace = secret.metadata?.namespace;
  if (!name || !namespace) return reject('the Secret has no name or namespace');
  const label = KEY_LABELS[source];
  const state = secret.metadata?.labels?.[label];
  if (state === undefined) return reject(`no label ${label}`);
  if (!(KEY_STATES as readonly string[]).includes(state)) return reject(`label ${label} is not one of ${KEY_STATES.join(', ')}`);

  const certPem = field(secret, KEY_CERT_FIELD);
  const keyPem = field(secret, KEY_PRIVATE_FIELD);
  if (certPem === undefined) return reject(`no ${KEY_CERT_FIELD}`);
  if (keyPem === undefined) return reject(`no ${KEY_PRIVATE_FIELD}`);
  let cert: SealingCert;
  try {
    cert = parseCertificate(certPem);
  } catch (err) {
    return reject(`${KEY_CERT_FIELD}: ${(err as Error).message}`); // parseCertificate's texts are fixed
  }
  let privateKeys;
  try {
    privateKeys = parsePrivateKeys(keyPem);
  } catch (err) {
    return reject(`${KEY_PRIVATE_FIELD}: ${(err as Error).message}`); // fixed texts too
  }
  const [privateKey] = privateKeys;
  if (privateKeys.length !== 1 || !privateKey) return reject(`${KEY_PRIVATE_FIELD} holds ${privateKeys.length} keys, expected 1`);
  const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(privateKey)).equals(spki(cert.publicKey))) return reject(`${KEY_PRIVATE_FIELD} does not match ${KEY_CERT_FIELD}`);
  return { name, namespace, privateKey, cert, source, compromised: state === 'compromised' };
}

/** A data field as text: `data` (base64, as the API returns it) or `stringData` (as a manifest may give it). */
function field(secret: k8s.V1Secret, key: string): string | undefined {
  const data = secret.data?.[key];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  const text = secret.stringData?.[key];
  return typeof text === 'string' && text !== '' ? text : undefined;
}

/** What a new key is made with. */
export interface NewKeyOptions {
  bits: number;
  /** Its certificate's notBefore, and the `sigil.dev/created-at` annotation. */
  now: Date;
  /** Certificate validity; generateSealingKey's default (3650) when not given. */
  validDays?: number;
}

/**
 * Generates a key (RSA off the event loop) and stores it as a new `active` key Secret in `namespace`
 * (generateName `sigil-sealing-key-`, type kubernetes.io/tls). Returns the key as stored.
 * Throws TransientError/StalledError `KeyCreateFailed` when the API call fails.
 */
export async function createKey(core: k8s.CoreV1Api, namespace: string, options: NewKeyOptions): Promise<SealingKey> {
  const generated = await generateSealingKey(options.bits, options.now, options.validDays);
  // forge ends PEM lines with CRLF; stored and published certificates use LF, as Sealed Secrets' do.
  const certPem = generated.certPem.replace(/\r\n/g, '\n');
  const keyPem = generated.keyPem.replace(/\r\n/g, '\n');
  const body: k8s.V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      generateName: KEY_NAME_PREFIX,
      namespace,
      labels: { [KEY_LABELS.sigil]: 'active' },
      annotations: { [CREATED_AT_ANNOTATION]: options.now.toISOString() },
    },
    type: KEY_SECRET_TYPE,
    data: {
      [KEY_CERT_FIELD]: Buffer.from(certPem).toString('base64'),
      [KEY_PRIVATE_FIELD]: Buffer.from(keyPem).toString('base64'),
    },
  };
  let created: k8s.V1Secret;
  try {
    created = await core.createNamespacedSecret({ namespace, body, fieldManager: 'sigil' });
  } catch (err) {
    throw kubeError('KeyCreateFailed', `create a key Secret in namespace ${namespace}`, err);
  }
  let why = '';
  const key = keyFromSecret(created, 'sigil', (reason) => (why = reason));
  if (!key) throw new TransientError('KeyCreateFailed', `the key Secret ${namespace}/${created.metadata?.name ?? ''} came back unreadable: ${why}`);
  return key;
}

/** What publishCert did. */
export type PublishResult = 'created' | 'updated' | 'unchanged';

const PUBLISH_ATTEMPTS = 3;

/**
 * Makes ConfigMap `sigil-sealing-cert` in `namespace` hold `certPem` under `cert.pem`: creates it, updates
 * it (keeping any other data), or leaves it alone when it already does. A conflict with another writer is
 * retried from a fresh read. Throws TransientError/StalledError `CertPublishFailed`.
 */
export async function publishCert(core: k8s.CoreV1Api, namespace: string, certPem: string): Promise<PublishResult> {
  const what = `ConfigMap ${namespace}/${CERT_CONFIGMAP}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await readConfigMap(core, namespace);
      if (existing?.data?.[CERT_CONFIGMAP_KEY] === certPem) return 'unchanged';
      if (!existing) {
        const body: k8s.V1ConfigMap = { metadata: { name: CERT_CONFIGMAP, namespace }, data: { [CERT_CONFIGMAP_KEY]: certPem } };
        await core.createNamespacedConfigMap({ namespace, body, fieldManager: 'sigil' });
        return 'created';
      }
      const body: k8s.V1ConfigMap = { ...existing, data: { ...existing.data, [CERT_CONFIGMAP_KEY]: certPem } };
      await core.replaceNamespacedConfigMap({ name: CERT_CONFIGMAP, namespace, body, fieldManager: 'sigil' });
      return 'updated';
    } catch (err) {
      if (apiStatus(err) === 409 && attempt < PUBLISH_ATTEMPTS) continue;
      throw kubeError('CertPublishFailed', `publish the sealing certificate in ${what}`, err);
    }
  }
}

async function readConfigMap(core: k8s.CoreV1Api, namespace: string): Promise<k8s.V1ConfigMap | undefined> {
  try {
    return await core.readNamespacedConfigMap({ name: CERT_CONFIGMAP, namespace });
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}
