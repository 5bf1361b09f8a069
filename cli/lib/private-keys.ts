/**
 * Loading private sealing keys for offline recovery: PEM files (PKCS#1 or PKCS#8), or key backups as
 * `kubectl get secret -l … -o yaml` prints them (a Secret, or a List of Secrets, with `tls.key`), which is
 * how both Sigil's and Sealed Secrets' keys are backed up.
 */
import type { KeyObject } from 'node:crypto';
import { parsePrivateKeys } from '../../shared/crypto/certificate.js';
import { StalledError } from '../../shared/errors.js';
import { parseManifests } from '../../shared/manifest/parse.js';
import { readTextFile } from './io.js';

/** Every private key in the files named; throws StalledError naming the file that holds none or a bad one. */
export async function loadPrivateKeys(files: readonly string[]): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const file of files) keys.push(...keysOfFile(file, await readTextFile(file, 'key file')));
  return keys;
}

function keysOfFile(file: string, text: string): KeyObject[] {
  try {
    return parsePrivateKeys(text.includes('-----BEGIN') ? text : pemOfBackup(file, text));
  } catch (err) {
    throw new StalledError('InvalidKey', `key file ${file}: ${(err as Error).message}`);
  }
}

function pemOfBackup(file: string, text: string): string {
  const pems: string[] = [];
  for (const { index, value } of parseManifests(text, file).documents) {
    const data = value['data'] as Record<string, unknown> | undefined;
    const key = data?.['tls.key'];
    if (value['kind'] !== 'Secret' || typeof key !== 'string') {
      throw new Error(`document ${index} is not a Secret with data.tls.key`);
    }
    pems.push(Buffer.from(key, 'base64').toString('utf8'));
  }
  return pems.join('\n');
}
