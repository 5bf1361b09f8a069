/**
 * `seal rewrap`: after a Vault transit key is rotated, re-encrypts the Vault-sealed values of sealed files
 * to the key's newest version with Vault's rewrap (the plaintext never leaves Vault), in place. Only the
 * lines of values whose version changed are rewritten; cluster-key SealedSecrets are left alone. All files
 * are computed first and written only when all succeeded.
 */
import { StalledError, TransientError } from '../../shared/errors.js';
import { editEncryptedData } from '../../shared/manifest/edit-encrypted-data.js';
import type { SealedSecret } from '../../shared/manifest/sealed-secret.js';
import { rewrapSealedSecret } from '../../shared/sealing/vault-sealing.js';
import type { VaultTransit } from '../../shared/vault/transit.js';
import { readTextFile, writeFileAtomic } from './io.js';
import { sealedFiles } from './sealed-files.js';
import { connectVault, type VaultSource } from './vault-env.js';

/** Options of `seal rewrap`. */
export interface RewrapOptions {
  paths: readonly string[];
  vault: VaultSource;
}

/** What a run did to one file. */
export interface RewrapSummary {
  file: string;
  sealedSecrets: number;
  /** Values whose key version changed. */
  rewrapped: number;
  values: number;
}

/**
 * Rewraps every Vault SealedSecret in `paths` (files, or folders searched recursively for .yaml/.yml/.json
 * files that hold a SealedSecret) and returns one summary per file holding one, in order.
 * Throws StalledError naming the file when it cannot be read, parsed or edited, or when a file given by
 * name holds no Vault SealedSecret; the VaultTransit errors (VaultUnavailable, VaultDenied, DecryptFailed)
 * and vaultFromEnv's. Nothing is written then.
 */
export async function rewrapFiles(options: RewrapOptions): Promise<RewrapSummary[]> {
  const files = await sealedFiles(options.paths);
  let transit: VaultTransit | undefined;
  const results: { summary: RewrapSummary; text: string }[] = [];
  for (const { file, explicit } of files) {
    const text = await readTextFile(file);
    const found: { index: number; ss: SealedSecret }[] = [];
    // A first pass only to list the Vault SealedSecrets with the document numbers the editor uses.
    editEncryptedData(text, file, (ss, index) => {
      if (ss.vault) found.push({ index, ss });
      return undefined;
    });
    if (found.length === 0) {
      if (explicit) throw new StalledError('InvalidManifest', `${file}: holds no Vault SealedSecret`);
      continue;
    }
    transit ??= connectVault(options.vault);
    const changes = new Map<number, Map<string, string>>();
    const summary: RewrapSummary = { file, sealedSecrets: found.length, rewrapped: 0, values: 0 };
    for (const { index, ss } of found) {
      const rewrapped = await rewrapSealedSecret(ss, transit).catch((err: unknown) => {
        throw inFile(err, file);
      });
      const changed = new Map([...rewrapped].filter(([key, value]) => keyVersion(value) !== keyVersion(ss.encryptedData.get(key))));
      summary.values += ss.encryptedData.size;
      summary.rewrapped += changed.size;
      changes.set(index, changed);
    }
    const edited = summary.rewrapped === 0 ? text : editEncryptedData(text, file, (_ss, index) => changes.get(index));
    results.push({ summary, text: edited });
  }
  for (const { summary, text } of results) if (summary.rewrapped > 0) await writeFileAtomic(summary.file, text);
  return results.map((r) => r.summary);
}

/** The key version of a `vault:vN:…` value; a value already at the newest version is left as it is. */
function keyVersion(value: string | undefined): string | undefined {
  return value === undefined ? undefined : /^vault:v(\d+):/.exec(value)?.[1];
}

/** The error with the file named first, same type and reason, so a failure in a tree says where it is. */
function inFile(err: unknown, file: string): unknown {
  if (err instanceof TransientError) return new TransientError(err.reason, `${file}: ${err.message}`, { cause: err });
  if (err instanceof StalledError) return new StalledError(err.reason, `${file}: ${err.message}`, { cause: err });
  return err;
}
