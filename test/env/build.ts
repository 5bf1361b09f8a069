/**
 * Builds the real programs the tests run against from the Go module proxy, and caches them outside the
 * repository (`~/.cache/sigil/testbin/<name>-<version>/`). No binary is ever committed.
 *
 * Each component is built from a small generated builder module that requires the release, then
 * `go build`s its command packages with CGO_ENABLED=0 and -trimpath. A release's own go.mod is read (as the
 * proxy serves it) because the go command ignores a dependency's `replace` lines: the builder copies those
 * that name another module, maps a module the release requires at the placeholder v0.0.0 and takes from a
 * folder of its repository (Kubernetes' staging modules) to that module's release, and leaves out the
 * other folder replacements, whose modules the release already requires at released versions. Builds run
 * one at a time across processes (a lock folder), print progress, log to `~/.cache/sigil/logs/<name>.log`
 * and are reused by every later run. A module the proxy refuses fails that component with the go
 * command's reason; nothing is substituted. A release that needs small source edits to build against the
 * versions the proxy serves lists them (`patches`): the builder copies that module and edits the copy.
 */
import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TESTBIN_CACHE } from './binaries.js';
import { isAlive } from './processes.js';

/** One program (or several from one module) the tests need. */
export interface Component {
  name: string;
  version: string;
  /** The module path the release declares in its go.mod. */
  module: string;
  /** Where the proxy serves it, when that differs from `module`. */
  servedAs?: string;
  /** Command packages, relative to `module` (`.` is the module's root package). */
  packages: readonly string[];
  /** The binaries the packages build, in the same order. */
  binaries: readonly string[];
  /** `-X importpath.name=value` link flags, e.g. setting the version the program prints. */
  ldflags?: readonly string[];
  /**
   * The released version of the modules the release requires at v0.0.0 and replaces with folders of its
   * own repository (Kubernetes publishes its staging modules as v0.<minor>.<patch>).
   */
  placeholderVersion?: string;
  /** Why it cannot be built here; building it fails at once with this reason instead of trying. */
  blocked?: string;
  /**
   * Edits of the release's source that it needs to build against the dependency versions the proxy serves
   * (see `vault`): the module is copied, each `from` must occur exactly once in its `file`, and the builder
   * replaces the module by the edited copy.
   */
  patches?: readonly SourcePatch[];
}

/** One edit of a file of a release's source. */
export interface SourcePatch {
  file: string;
  from: string;
  to: string;
}

const KUBERNETES = 'v1.37.2';

/** Kubernetes' version stamp (hack/lib/version.sh sets it in both packages): `--version` prints it. */
function kubeVersionFlags(version: string): string[] {
  const [major, minor] = version.slice(1).split('.');
  const vars = { gitVersion: version, gitMajor: major, gitMinor: minor };
  return ['k8s.io/client-go/pkg/version', 'k8s.io/component-base/version'].flatMap((pkg) =>
    Object.entries(vars).map(([key, value]) => `-X ${pkg}.${key}=${value}`),
  );
}

