/**
 * `seal keygen`: a sealing key and its self-signed certificate as files, for offline use and tests.
 */
import { stat } from 'node:fs/promises';
import { StalledError, UsageError } from '../../shared/errors.js';
import { generateSealingKey } from '../../shared/crypto/generate-key.js';
import { writeFileAtomic } from './io.js';

/** Options of `seal keygen`. */
export interface KeygenOptions {
  keyOut: string;
  certOut: string;
  bits: number;
  validDays: number;
  /** Replace existing files; without it an existing file is an error, so no key is lost by accident. */
  force: boolean;
  now: Date;
}

/** Fingerprint-free summary for the terminal. */
export interface KeygenResult {
  keyOut: string;
  certOut: string;
}

/**
 * Generates the key (mode 0600) and certificate files. Throws UsageError for an RSA size below 2048 or
 * not a multiple of 8, StalledError when a file exists and `force` is off.
 */
export async function keygen(options: KeygenOptions): Promise<KeygenResult> {
  if (!Number.isInteger(options.bits) || options.bits < 2048 || options.bits > 16384 || options.bits % 8 !== 0) {
    throw new UsageError(`--bits ${options.bits}: give a multiple of 8 from 2048 to 16384`);
  }
  if (!Number.isInteger(options.validDays) || options.validDays < 1) {
    throw new UsageError(`--valid-days ${options.validDays}: give a whole number of days, at least 1`);
  }
  if (!options.force) {
    for (const file of [options.keyOut, options.certOut]) {
      if (await stat(file).then(() => true, () => false)) {
        throw new StalledError('FileExists', `${file} exists; pass --force to replace it`);
      }
    }
  }
  const { keyPem, certPem } = await generateSealingKey(options.bits, options.now, options.validDays);
  await writeFileAtomic(options.keyOut, keyPem, 0o600);
  await writeFileAtomic(options.certOut, certPem, 0o644);
  return { keyOut: options.keyOut, certOut: options.certOut };
}
