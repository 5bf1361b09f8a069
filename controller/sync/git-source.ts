/**
 * Desired state from Git, through the `git` CLI (no shell): `resolve` turns a branch, tag or HEAD into a
 * commit with `git ls-remote`; `checkout` gives a folder holding one commit's files, fetched shallowly into a
 * bare cache repository per repo URL; `verifyCommit` checks a fetched commit's signature; `gc` drops what is
 * no longer wanted.
 *
 * Layout under `cacheDir` (one GitSource per cacheDir):
 * - `repos/<id>.git`: the bare cache of one repo URL (`id`: a hash of the URL); a fetched commit is kept by
 *   `refs/sigil/<sha>`.
 * - `checkouts/<id>-<sha>`: the files of one commit; made in `tmp/` and renamed into place, so a folder there
 *   is always complete. Symbolic links are checked out as small files holding the link text
 *   (`core.symlinks=false`), so a repository cannot point a reader at the controller's own files.
 * - `tmp/`: checkouts being built and per-command credential folders; emptied on first use.
 * - `home/`: HOME of every git run. Nothing of the machine's or the user's git or ssh configuration applies.
 *
 * Errors (shared/errors.ts) name the scrubbed URL and the revision, never credentials:
 * - StalledError: RevisionNotFound, RepositoryNotFound, RepositoryMoved (a redirect while credentials are set),
 *   InvalidRepoURL, InvalidCredentials, VerificationFailed (verifyCommit; git-verify.ts);
 * - TransientError: GitUnreachable (also timeouts), GitAuthFailed, GitFailed (anything else git reports).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { StalledError, TransientError } from '../../shared/errors.js';
import type { Logger } from '../runtime/logger.js';
import { authPlan, redactText, scrubUrl, transportOf, urlHasPassword, writeSshFiles, type GitCredentials, type Transport } from './git-credentials.js';
import { verifyCommitObject, type CommitSigner, type TrustedKeys } from './git-verify.js';

export { credentialsFromSecretData, scrubUrl, type GitCredentials } from './git-credentials.js';

/** How a GitSource runs git. */
export interface GitSourceOptions {
  cacheDir: string;
  log: Logger;
  /** Default 'git'. */
  gitPath?: string;
  /** Per git command, default 60000; a command still running then is killed with what it started. */
  timeoutMs?: number;
}

const FULL_SHA = /^[0-9a-f]{40}$/i;
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ssh: '22', 'git+ssh': '22', 'ssh+git': '22', git: '9418' };
/** `deepen 2147483647` is git's "all history" (what `--unshallow` sends), also valid on a complete repository. */
const ALL_HISTORY = '--depth=2147483647';
/** The largest stdout kept (ls-remote of a repository with very many refs); more is an error. */
const MAX_STDOUT = 64 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

/**
 * Canonical form of a repo URL for matching webhooks to Applications: lowercase host, no scheme, no userinfo,
 * no port for default ports, no trailing `.git` or `/`. e.g. https://GitHub.com/a/b.git and
 * ssh://git@github.com/a/b and git@github.com:a/b.git → `github.com/a/b`. A local path (or file://) keeps its
 * leading `/`. Never throws.
 */
export function normalizeRepoUrl(url: string): string {
  const trimmed = url.trim();
  let host = '';
  let path = trimmed;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/i.exec(trimmed);
  const scp = /^(?:[^@/:]*@)?([^/:]+):(.*)$/s.exec(trimmed);
  if (scheme) {
    const authority = scheme[2]!.slice(scheme[2]!.lastIndexOf('@') + 1).toLowerCase();
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
    const [name, port] = m ? [m[1]!, m[2] ?? ''] : [authority, ''];
    host = port === '' || port === DEFAULT_PORTS[scheme[1]!.toLowerCase()] ? name : `${name}:${port}`;
    path = scheme[3]!;
  } else if (scp && transportOf(trimmed) === 'ssh') {
    host = scp[1]!.toLowerCase();
    path = scp[2]!;
  }
  path = path.replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '').replace(/^\/+/, '');
  return `${host}/${path}`;
}

/** A repository to talk to, and how. */
interface Remote {
  url: string;
  transport: Transport;
  credentials: GitCredentials | undefined;
}

/** What one git run ended with. */
interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** What a failure message names: the operation, the scrubbed URL, the revision. */
interface FailureContext {
  op: string;
  url: string;
  revision: string;
  secrets: readonly string[];
}

