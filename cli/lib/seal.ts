/**
 * The `seal` default action as library functions: Secret manifests in, SealedSecret manifests out; one raw
 * value; or keys merged into an existing sealed file. Nothing is written unless everything succeeded.
 */
import type { Readable } from 'node:stream';
import type { Scope } from '../../shared/crypto/scope.js';
import { StalledError, UsageError } from '../../shared/errors.js';
import { parseManifests, type ManifestFormat } from '../../shared/manifest/parse.js';
import { isSealedSecret, readSealedSecret, sealedSecretObject, type SealedSecret, type SealedSecretApi } from '../../shared/manifest/sealed-secret.js';
import { readSecret, type PlainSecret } from '../../shared/manifest/secret.js';
import { serializeManifests } from '../../shared/manifest/serialize.js';
import { sealData, sealSecret, sealValue } from '../../shared/sealing/seal-secret.js';
import { loadSealingCert, type CertSource } from './cert-source.js';
import { readAll, readAllBytes, readTextFile, writeFileAtomic } from './io.js';
import type { VaultSealing } from './vault-seal.js';

/** Options of `seal [-f FILE]`. */
export interface SealManifestsOptions extends CertSource {
  input: Readable;
  /** The input's name in messages: `stdin` or the file path. */
  inputName: string;
  scope: Scope;
  /** `-n`: the namespace for Secrets that name none; a Secret naming another one is an error. */
  namespace?: string;
  api: SealedSecretApi;
  /** `-o`; defaults to the input's format. */
  format?: ManifestFormat;
  allowEmptyData: boolean;
  /** `--vault-key`: seal with this Vault transit key instead of the certificate. */
  vault?: VaultSealing;
}

/**
 * Seals every Secret of the input and returns the SealedSecret manifests as text.
 * Throws StalledError naming the document and key for bad input, or the certificate when it is unusable;
 * with `vault`, the errors of sealSecretsWithVault.
 */
export async function sealManifests(options: SealManifestsOptions): Promise<string> {
  const text = await readAll(options.input, options.inputName);
  const parsed = parseManifests(text, options.inputName);
  const secrets = parsed.documents.map((doc) =>
    withNamespace(readSecret(doc, options.inputName, { allowEmptyData: options.allowEmptyData }), options.namespace),
  );
  const sealed = options.vault
    ? await (await import('./vault-seal.js')).sealSecretsWithVault(secrets, { vault: options.vault, scope: options.scope, api: options.api })
    : await sealWithCert(secrets, options);
  return serializeManifests(sealed.map(sealedSecretObject), options.format ?? parsed.format);
}

async function sealWithCert(secrets: readonly PlainSecret[], options: SealManifestsOptions): Promise<SealedSecret[]> {
  const cert = await loadSealingCert(options);
  return secrets.map((secret) =>
    sealSecret(secret, { publicKey: cert.publicKey, scope: options.scope, api: options.api, defaultNamespace: 'default' }),
  );
}

/** Options of `seal --raw`. */
export interface SealRawOptions extends CertSource {
  input: Readable;
  inputName: string;
  name?: string;
  namespace?: string;
  scope: Scope;
}

/**
 * Seals the input's bytes as one value for `--name`/`-n` in the scope and returns it as base64 with a newline.
 * Throws UsageError when the scope needs a name or namespace that was not given.
 */
export async function sealRaw(options: SealRawOptions): Promise<string> {
  const { scope } = options;
  const name = options.name ?? '';
  const namespace = options.namespace ?? '';
  if (scope === 'strict' && (!name || !namespace)) throw new UsageError('--raw with --scope strict needs --name and -n');
  if (scope === 'namespace-wide' && !namespace) throw new UsageError('--raw with --scope namespace-wide needs -n');
  const value = await readAllBytes(options.input, options.inputName);
  const cert = await loadSealingCert(options);
  return sealValue(cert.publicKey, { name, namespace, scope }, value) + '\n';
}

/** Options of `seal --merge-into FILE`. */
export interface MergeIntoOptions extends CertSource {
  input: Readable;
  inputName: string;
  /** The sealed file to update in place. */
  file: string;
  allowEmptyData: boolean;
  /** `--vault-key`: the file must be sealed with this Vault transit key. */
  vault?: VaultSealing;
}

/**
 * Seals the keys of the one input Secret into the one SealedSecret of `file`, with that file's name,
 * namespace and scope, and rewrites the file atomically: only the merged keys' lines change.
 * Throws StalledError when the input is not exactly one Secret or the file not exactly one SealedSecret, or
 * when the file is sealed with Vault and `vault` is not given, or the other way round.
 */
export async function mergeInto(options: MergeIntoOptions): Promise<void> {
  const input = parseManifests(await readAll(options.input, options.inputName), options.inputName);
  if (input.documents.length !== 1) {
    throw new StalledError('InvalidManifest', `${options.inputName}: --merge-into takes exactly one Secret, found ${input.documents.length} documents`);
  }
  const secret = readSecret(input.documents[0]!, options.inputName, { allowEmptyData: options.allowEmptyData });
  const original = await readTextFile(options.file, 'sealed file');
  const targets = parseManifests(original, options.file).documents.filter((d) => isSealedSecret(d.value));
  if (targets.length !== 1) {
    throw new StalledError('InvalidManifest', `${options.file}: --merge-into needs a file with exactly one SealedSecret, found ${targets.length}`);
  }
  const target = readSealedSecret(targets[0]!.value, options.file);
  let sealed: Map<string, string>;
  if (options.vault) {
    sealed = await (await import('./vault-seal.js')).sealMergeWithVault(secret, target, options.file, options.vault);
  } else {
    if (target.vault) {
      throw new StalledError('InvalidManifest', `${options.file}: SealedSecret ${target.name} is sealed with Vault; merge with --vault-key`);
    }
    const cert = await loadSealingCert(options);
    sealed = sealData(cert.publicKey, { name: target.name, namespace: target.namespace ?? '', scope: target.scope }, secret.data);
  }
  // Loaded here only: the plain sealing path, the one whose start-up time matters, does not need it.
  const { editEncryptedData } = await import('../../shared/manifest/edit-encrypted-data.js');
  const updated = editEncryptedData(original, options.file, () => sealed);
  await writeFileAtomic(options.file, updated);
}

function withNamespace(secret: PlainSecret, namespace: string | undefined): PlainSecret {
  if (namespace === undefined) return secret;
  if (secret.namespace !== undefined && secret.namespace !== namespace) {
    throw new StalledError('InvalidManifest', `${secret.where}: its namespace ${secret.namespace} differs from -n ${namespace}`);
  }
  return { ...secret, namespace };
}