/** Every component the test environment can build. Versions are the newest the proxy serves that build with the local Go. */
export const COMPONENTS = {
  kubeseal: {
    name: 'kubeseal',
    version: 'v0.40.0',
    module: 'github.com/bitnami/sealed-secrets',
    servedAs: 'github.com/bitnami-labs/sealed-secrets',
    packages: ['cmd/kubeseal', 'cmd/controller'],
    binaries: ['kubeseal', 'controller'],
  },
  // v1.37.2's go.mod needs Go 1.26.0.
  kubernetes: {
    name: 'kubernetes',
    version: KUBERNETES,
    module: 'k8s.io/kubernetes',
    packages: ['cmd/kube-apiserver', 'cmd/kube-controller-manager', 'cmd/kubectl'],
    binaries: ['kube-apiserver', 'kube-controller-manager', 'kubectl'],
    ldflags: kubeVersionFlags(KUBERNETES),
    placeholderVersion: `v0${KUBERNETES.slice(2)}`,
  },
  // The etcd binary's main package is the root of the server module (server/main.go); the repository's
  // root module go.etcd.io/etcd/v3 holds no program.
  etcd: {
    name: 'etcd',
    version: 'v3.6.16',
    module: 'go.etcd.io/etcd/server/v3',
    packages: ['.'],
    binaries: ['etcd'],
  },
  // v5.8.3 needs Go 1.27.
  kustomize: {
    name: 'kustomize',
    version: 'v5.8.2',
    module: 'sigs.k8s.io/kustomize/kustomize/v5',
    packages: ['.'],
    binaries: ['kustomize'],
  },
  // Vault's go.mod takes github.com/hashicorp/vault/sdk from its own ./sdk folder, which the go command
  // ignores for a dependency; the release it requires, sdk v0.21.0, differs from that folder in two
  // signatures, so three call sites are adapted (nothing else of Vault changes):
  // framework.Backend.ActivationFunc takes a third argument (the activation flag's name) in v0.21.0, and
  // keysutil's RestorePolicy returns only an error there (the restored name is then the requested one).
  vault: {
    name: 'vault',
    version: 'v1.21.4',
    module: 'github.com/hashicorp/vault',
    packages: ['.'],
    binaries: ['vault'],
    patches: [
      {
        file: 'vault/identity_store.go',
        from: '\t\tActivationFunc: iStore.activateDeduplication,',
        to: '\t\tActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },',
      },
      { file: 'vault/logical_system_activation_flags.go', from: 'b.idStoreBackend.ActivationFunc(ctx, nil)', to: 'b.idStoreBackend.ActivationFunc(ctx, nil, "")' },
      {
        file: 'builtin/logical/transit/path_restore.go',
        from: '\trestoredKeyName, err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)\n\tif err != nil {',
        to: '\trestoredKeyName := keyName\n\tif err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force); err != nil {',
      },
    ],
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
  if (c.blocked && !isBuilt(c)) throw new Error(`${c.name} ${c.version} cannot be built here: ${c.blocked}`);
  if (!isBuilt(c)) {
    throw new Error(`${c.name} ${c.version} is not built: run \`npm run testenv -- build ${c.name}\` (log: ${join(LOGS, `${c.name}.log`)})`);
  }
  return join(componentDir(c), binary);
}

/** Builds the component unless it is cached; returns its folder. Throws with the go command's reason. */
export async function ensureBuilt(c: Component, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  if (isBuilt(c)) return componentDir(c);
  if (c.blocked) throw new Error(`${c.name} ${c.version} cannot be built here: ${c.blocked}`);
  const release = await acquireLock(say);
  try {
    if (isBuilt(c)) return componentDir(c);
    await build(c, say);
    return componentDir(c);
  } finally {
    release();
  }
}

/** One directive of a go.mod: its verb and words, a block's lines each as the block's verb. */
interface Directive {
  verb: string;
  args: string[];
}

/** Reads go.mod text into directives (comments dropped). Quoted paths are not needed by any component. */
function parseGoMod(text: string): Directive[] {
  const directives: Directive[] = [];
  let block: string | undefined;
  for (const line of text.split('\n')) {
    const words = line.replace(/\/\/.*/, '').trim().split(/\s+/).filter(Boolean);
    const [first = '', ...rest] = words;
    if (!first) continue;
    if (block) {
      if (first === ')') block = undefined;
      else directives.push({ verb: block, args: words });
    } else if (rest[0] === '(') {
      block = first;
    } else {
      directives.push({ verb: first, args: rest });
    }
  }
  return directives;
}

/**
 * The go.mod of the builder module for `c`, given the release's own go.mod: the release's go and godebug
 * lines, a require of the release, and the replacements the release needs (see the file comment).
 * Throws when the release takes a placeholder-versioned module from a folder and `c` names no version for it.
 */
export function builderGoMod(c: Component, releaseGoMod: string): string {
  const directives = parseGoMod(releaseGoMod);
  const of = (verb: string): string[][] => directives.filter((d) => d.verb === verb).map((d) => d.args);
  const required = new Map(of('require').map(([path = '', version = '']) => [path, version]));
  const replaces = c.servedAs ? [`${c.module} => ${c.servedAs} ${c.version}`] : [];
  for (const args of of('replace')) {
    const arrow = args.indexOf('=>');
    const [from = ''] = args;
    if (args.length - arrow === 3) replaces.push(args.join(' '));
    else if (required.get(from) === 'v0.0.0') {
      if (!c.placeholderVersion) throw new Error(`${c.name} ${c.version} requires ${from} v0.0.0 from a folder of its repository and names no released version for it`);
      replaces.push(`${from} => ${from} ${c.placeholderVersion}`);
    }
  }
  const go = of('go')[0]?.[0] ?? '1.26';
  const godebug = of('godebug').map((args) => `godebug ${args.join(' ')}\n\n`).join('');
  const replace = replaces.length ? `\nreplace (\n${replaces.map((r) => `\t${r}\n`).join('')})\n` : '';
  return `module sigil.dev/testbin/${c.name}\n\ngo ${go}\n\n${godebug}require ${c.module} ${c.version}\n${replace}`;
}

/** The import path of one of the component's command packages. */
function importPath(c: Component, pkg: string): string {
  return pkg === '.' ? c.module : `${c.module}/${pkg}`;
}

async function build(c: Component, say: (line: string) => void): Promise<void> {
  const out = join(TESTBIN_CACHE, `${c.name}-${c.version}`);
  const work = join(TESTBIN_CACHE, '.build', `${c.name}-${c.version}`);
  const bin = join(work, 'bin');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  mkdirSync(LOGS, { recursive: true });
  const logFile = join(LOGS, `${c.name}.log`);
  const log = createWriteStream(logFile);
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  let step = 'download';
  say(`building ${c.name} ${c.version} from the Go module proxy (log: ${logFile})`);
  const timer = setInterval(() => say(`  still building ${c.name} (${step}): ${seconds()}s`), 30_000);
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const go = async (args: string[], what: string): Promise<string> => {
    step = what;
    return run('go', args, work, env, log, c);
  };
  try {
    const served = `${c.servedAs ?? c.module}@${c.version}`;
    const info = JSON.parse(await go(['mod', 'download', '-json', served], `go mod download ${served}`)) as { GoMod?: string; Dir?: string };
    if (!info.GoMod || !info.Dir) throw new Error(`building ${c.name} ${c.version} failed: go mod download named no go.mod or folder for ${served}`);
    let goMod = builderGoMod(c, readFileSync(info.GoMod, 'utf8'));
    if (c.patches?.length) {
      step = 'patch';
      const src = join(work, 'src');
      cpSync(info.Dir, src, { recursive: true });
      await run('chmod', ['-R', 'u+w', src], work, env, log, c);
      patchSource(src, c.patches);
      goMod += `\nreplace ${c.module} => ./src\n`;
    }
    writeFileSync(join(work, 'go.mod'), goMod);
    const imports = c.packages.map((p) => `\t_ "${importPath(c, p)}"`).join('\n');
    writeFileSync(join(work, 'tools.go'), `//go:build tools\n\npackage tools\n\nimport (\n${imports}\n)\n`);
    await go(['mod', 'tidy'], 'go mod tidy');
    const ldflags = ['-s', '-w', ...(c.ldflags ?? [])].join(' ');
    for (const [i, pkg] of c.packages.entries()) {
      const binary = c.binaries[i] ?? '';
      await go(['build', '-trimpath', `-ldflags=${ldflags}`, '-o', join(bin, binary), importPath(c, pkg)], `go build ${binary}`);
    }
    // The cache folder appears only whole, so no half-built component is ever found.
    rmSync(out, { recursive: true, force: true });
    renameSync(bin, out);
    writeFileSync(join(out, '.complete'), `${new Date().toISOString()} built in ${seconds()}s\n`);
    say(`built ${c.name} ${c.version} in ${seconds()}s`);
  } finally {
    clearInterval(timer);
    log.end();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Applies `patches` to the source folder `dir`. Throws, naming the file, when a `from` does not occur
 * exactly once (the release changed: the patch must be looked at again, never applied blindly).
 */
export function patchSource(dir: string, patches: readonly SourcePatch[]): void {
  for (const p of patches) {
    const file = join(dir, p.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(p.from).length - 1;
    if (count !== 1) throw new Error(`patch of ${p.file}: the text to replace occurs ${count} times, not once`);
    writeFileSync(file, text.replace(p.from, () => p.to));
  }
}

/** Runs a command, logging its output; resolves with its stdout, rejects with its last lines. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: NodeJS.WritableStream, c: Component): Promise<string> {
  return new Promise((resolve, reject) => {
    log.write(`$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const tail: string[] = [];
    const keep = (chunk: Buffer): void => {
      log.write(chunk);
      tail.push(...chunk.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 8));
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      keep(chunk);
    });
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`cannot run ${cmd} for ${c.name}: ${err.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(stdout).toString())
        : reject(new Error(`building ${c.name} ${c.version} failed (${cmd} ${args.slice(0, 2).join(' ')} exited ${code}):\n${tail.join('\n')}`)),
    );
  });
}

/** One lock folder for all builds, so that two never share the machine's cores; a lock whose owner process is gone is taken over. */
async function acquireLock(say: (line: string) => void): Promise<() => void> {
  mkdirSync(TESTBIN_CACHE, { recursive: true });
  const lock = join(TESTBIN_CACHE, '.build.lock');
  let waiting = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch {
      const owner = lockOwner(lock);
      if (owner === undefined) continue;
      if (owner && !isAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!waiting) say(`waiting for another build (pid ${owner || '?'})`);
      waiting = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The pid in the lock (0 while its owner has not written it yet), or undefined when the lock is gone. */
function lockOwner(lock: string): number | undefined {
  try {
    return Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
  } catch {
    return undefined;
  }
}