/** Pulls desired state from Git; see the module comment. */
export class GitSource {
  private readonly cacheDir: string;
  private readonly log: Logger;
  private readonly gitPath: string;
  private readonly timeoutMs: number;
  private fetches = 0;
  private prepared: Promise<void> | undefined;
  /** Checkouts in progress, by `${repoURL}@${commit}`: concurrent calls share one. */
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Work on one bare repository (fetch, build a checkout, delete) runs one at a time, by repo id. */
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Does no I/O; folders are made on first use. */
  constructor(options: GitSourceOptions) {
    this.cacheDir = resolvePath(options.cacheDir);
    this.log = options.log;
    this.gitPath = options.gitPath ?? 'git';
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /**
   * Resolves `revision` (branch name, tag name (annotated tags peeled to the commit), `HEAD`, or a full
   * 40-hex sha) to a commit sha with `git ls-remote` — cheap, no fetch. A full sha is returned as is (no
   * network), in lowercase. A name is looked up as `refs/heads/<name>` first, then `refs/tags/<name>`; a full
   * ref name (`refs/…`) as itself. Throws StalledError('RevisionNotFound') when the ref doesn't exist,
   * TransientError('GitUnreachable') when the server can't be reached / times out,
   * TransientError('GitAuthFailed') on auth failures, and the other errors of the module comment. Messages
   * name the scrubbed URL and the revision, never credentials.
   */
  async resolve(repoURL: string, revision: string, credentials?: GitCredentials): Promise<string> {
    const transport = checkUrl(repoURL);
    const plan = authPlan(transport, repoURL, credentials);
    if (FULL_SHA.test(revision)) return revision.toLowerCase();
    const wanted = revision === 'HEAD' || revision.startsWith('refs/') ? [revision] : [`refs/heads/${revision}`, `refs/tags/${revision}`];
    // Patterns match ref names from the end; the exact name is picked below. A peeled tag needs its own pattern.
    const patterns = wanted.flatMap((ref) => (ref.startsWith('refs/tags/') ? [ref, `${ref}^{}`] : [ref]));
    const context = { op: 'ls-remote', url: scrubUrl(repoURL), revision, secrets: plan.secrets };
    await this.prepare();
    const started = Date.now();
    const run = await this.git(['ls-remote', '--', repoURL, ...patterns], { remote: { url: repoURL, transport, credentials } });
    if (run.code !== 0) throw failure(run, context, this.timeoutMs);
    const refs = new Map<string, string>();
    for (const line of run.stdout.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref) refs.set(ref, sha);
    }
    for (const ref of wanted) {
      const sha = refs.get(`${ref}^{}`) ?? refs.get(ref);
      if (sha) {
        this.log.debug('git revision resolved', { repo: context.url, revision, commit: sha, ms: Date.now() - started });
        return sha;
      }
    }
    throw new StalledError('RevisionNotFound', `revision ${JSON.stringify(revision)} not found in ${context.url}`);
  }

  /**
   * Returns a directory holding the files of `commit` (a checkout, not to be modified by callers). Fetches
   * shallowly (`--depth 1`) only when that commit is not already in the cache; keeps ONE bare cache repo per
   * repoURL and ONE checkout dir per (repo, commit). Concurrent calls for the same (repo, commit) share one
   * fetch. Writes atomically: a checkout dir appears complete or not at all. A server that refuses to send a
   * commit by sha (protocol v0 without allow*SHA1InWant, when the commit is no ref's tip) is asked for the
   * full history of its branches and tags instead. Same errors as resolve; StalledError('RevisionNotFound')
   * when the server does not have the commit; RangeError when `commit` is not 40 hex digits.
   */
  checkout(repoURL: string, commit: string, credentials?: GitCredentials): Promise<string> {
    if (!FULL_SHA.test(commit)) return Promise.reject(new RangeError(`checkout needs a full 40-hex commit sha, got ${JSON.stringify(commit)}`));
    const sha = commit.toLowerCase();
    const key = `${repoURL}@${sha}`;
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.checkoutOnce(repoURL, sha, credentials).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    return running;
  }

