/**
 * From a checked-out revision to the objects it declares: `kustomize build` when the path holds a
 * kustomization, otherwise every manifest file under the path. Nothing outside the checkout is ever read:
 * the path and every symlink followed must stay inside it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, sep } from 'node:path';
import { StalledError, TransientError } from '../../shared/errors.js';
import { describeType, isMapping } from '../../shared/manifest/fields.js';
import { parseManifests } from '../../shared/manifest/parse.js';

/** One object rendered from the source, with where it came from (for error messages). */
export interface RenderedObject {
  object: Record<string, unknown>;
  /** Path relative to the checkout root (`deploy/prod/app.yaml`), or `kustomize deploy/prod`. */
  source: string;
  /** 0-based position of the object in that source, after List flattening and skipping empty documents. */
  index: number;
}

/** How to render. */
export interface RenderOptions {
  /** The kustomize binary. */
  kustomizePath: string;
  /** How long `kustomize build` may run; 60000 unless given. */
  timeoutMs?: number;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];
const DEFAULT_TIMEOUT_MS = 60_000;
/** kustomize output beyond this is refused rather than buffered without bound. */
const MAX_KUSTOMIZE_OUTPUT = 64 * 1024 * 1024;

/**
 * Renders `path` (relative to `root`; `''` or `.` is the root) of a checkout. With a kustomization
 * (`kustomization.yaml`, `.yml` or `Kustomization`) in that folder it runs `kustomize build` on it;
 * otherwise it reads every `*.yaml`, `*.yml` and `*.json` file under it, recursively, sorted by relative
 * path (byte order), skipping names that start with `.`. A path naming a file renders that file. Files are
 * read as parse.ts reads them (kubectl's rules: multi-document YAML, JSON streams, YAML 1.1 scalars, empty
 * documents skipped); any object whose kind ends in `List` and that has an `items` list is replaced by its
 * items. A file without objects renders nothing.
 * @throws StalledError('InvalidPath') when `path` or a symlink followed leads outside the checkout (or
 *   loops); StalledError('PathNotFound') when `path` does not exist; StalledError('RenderFailed') naming the
 *   file and line of a syntax error, a document that is not an object, or kustomize's own error;
 *   TransientError('RenderFailed') when kustomize runs out of time.
 */
export async function renderPath(root: string, path: string, options: RenderOptions): Promise<RenderedObject[]> {
  const shown = path === '' ? '.' : path;
  if (isAbsolute(path)) throw new StalledError('InvalidPath', `path ${shown} must be relative to the repository root`);
  const relative = posix.normalize(path === '' ? '.' : path).replace(/\/+$/, '');
  if (relative === '..' || relative.startsWith('../')) throw new StalledError('InvalidPath', `path ${shown} leaves the repository`);

  const rootReal = await realpath(root);
  let target: string;
  try {
    target = await realpath(join(rootReal, relative));
  } catch (err) {
    if (isMissing(err)) throw new StalledError('PathNotFound', `path ${shown} does not exist in the revision`, { cause: err });
    throw err;
  }
  if (!isInside(rootReal, target)) throw new StalledError('InvalidPath', `path ${shown} leaves the repository through a symlink`);

  if (!(await stat(target)).isDirectory()) return readManifestFile(target, relative);
  if (KUSTOMIZATION_FILES.some((name) => existsSync(join(target, name)))) {
    return kustomizeBuild(target, relative, rootReal, options);
  }
  const files: ManifestFile[] = [];
  await collectFiles(rootReal, target, relative === '.' ? '' : relative, new Set([target]), files);
  files.sort((a, b) => Buffer.compare(Buffer.from(a.relative), Buffer.from(b.relative)));
  const objects: RenderedObject[] = [];
  // One file at a time: the first bad file in sorted order is the one reported, whatever the timing.
  for (const file of files) objects.push(...(await readManifestFile(file.real, file.relative)));
  return objects;
}

interface ManifestFile {
  /** Relative to the checkout root, with `/`: the source name users see. */
  relative: string;
  real: string;
}

