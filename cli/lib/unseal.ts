/**
 * `seal unseal`: recovery of the plain Secrets from sealed files with private keys held offline.
 */
import type { Readable } from 'node:stream';
import { StalledError } from '../../shared/errors.js';
import { parseManifests, type ManifestFormat } from '../../shared/manifest/parse.js';
import { isSealedSecret, readSealedSecret } from '../../shared/manifest/sealed-secret.js';
import { serializeManifests } from '../../shared/manifest/serialize.js';
import { unsealSecret } from '../../shared/sealing/unseal-secret.js';
import { readAll } from './io.js';
import { loadPrivateKeys } from './private-keys.js';

/** Options of `seal unseal`. */
export interface UnsealOptions {
  input: Readable;
  inputName: string;
  /** Key files: PEM, or key backups as kubectl prints them. */
  keyFiles: readonly string[];
  format?: ManifestFormat;
}

/**
 * Opens every SealedSecret of the input and returns the Secret manifests as text.
 * Throws StalledError naming the document for a non-SealedSecret, or the SealedSecret and key that no
 * given key opens (wrong key, scope, name or namespace; truncated or altered value).
 */
export async function unsealManifests(options: UnsealOptions): Promise<string> {
  const parsed = parseManifests(await readAll(options.input, options.inputName), options.inputName);
  const keys = await loadPrivateKeys(options.keyFiles);
  const secrets = parsed.documents.map(({ index, value }) => {
    const where = `${options.inputName}: document ${index}`;
    if (!isSealedSecret(value)) {
      throw new StalledError('InvalidManifest', `${where} is a ${String(value['kind'] ?? 'document without kind')}, not a SealedSecret`);
    }
    return unsealSecret(readSealedSecret(value, where), keys).secret as unknown as Record<string, unknown>;
  });
  return serializeManifests(secrets, options.format ?? parsed.format);
}