  /**
   * Deletes checkout dirs not returned by the last `checkout` for any key in `keep` (set of
   * `${repoURL}@${commit}`) — garbage collection of old commits — and the bare cache of every repo URL no key
   * names. Checkouts in progress are left alone. Throws only when the cache folder cannot be read.
   */
  async gc(keep: ReadonlySet<string>): Promise<void> {
    await this.prepare();
    const keepDirs = new Set<string>();
    const keepRepos = new Set<string>();
    for (const key of [...keep, ...this.inFlight.keys()]) {
      const at = key.lastIndexOf('@');
      const repo = repoId(key.slice(0, at));
      keepRepos.add(repo);
      keepDirs.add(`${repo}-${key.slice(at + 1).toLowerCase()}`);
    }
    const removed: string[] = [];
    for (const name of await readdir(join(this.cacheDir, 'checkouts'))) {
      if (keepDirs.has(name)) continue;
      await rm(join(this.cacheDir, 'checkouts', name), { recursive: true, force: true });
      removed.push(name);
    }
    for (const name of await readdir(join(this.cacheDir, 'repos'))) {
      const id = name.replace(/\.git$/, '');
      if (keepRepos.has(id)) continue;
      await this.serial(id, () => rm(join(this.cacheDir, 'repos', name), { recursive: true, force: true }));
      removed.push(name);
    }
    if (removed.length) this.log.debug('git cache collected', { removed: removed.length });
  }

  /**
   * Verifies the signature of `commit`, which `checkout` of `repoURL` has fetched (a shallow fetch holds the
   * commit object, which is all a signature covers), against `keys`: see verifyCommitObject in git-verify.ts,
   * whose errors it throws (StalledError('VerificationFailed') for an unsigned, untrusted or bad signature).
   * Also TransientError('GitFailed') when the commit is not in the cache; RangeError when `commit` is not 40
   * hex digits.
   */
  async verifyCommit(repoURL: string, commit: string, keys: TrustedKeys): Promise<CommitSigner> {
    if (!FULL_SHA.test(commit)) throw new RangeError(`verifyCommit needs a full 40-hex commit sha, got ${JSON.stringify(commit)}`);
    const sha = commit.toLowerCase();
    await this.prepare();
    const id = repoId(repoURL);
    const context = { op: 'cat-file', url: scrubUrl(repoURL), revision: sha, secrets: [] };
    // In the repo's queue: gc may be deleting the bare repository.
    const run = await this.serial(id, () => this.git(['--git-dir', join(this.cacheDir, 'repos', `${id}.git`), 'cat-file', 'commit', sha], {}));
    if (run.code !== 0) throw failure(run, context, this.timeoutMs);
    const signer = await verifyCommitObject(sha, run.stdout, keys, { tmpDir: join(this.cacheDir, 'tmp'), timeoutMs: this.timeoutMs });
    this.log.debug('git commit signature verified', { repo: context.url, commit: sha, format: signer.format, signer: signer.signer });
    return signer;
  }

  /** How many network fetches have run (tests and benchmarks check "fetched once per revision"). */
  fetchCount(): number {
    return this.fetches;
  }

  private async checkoutOnce(repoURL: string, commit: string, credentials: GitCredentials | undefined): Promise<string> {
    const transport = checkUrl(repoURL);
    const plan = authPlan(transport, repoURL, credentials);
    await this.prepare();
    const id = repoId(repoURL);
    const dir = join(this.cacheDir, 'checkouts', `${id}-${commit}`);
    if (await exists(dir)) return dir;
    return this.serial(id, async () => {
      if (await exists(dir)) return dir;
      const context = { op: 'fetch', url: scrubUrl(repoURL), revision: commit, secrets: plan.secrets };
      const bare = join(this.cacheDir, 'repos', `${id}.git`);
      if (!(await exists(bare))) await this.gitOk(['init', '--quiet', '--bare', '--template=', bare], { ...context, op: 'init' });
      const ref = `refs/sigil/${commit}`;
      const present = await this.git(['--git-dir', bare, 'rev-parse', '--verify', '--quiet', ref], {});
      if (present.code !== 0) await this.fetch(bare, { url: repoURL, transport, credentials }, commit, context);
      await this.build(bare, commit, dir, context);
      return dir;
    });
  }