/** Adds the manifest files under `dir` (real path `real`, shown as `relative`) to `files`. */
async function collectFiles(rootReal: string, real: string, relative: string, ancestors: Set<string>, files: ManifestFile[]): Promise<void> {
  for (const entry of await readdir(real, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const entryRelative = relative === '' ? entry.name : `${relative}/${entry.name}`;
    const isManifest = MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext));
    let entryReal = join(real, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const resolved = await resolveLink(entryReal);
      // A dangling link or one to a file we would not read is not our business; one we would read is.
      if (resolved === undefined) {
        if (isManifest) throw new StalledError('RenderFailed', `${entryRelative} is a symlink that leads nowhere`);
        continue;
      }
      const stats = await stat(resolved);
      isDir = stats.isDirectory();
      isFile = stats.isFile();
      if (!isDir && !(isFile && isManifest)) continue;
      if (!isInside(rootReal, resolved)) throw new StalledError('InvalidPath', `${entryRelative} is a symlink that leads outside the repository`);
      entryReal = resolved;
    }
    if (isDir) {
      if (ancestors.has(entryReal)) throw new StalledError('InvalidPath', `${entryRelative} is a symlink to a folder that contains it`);
      await collectFiles(rootReal, entryReal, entryRelative, new Set([...ancestors, entryReal]), files);
    } else if (isFile && isManifest) {
      files.push({ relative: entryRelative, real: entryReal });
    }
  }
}

async function readManifestFile(real: string, source: string): Promise<RenderedObject[]> {
  return parseObjects(await readFile(real, 'utf8'), source);
}

/** The objects in one manifest text; parse.ts's InvalidManifest errors become RenderFailed. */
function parseObjects(text: string, source: string): RenderedObject[] {
  let documents: Record<string, unknown>[];
  try {
    documents = parseManifests(text, source).documents.map((doc) => doc.value);
  } catch (err) {
    if (!(err instanceof StalledError) || err.reason !== 'InvalidManifest') throw err;
    // parse.ts refuses an input without objects (seal needs one); a folder may hold an empty file.
    if (err.message === `${source}: no documents found`) return [];
    throw new StalledError('RenderFailed', err.message, { cause: err });
  }
  const objects: RenderedObject[] = [];
  for (const doc of documents) {
    // parse.ts flattens only `v1 List`; kubectl also flattens typed lists such as ConfigMapList.
    const items = isTypedList(doc) ? doc.items : [doc];
    for (const item of items) {
      if (!isMapping(item)) {
        throw new StalledError('RenderFailed', `${source}: document ${objects.length + 1}: expected a mapping, got ${describeType(item)}`);
      }
      objects.push({ object: item, source, index: objects.length });
    }
  }
  return objects;
}

function isTypedList(doc: Record<string, unknown>): doc is Record<string, unknown> & { items: unknown[] } {
  return typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items);
}

/** Runs `kustomize build` on `dir` (shown as `relative`) and parses what it prints. */
async function kustomizeBuild(dir: string, relative: string, rootReal: string, options: RenderOptions): Promise<RenderedObject[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `kustomize build ${relative}`;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      options.kustomizePath,
      ['build', dir],
      // PATH only: no HOME, so neither kustomize nor the git it may run read a user's configuration.
      { cwd: dir, env: { PATH: process.env.PATH ?? '' }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_KUSTOMIZE_OUTPUT, encoding: 'utf8' },
      (err, out, stderr) => {
        if (err === null) resolve(out);
        else reject(kustomizeError(what, err, stderr, timeoutMs, rootReal));
      },
    );
  });
  return parseObjects(stdout, `kustomize ${relative}`);
}

function kustomizeError(what: string, err: Error & { code?: unknown; killed?: boolean }, stderr: string, timeoutMs: number, rootReal: string): Error {
  if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return new StalledError('RenderFailed', `${what}: output larger than ${MAX_KUSTOMIZE_OUTPUT} bytes`, { cause: err });
  if (err.killed === true) return new TransientError('RenderFailed', `${what}: no result after ${timeoutMs} ms`, { cause: err });
  if (typeof err.code === 'string') return new StalledError('RenderFailed', `${what}: cannot run kustomize: ${err.code}`, { cause: err });
  return new StalledError('RenderFailed', `${what}: ${firstError(stderr, rootReal) || `exited with code ${String(err.code)}`}`, { cause: err });
}

/**
 * kustomize's error line, without its `Error: ` prefix, the warnings printed before it, or the checkout's
 * absolute path (so the message names files as the repository does, and is the same in every checkout).
 */
function firstError(stderr: string, rootReal: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^#?\s*Warning:/.test(l));
  const line = lines.find((l) => l.startsWith('Error:')) ?? lines[0] ?? '';
  return line.replace(/^Error:\s*/, '').split(`${rootReal}${sep}`).join('');
}

function isInside(rootReal: string, real: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : `${rootReal}${sep}`);
}

async function resolveLink(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** True when a path, or the end of its symlinks, does not exist (ELOOP: the links go round in a circle). */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
