/**
 * `seal unseal`: recovery of the plain Secrets from sealed files, with private keys held offline or with
 * the caller's own Vault rights for SealedSecrets sealed with Vault transit.
 */
import type { Readable } from 'node:stream';
import { StalledError } from '../../shared/errors.js';
import { parseManifests, type ManifestFormat } from '../../shared/manifest/parse.js';
import { isSealedSecret, readSealedSecret, type SealedSecret } from '../../shared/manifest/sealed-secret.js';
import { serializeManifests } from '../../shared/manifest/serialize.js';
import { sealedSecretRef, unsealSecret, type SecretObject } from '../../shared/sealing/unseal-secret.js';
import { readAll } from './io.js';
import { loadPrivateKeys } from './private-keys.js';
import type { VaultSource } from './vault-env.js';

/** Options of `seal unseal`. */
export interface UnsealOptions {
  input: Readable;
  inputName: string;
  /** Key files: PEM, or key backups as kubectl prints them; may be empty when `vault` is given. */
  keyFiles: readonly string[];
  /** `--vault`: open Vault-sealed SealedSecrets through Vault with these settings. */
  vault?: VaultSource;
  format?: ManifestFormat;
}

/**
 * Opens every SealedSecret of the input and returns the Secret manifests as text. Each one is opened by
 * what fits it: Vault for those with spec.vault, the keys for the others.
 * Throws StalledError naming the document for a non-SealedSecret, the SealedSecret that needs keys or
 * Vault when they were not given (reason `VaultSealed` / `KeysNeeded`), or the SealedSecret and key that
 * does not open (wrong key, scope, name or namespace; truncated or altered value; DecryptFailed and the
 * Vault errors from Vault).
 */
export async function unsealManifests(options: UnsealOptions): Promise<string> {
  const parsed = parseManifests(await readAll(options.input, options.inputName), options.inputName);
  const sealed = parsed.documents.map(({ index, value }) => {
    const where = `${options.inputName}: document ${index}`;
    if (!isSealedSecret(value)) {
      throw new StalledError('InvalidManifest', `${where} is a ${String(value['kind'] ?? 'document without kind')}, not a SealedSecret`);
    }
    return readSealedSecret(value, where);
  });
  for (const ss of sealed) {
    const ref = sealedSecretRef(ss);
    if (ss.vault && !options.vault) {
      throw new StalledError('VaultSealed', `SealedSecret ${ref} is sealed with Vault transit key ${ss.vault.mount}/${ss.vault.key}; open it with --vault`);
    }
    if (!ss.vault && options.keyFiles.length === 0) {
      throw new StalledError('KeysNeeded', `SealedSecret ${ref} is sealed with a cluster key; open it with --key`);
    }
  }
  const keys = options.keyFiles.length > 0 ? await loadPrivateKeys(options.keyFiles) : [];
  const open = options.vault && sealed.some((ss) => ss.vault) ? await vaultOpener(options.vault) : undefined;
  const secrets: SecretObject[] = [];
  for (const ss of sealed) secrets.push(ss.vault ? await open!(ss) : unsealSecret(ss, keys).secret);
  return serializeManifests(secrets as unknown as Record<string, unknown>[], options.format ?? parsed.format);
}

/** Loaded only when a Vault SealedSecret is there to open: the key-only path never imports Vault code. */
async function vaultOpener(source: VaultSource): Promise<(ss: SealedSecret) => Promise<SecretObject>> {
  const [{ connectVault }, { unsealWithVault }] = await Promise.all([import('./vault-env.js'), import('../../shared/sealing/vault-sealing.js')]);
  const transit = connectVault(source);
  return (ss) => unsealWithVault(ss, transit);
}