  private async fetch(bare: string, remote: Remote, commit: string, context: FailureContext): Promise<void> {
    const ref = `refs/sigil/${commit}`;
    const fetchArgs = ['--git-dir', bare, 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules'];
    const started = Date.now();
    this.fetches++;
    const run = await this.git([...fetchArgs, '--depth=1', '--', remote.url, `+${commit}:${ref}`], { remote });
    if (run.code === 0) {
      this.log.info('git commit fetched', { repo: context.url, commit, ms: Date.now() - started });
      return;
    }
    if (/not our ref|couldn't find remote ref/i.test(run.stderr)) throw commitNotFound(context);
    if (!/does not allow request for unadvertised object/i.test(run.stderr)) throw failure(run, context, this.timeoutMs);

    // The server only hands out its refs' tips (protocol v0): take the history of every branch and tag.
    this.log.info('git server refuses a fetch by sha; fetching all branch and tag history', { repo: context.url, commit });
    this.fetches++;
    const everything = ['+refs/heads/*:refs/sigil-all/heads/*', '+refs/tags/*:refs/sigil-all/tags/*'];
    const all = await this.git([...fetchArgs, ALL_HISTORY, '--', remote.url, ...everything], { remote });
    if (all.code !== 0) throw failure(all, context, this.timeoutMs);
    const found = await this.git(['--git-dir', bare, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`], {});
    if (found.code !== 0) throw commitNotFound(context);
    await this.gitOk(['--git-dir', bare, 'update-ref', ref, commit], { ...context, op: 'update-ref' });
    this.log.info('git commit fetched', { repo: context.url, commit, ms: Date.now() - started });
  }

  /** Writes the files of `commit` into a temp folder, then renames it to `dir`. */
  private async build(bare: string, commit: string, dir: string, context: FailureContext): Promise<void> {
    const work = await mkdtemp(join(this.cacheDir, 'tmp', 'checkout-'));
    try {
      const tree = join(work, 'tree');
      await mkdir(tree);
      // A private index: the bare repository's own stays untouched.
      await this.gitOk(['--git-dir', bare, '--work-tree', tree, 'read-tree', '--reset', '-u', commit], { ...context, op: 'read-tree' }, {
        GIT_INDEX_FILE: join(work, 'index'),
      });
      await rename(tree, dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async gitOk(args: string[], context: FailureContext, env: Record<string, string> = {}): Promise<void> {
    const run = await this.git(args, { env });
    if (run.code !== 0) throw failure(run, context, this.timeoutMs);
  }

  /**
   * Runs git with an environment isolated from the machine, the credentials of `options.remote` (a private
   * temp folder for ssh files, removed afterwards), in a process group of its own that is killed as a whole on
   * timeout. Never rejects for git's own failures: the exit code is in the result.
   */
  private async git(args: readonly string[], options: { remote?: Remote; env?: Record<string, string> }): Promise<GitRun> {
    const { remote } = options;
    const plan = remote ? authPlan(remote.transport, remote.url, remote.credentials) : undefined;
    const secretDir = plan?.ssh ? await mkdtemp(join(this.cacheDir, 'tmp', 'cred-')) : undefined;
    try {
      const sshEnv = plan && secretDir ? await writeSshFiles(plan, secretDir) : {};
      const config: Array<readonly [string, string]> = [...ISOLATION_CONFIG, ...(plan?.config ?? [])];
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: join(this.cacheDir, 'home'),
        XDG_CONFIG_HOME: join(this.cacheDir, 'home', '.config'),
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CEILING_DIRECTORIES: this.cacheDir,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ASKPASS: '/bin/true',
        SSH_ASKPASS_REQUIRE: 'never',
        LANG: 'C',
        LC_ALL: 'C',
        ...sshEnv,
        ...options.env,
        GIT_CONFIG_COUNT: String(config.length),
        ...Object.fromEntries(config.flatMap(([k, v], i) => [[`GIT_CONFIG_KEY_${i}`, k], [`GIT_CONFIG_VALUE_${i}`, v]])),
      };
      return await runProcess(this.gitPath, args, { cwd: join(this.cacheDir, 'home'), env, timeoutMs: this.timeoutMs });
    } finally {
      if (secretDir) await rm(secretDir, { recursive: true, force: true });
    }
  }

  /** Makes the cache folders and empties `tmp/` (what a previous process left), once. */
  private prepare(): Promise<void> {
    this.prepared ??= (async (): Promise<void> => {
      await rm(join(this.cacheDir, 'tmp'), { recursive: true, force: true });
      for (const sub of ['repos', 'checkouts', 'home']) await mkdir(join(this.cacheDir, sub), { recursive: true });
      await mkdir(join(this.cacheDir, 'tmp'), { mode: 0o700 });
    })().catch((err: unknown) => {
      this.prepared = undefined;
      throw err;
    });
    return this.prepared;
  }

  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(id) ?? Promise.resolve()).then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return next;
  }
}

/**
 * Config of every git run: protocol v2, only the transports Sigil supports, no hooks, no background
 * maintenance that would outlive the command, symbolic links checked out as plain files.
 */
const ISOLATION_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['protocol.version', '2'],
  ['protocol.allow', 'never'],
  ...['file', 'git', 'http', 'https', 'ssh'].map((p) => [`protocol.${p}.allow`, 'always'] as const),
  ['core.hooksPath', '/dev/null'],
  ['core.symlinks', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
];

/** The transport of `repoURL`; throws StalledError InvalidRepoURL or InvalidCredentials (a password in it). */
function checkUrl(repoURL: string): Transport {
  const transport = transportOf(repoURL);
  if (transport === undefined || repoURL.startsWith('-')) {
    throw new StalledError('InvalidRepoURL', `repository URL ${JSON.stringify(scrubUrl(repoURL))} is not https, http, ssh, git or file`);
  }
  if (urlHasPassword(repoURL)) {
    throw new StalledError('InvalidCredentials', `repository URL ${scrubUrl(repoURL)} holds a password: put credentials in a Secret instead`);
  }
  return transport;
}

/** The cache's name for a repo URL. */
function repoId(repoURL: string): string {
  return createHash('sha256').update(repoURL).digest('hex').slice(0, 24);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function commitNotFound(context: FailureContext): StalledError {
  return new StalledError('RevisionNotFound', `commit ${context.revision} not found in ${context.url}`);
}

/**
 * What a failed git run means, tried in this order; each kind's patterns are tried in order too, so the line
 * quoted is the most telling one (ssh prints a banner before "Host key verification failed.").
 */
const FAILURE_KINDS = [
  {
    make: (where: string, line: string): Error => new TransientError('GitAuthFailed', `authentication to ${where} failed: ${line}`),
    patterns: [
      /Host key verification failed/,
      /Permission denied \(/,
      /Authentication failed/i,
      /could not read (Username|Password)/,
      /HTTP Basic: Access denied|returned error: 40[13]|Too many authentication failures/,
    ],
  },
  {
    make: (where: string, line: string): Error => new StalledError('RepositoryNotFound', `repository ${where} not found: ${line}`),
    patterns: [/repository '.*' not found|does not appear to be a git repository|not exported|Repository not found|returned error: 404/i],
  },
  {
    // Only with credentials: redirects are not followed then (see git-credentials.ts).
    make: (where: string, line: string): Error =>
      new StalledError('RepositoryMoved', `repository ${where} redirects elsewhere, where credentials are not sent: use the URL it redirects to: ${line}`),
    patterns: [/returned error: 30\d/],
  },
  {
    make: (where: string, line: string): Error => new TransientError('GitUnreachable', `cannot reach ${where}: ${line}`),
    patterns: [
      /unable to access|Could not resolve host|unable to connect|connect to host|Failed to connect/i,
      /Connection (refused|timed out|reset|closed)|No route to host|Network is unreachable|Operation timed out|kex_exchange_identification/i,
      /remote end hung up|early EOF/,
    ],
  },
] as const;

/** The typed error for a failed git run: its kind from git's stderr, its message quoting one redacted line. */
function failure(run: GitRun, context: FailureContext, timeoutMs: number): Error {
  const where = `${context.url} (revision ${context.revision})`;
  if (run.timedOut) return new TransientError('GitUnreachable', `cannot reach ${where}: git ${context.op} timed out after ${timeoutMs} ms`);
  const lines = redactText(run.stderr, context.secrets)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  // A line ending in ':' goes on in the next ("unable to connect to host:" / "host[0: ip]: errno=…").
  const quote = (i: number): string => (lines[i]!.endsWith(':') && i + 1 < lines.length ? `${lines[i]!} ${lines[i + 1]!}` : lines[i]!).slice(0, 300);
  for (const kind of FAILURE_KINDS) {
    for (const pattern of kind.patterns) {
      const i = lines.findIndex((l) => pattern.test(l));
      if (i >= 0) return kind.make(where, quote(i));
    }
  }
  const last = lines.findLastIndex((l) => /^(fatal|error):/.test(l));
  const detail = last >= 0 ? quote(last) : lines.length ? quote(lines.length - 1) : `exit code ${run.code}`;
  return new TransientError('GitFailed', `git ${context.op} ${where} failed: ${detail}`);
}

/**
 * Runs `command args` (no shell) in a new process group, collecting output; on timeout the whole group (git
 * and the ssh or remote-http it started) is killed. Only before 'close': until then git is unreaped or
 * something of its group holds the pipes, so the group id cannot belong to anyone else. A program that cannot
 * start resolves with code null and the reason as stderr.
 */
function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<GitRun> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let failed: string | undefined;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group has ended
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes <= MAX_STDOUT) stdout.push(chunk);
      else if (failed === undefined) {
        failed = `output larger than ${MAX_STDOUT} bytes`;
        killGroup();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-MAX_STDERR);
    });
    child.on('error', (err) => {
      failed = `cannot run ${command}: ${err.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({
        code: failed === undefined ? code : null,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: failed === undefined ? stderr : `${stderr}\nerror: ${failed}`,
        timedOut,
      });
    });
  });
}
