/**
 * Reading inputs and writing outputs for the CLI: whole streams in, atomic files out. A failed command
 * never leaves a half-written file: output goes to a temporary file beside the target, renamed on success.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { StalledError } from '../../shared/errors.js';

/** Reads a whole stream as bytes; throws StalledError('FileUnreadable') naming `name` when it fails. */
export async function readAllBytes(input: Readable, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } catch (err) {
    throw new StalledError('FileUnreadable', `cannot read ${name}: ${osReason(err)}`);
  }
  return Buffer.concat(chunks);
}

/** Reads a whole stream as UTF-8; throws like readAllBytes. */
export async function readAll(input: Readable, name: string): Promise<string> {
  return (await readAllBytes(input, name)).toString('utf8');
}

/** Reads a file as UTF-8; throws StalledError('FileUnreadable') naming the file and the OS reason. */
export async function readTextFile(path: string, what = 'file'): Promise<string> {
  return (await readBytesFile(path, what)).toString('utf8');
}

/** Reads a file as bytes; throws StalledError('FileUnreadable') naming the file and the OS reason. */
export async function readBytesFile(path: string, what = 'file'): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new StalledError('FileUnreadable', `cannot read ${what} ${path}: ${osReason(err)}`);
  }
}

/**
 * Writes `content` to `path` atomically: a temporary file in the same folder, then a rename. The file keeps
 * its mode when it existed; a new one gets `mode`. On failure the temporary file is removed.
 */
export async function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const existingMode = await stat(path).then((s) => s.mode & 0o7777, () => undefined);
  try {
    await writeFile(tmp, content, { mode: existingMode ?? mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new StalledError('FileUnwritable', `cannot write ${path}: ${osReason(err)}`);
  }
}

/** The short OS reason of a file-system error (`ENOENT: no such file or directory`), without the path. */
export function osReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    const text = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `${e.code}: ${text}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Writes a command's output: atomically to `path` when given (`-w`), else to stdout. */
export async function writeOutput(text: string, path: string | undefined): Promise<void> {
  if (path) return writeFileAtomic(path, text);
  await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}

/** The input of a command: the file of `-f` when given, else stdin, with its name for messages. */
export function openInput(file: string | undefined): { input: Readable; inputName: string } {
  return file ? { input: createReadStream(file), inputName: file } : { input: process.stdin, inputName: 'stdin' };
}
