/**
 * Builds the real programs the tests run against from the Go module proxy, and caches them outside the
 * repository (`~/.cache/sigil/testbin/<name>-<version>/`). No binary is ever committed.
 *
 * Each component is built from a small generated builder module that requires the release (and, where
 * the release's own module path differs from the path it is served under, replaces one with the other),
 * then `go build`s the command packages with CGO_ENABLED=0. Builds are serialised by a lock folder, print
 * progress, log to `~/.cache/sigil/logs/<name>.log` and are reused by every later run. A module the proxy
 * refuses fails that component with the go command's reason; nothing is substituted.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TESTBIN_CACHE } from './binaries.js';

/** One program (or several from one module) the tests need. */
export interface Component {
  name: string;
  version: string;
  /** The module path the release declares in its go.mod. */
  module: string;
  /** Where the proxy serves it, when that differs from `module`. */
  servedAs?: string;
  /** Command packages, relative to `module`. */
  packages: string[];
  /** The binaries the packages build, in the same order. */
  binaries: string[];
}

/** Every component the test environment can build. */
export const COMPONENTS = {
  kubeseal: {
    name: 'kubeseal',
    version: 'v0.40.0',
    module: 'github.com/bitnami/sealed-secrets',
    servedAs: 'github.com/bitnami-labs/sealed-secrets',
    packages: ['cmd/kubeseal', 'cmd/controller'],
    binaries: ['kubeseal', 'controller'],
  },
} as const satisfies Record<string, Component>;

export type ComponentName = keyof typeof COMPONENTS;

const LOGS = process.env.SIGIL_TESTBIN_LOGS ?? join(homedir(), '.cache/sigil/logs');

/** The folder holding a component's binaries once built (`KUBEBUILDER_ASSETS` when it has them all). */
export function componentDir(c: Component): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && c.binaries.every((b) => existsSync(join(assets, b)))) return assets;
  return join(TESTBIN_CACHE, `${c.name}-${c.version}`);
}

/** True when every binary of the component is there. */
export function isBuilt(c: Component): boolean {
  const dir = componentDir(c);
  return c.binaries.every((b) => existsSync(join(dir, b))) && (dir === process.env.KUBEBUILDER_ASSETS || existsSync(join(dir, '.complete')));
}

/** The path of one binary; throws naming the component and how to build it when it is missing. */
export function binaryPath(name: ComponentName, binary: string): string {
  const c: Component = COMPONENTS[name];
  if (!isBuilt(c)) {
    throw new Error(`${c.name} ${c.version} is not built: run \`npm run testenv -- build ${c.name}\` (log: ${join(LOGS, `${c.name}.log`)})`);
  }
  return join(componentDir(c), binary);
}

/** Builds the component unless it is cached; returns its folder. Throws with the go command's reason. */
export async function ensureBuilt(c: Component, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  if (isBuilt(c)) return componentDir(c);
  const release = await acquireLock(c, say);
  try {
    if (isBuilt(c)) return componentDir(c);
    await build(c, say);
    return componentDir(c);
  } finally {
    release();
  }
}

async function build(c: Component, say: (line: string) => void): Promise<void> {
  const out = join(TESTBIN_CACHE, `${c.name}-${c.version}`);
  const work = join(TESTBIN_CACHE, '.build', `${c.name}-${c.version}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(out, { recursive: true });
  mkdirSync(LOGS, { recursive: true });
  const replace = c.servedAs ? `\nreplace ${c.module} => ${c.servedAs} ${c.version}\n` : '';
  writeFileSync(join(work, 'go.mod'), `module sigil.dev/testbin/${c.name}\n\ngo 1.26\n\nrequire ${c.module} ${c.version}\n${replace}`);
  const imports = c.packages.map((p) => `\t_ "${c.module}/${p}"`).join('\n');
  writeFileSync(join(work, 'tools.go'), `//go:build tools\n\npackage tools\n\nimport (\n${imports}\n)\n`);
  const logFile = join(LOGS, `${c.name}.log`);
  const log = createWriteStream(logFile);
  const started = Date.now();
  say(`building ${c.name} ${c.version} from the Go module proxy (log: ${logFile})`);
  const timer = setInterval(() => say(`  still building ${c.name}: ${Math.round((Date.now() - started) / 1000)}s`), 30_000);
  try {
    const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
    await run('go', ['mod', 'tidy'], work, env, log, c);
    await run('go', ['build', '-trimpath', '-o', `${out}/`, ...c.packages.map((p) => `${c.module}/${p}`)], work, env, log, c);
    writeFileSync(join(out, '.complete'), `${new Date().toISOString()}\n`);
    say(`built ${c.name} ${c.version} in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    clearInterval(timer);
    log.end();
    rmSync(work, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: NodeJS.WritableStream, c: Component): Promise<void> {
  return new Promise((resolve, reject) => {
    log.write(`$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const keep = (chunk: Buffer): void => {
      log.write(chunk);
      tail.push(...chunk.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 8));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`cannot run ${cmd} for ${c.name}: ${err.message}`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`building ${c.name} ${c.version} failed (${cmd} ${args[0]} exited ${code}):\n${tail.join('\n')}`)),
    );
  });
}

/** A lock folder per component; a lock whose owner process is gone is taken over. */
async function acquireLock(c: Component, say: (line: string) => void): Promise<() => void> {
  mkdirSync(TESTBIN_CACHE, { recursive: true });
  const lock = join(TESTBIN_CACHE, `.${c.name}.lock`);
  let waiting = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch {
      const owner = Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      if (owner && !alive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!waiting) say(`waiting for another build of ${c.name} (pid ${owner || '?'})`);
      waiting = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
