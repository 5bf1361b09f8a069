/**
 * `seal reencrypt`: re-seals sealed files to a new certificate offline, in place. Only ciphertexts change;
 * every other byte of each file stays. All files are computed first and written only when all succeeded.
 */
import { StalledError } from '../../shared/errors.js';
import { editEncryptedData } from '../../shared/manifest/edit-encrypted-data.js';
import { sealData } from '../../shared/sealing/seal-secret.js';
import { unsealSecret } from '../../shared/sealing/unseal-secret.js';
import { loadSealingCert, type CertSource } from './cert-source.js';
import { readTextFile, writeFileAtomic } from './io.js';
import { loadPrivateKeys } from './private-keys.js';
import { sealedFiles } from './sealed-files.js';

/** Options of `seal reencrypt`. */
export interface ReencryptOptions extends CertSource {
  paths: readonly string[];
  keyFiles: readonly string[];
}

/** What a run changed. */
export interface ReencryptSummary {
  files: number;
  sealedSecrets: number;
}

/**
 * Re-seals every cluster-key SealedSecret in `paths` (files, or folders searched recursively for
 * .yaml/.yml/.json files that hold a SealedSecret) with the new certificate. Vault-sealed objects are left
 * alone. Throws StalledError naming the file when one cannot be read, parsed or opened; nothing is written then.
 */
export async function reencryptFiles(options: ReencryptOptions): Promise<ReencryptSummary> {
  const keys = await loadPrivateKeys(options.keyFiles);
  const cert = await loadSealingCert(options);
  const files = await sealedFiles(options.paths);
  const updates: { file: string; text: string }[] = [];
  let sealedSecrets = 0;
  for (const { file, explicit } of files) {
    let found = 0;
    const text = editEncryptedData(await readTextFile(file), file, (ss) => {
      found++;
      if (ss.vault) return undefined;
      sealedSecrets++;
      const plain = unsealSecret(ss, keys).secret.data;
      const data = new Map(Object.entries(plain).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      return sealData(cert.publicKey, { name: ss.name, namespace: ss.namespace ?? '', scope: ss.scope }, data);
    });
    if (found === 0 && explicit) throw new StalledError('InvalidManifest', `${file}: holds no SealedSecret`);
    if (found > 0) updates.push({ file, text });
  }
  for (const { file, text } of updates) await writeFileAtomic(file, text);
  return { files: updates.length, sealedSecrets };
}
