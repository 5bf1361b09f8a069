/**
 * Finding sealed files under the paths a user gives, the same way for every command that edits them.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StalledError } from '../../shared/errors.js';
import { osReason, readTextFile } from './io.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const MENTIONS_SEALED_SECRET = /["']?kind["']?\s*:\s*["']?SealedSecret\b/;

/**
 * The files a command over sealed files (`reencrypt`, `rewrap`) works on: explicit files as given (marked
 * `explicit`, so the caller can refuse one that holds no SealedSecret); folders walked recursively for
 * .yaml/.yml/.json files that mention a SealedSecret, skipping .git and node_modules, in sorted order.
 * Throws StalledError('FileUnreadable') naming a path that cannot be read.
 */
export async function sealedFiles(paths: readonly string[]): Promise<{ file: string; explicit: boolean }[]> {
  const found: { file: string; explicit: boolean }[] = [];
  for (const path of paths) {
    const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTDIR') return undefined;
      throw new StalledError('FileUnreadable', `cannot read ${path}: ${osReason(err)}`);
    });
    if (!entries) {
      found.push({ file: path, explicit: true });
      continue;
    }
    const candidates = entries
      .filter((e) => e.isFile() && MANIFEST_FILE.test(e.name))
      .map((e) => join(e.parentPath ?? e.path, e.name))
      .filter((file) => !file.split('/').some((part) => part === '.git' || part === 'node_modules'))
      .sort();
    for (const file of candidates) {
      if (MENTIONS_SEALED_SECRET.test(await readTextFile(file))) found.push({ file, explicit: false });
    }
  }
  return found;
}
