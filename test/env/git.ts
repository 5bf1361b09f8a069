/**
 * Real Git servers on loopback for the GitOps sync-engine tests, each speaking a real protocol against the
 * same bare repositories:
 * - `git daemon` (git://, anonymous, receive-pack enabled),
 * - smart HTTP (`git http-backend` behind node:http, Basic auth required; see git-http.ts),
 * - SSH (a private Debian OpenSSH sshd, key auth, git-shell forced command; see git-ssh.ts).
 *
 * Needs git, openssh-server and openssh-client from the system (test/env/install-system-packages.sh).
 * Every git the environment runs, and the `env` it hands to tests, ignores the machine's and the user's git
 * and ssh configuration (git-exec.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exec, execOk, isolatedGitEnv, PROBE_REPO } from './git-exec.js';
import { startGitHttp, type GitHttpServer } from './git-http.js';
import { descendantsOf, killDescendants, killLeftovers } from './git-procs.js';
import { gitRepos, type GitRepos } from './git-repos.js';
import { startGitSsh, type GitSshServer } from './git-ssh.js';
import { freePort, startServer, waitUntil, type Server } from './processes.js';

export type { CommitOptions, GitPerson } from './git-repos.js';
export { isRunning } from './git-procs.js';

/** The running servers, how to reach each, and how to change the repositories they serve. */
export interface GitServers extends GitRepos {
  /** Folder holding the bare repositories, `<root>/<repo>.git`. */
  root: string;
  /** `git://127.0.0.1:PORT/<repo>.git` */
  daemonUrl(repo: string): string;
  /** `http://127.0.0.1:PORT/<repo>.git`, without credentials (every request needs `httpCredentials`). */
  httpUrl(repo: string): string;
  httpCredentials: { username: string; password: string };
  /** `ssh://USER@127.0.0.1:PORT/<root>/<repo>.git`: USER is the account running the tests, the path absolute. */
  sshUrl(repo: string): string;
  /** ed25519 private key the SSH server accepts (for git only). */
  sshClientKey: string;
  /** known_hosts pinning the SSH server's host key as `[127.0.0.1]:PORT`. */
  sshKnownHosts: string;
  /** GIT_SSH_COMMAND using `sshClientKey` and `sshKnownHosts` with strict host key checking and no prompts. */
  sshCommand: string;
  /** Environment for git clients in tests: isolated HOME and config, no prompts, GIT_SSH_COMMAND = `sshCommand`. */
  env: NodeJS.ProcessEnv;
  /** `git --version` and `ssh -V`, as printed. */
  versions: { git: string; openssh: string };
  /** Pids of every server process now running: daemon, sshd, their children, in-flight http-backends. */
  processes(): number[];
  /** Stops the three servers and whatever they started; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the three servers for the bare repositories under `<dir>/repos` (scratch clones, keys, config under
 * `dir`; logs `git-daemon.log`, `git-sshd.log`, `git-http.log` in `logDir`, default `<dir>/logs`). Resolves
 * once each answers a real `git ls-remote`; throws (after stopping what did start) when one does not.
 */
export async function startGitServers(options: { dir: string; logDir?: string }): Promise<GitServers> {
  const dir = resolve(options.dir);
  const root = join(dir, 'repos');
  const logDir = options.logDir ?? join(dir, 'logs');
  mkdirSync(root, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const gitEnv = isolatedGitEnv(join(dir, 'home'));
  const httpCredentials = { username: 'sigil', password: randomBytes(12).toString('hex') };

  // The programs themselves, not the `git` wrapper that would run them as its child.
  const execPath = (await execOk('git', ['--exec-path'], { env: gitEnv })).trim();
  const started = await Promise.allSettled([
    startDaemon(join(execPath, 'git-daemon'), root, gitEnv, logDir),
    startGitHttp({ backend: join(execPath, 'git-http-backend'), root, credentials: httpCredentials, env: gitEnv, logDir }),
    startGitSsh({ dir: join(dir, 'ssh'), root, gitEnv, clientEnv: gitEnv, logDir }),
  ] as const);
  const [daemonR, httpR, sshR] = started;
  const servers = [daemonR, sshR].flatMap((r) => (r.status === 'fulfilled' ? [r.value.server] : []));
  const stopAllStarted = async (): Promise<void> => {
    // Connections first, while their servers still reap them; then the servers; then whatever moved away.
    const seen = servers.flatMap((s) => descendantsOf(s.pid));
    await Promise.all([
      httpR.status === 'fulfilled' ? httpR.value.stop() : undefined,
      ...servers.map(async (s) => {
        await killDescendants(s.pid);
        await s.stop();
      }),
    ]);
    await killLeftovers(seen);
  };
  if (daemonR.status === 'rejected' || httpR.status === 'rejected' || sshR.status === 'rejected') {
    await stopAllStarted();
    const reasons = started.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as Error);
    throw new Error(`git servers did not start: ${reasons.map((e) => e.message).join('; ')}`);
  }
  const daemon = daemonR.value;
  const http: GitHttpServer = httpR.value;
  const ssh: GitSshServer = sshR.value;

  const env = { ...gitEnv, GIT_SSH_COMMAND: ssh.command };
  const gitVersion = (await execOk('git', ['--version'], { env })).trim();
  let stopping: Promise<void> | undefined;
  return {
    root,
    ...gitRepos(root, join(dir, 'scratch'), gitEnv),
    daemonUrl: (repo) => `git://127.0.0.1:${daemon.port}/${repo}.git`,
    httpUrl: (repo) => `http://127.0.0.1:${http.port}/${repo}.git`,
    httpCredentials,
    sshUrl: (repo) => `ssh://${ssh.user}@127.0.0.1:${ssh.port}${root}/${repo}.git`,
    sshClientKey: ssh.clientKey,
    sshKnownHosts: ssh.knownHosts,
    sshCommand: ssh.command,
    env,
    versions: { git: gitVersion, openssh: ssh.version },
    processes: () => [
      daemon.server.pid,
      ...descendantsOf(daemon.server.pid).map((p) => p.pid),
      ssh.server.pid,
      ...descendantsOf(ssh.server.pid).map((p) => p.pid),
      ...http.children(),
    ],
    stop: () => (stopping ??= stopAllStarted()),
  };
}

async function startDaemon(program: string, root: string, env: NodeJS.ProcessEnv, logDir: string): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = startServer(
    'git-daemon',
    program,
    [
      '--reuseaddr',
      '--listen=127.0.0.1',
      `--port=${port}`,
      `--base-path=${root}`,
      '--export-all',
      '--enable=receive-pack',
      '--informative-errors',
      '--log-destination=stderr',
      root,
    ],
    { env, cwd: root, logDir },
  );
  const probe = `git://127.0.0.1:${port}/${PROBE_REPO}.git`;
  try {
    await waitUntil(
      'git daemon answers',
      async () => /no such repository/.test((await exec('git', ['ls-remote', probe], { env })).stderr),
      { timeoutMs: 10_000, server },
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { server, port };
}
