/**
 * Git over SSH on loopback: Debian's OpenSSH sshd run as a private, non-system daemon on a free port, with
 * its own host key, config and authorized_keys in a temp folder. The one authorized client key may only run
 * `git-shell -c "$SSH_ORIGINAL_COMMAND"` (git-upload-pack, git-receive-pack, git-upload-archive; anything
 * else is refused), without forwarding or a pty.
 *
 * The login user is whoever runs the tests (root in CI: `PermitRootLogin forced-commands-only`), because a
 * non-system sshd can only log in as real accounts and the tests must not create one. Repositories are
 * addressed by absolute path (`ssh://root@127.0.0.1:PORT/ABS_ROOT/<repo>.git`): git-shell has no base path.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { exec, execOk, PROBE_REPO, shellQuote } from './git-exec.js';
import { freePort, startServer, waitUntil, type Server } from './processes.js';

/** The sshd binary: sshd refuses to start (re-exec) unless run by absolute path. */
export const SSHD = '/usr/sbin/sshd';

/** The running sshd and what a client needs to reach it. */
export interface GitSshServer {
  server: Server;
  port: number;
  user: string;
  /** ed25519 private key authorized for git (no passphrase). */
  clientKey: string;
  /** known_hosts pinning the server's host key as `[127.0.0.1]:PORT`. */
  knownHosts: string;
  /** A GIT_SSH_COMMAND value: that key only, that known_hosts only, strict checking, no prompts, no ~/.ssh/config. */
  command: string;
  /** `ssh -V` (client and server come from the same OpenSSH build on Debian). */
  version: string;
}

/** Generates the keys and config under `dir` and starts sshd; resolves once `git ls-remote` gets an answer from git-shell. */
export async function startGitSsh(options: {
  dir: string;
  /** Repositories live here; the readiness probe asks for a missing one in it. */
  root: string;
  /** Environment of the git processes on the server side (set through sshd's SetEnv). */
  gitEnv: NodeJS.ProcessEnv;
  /** Environment of the local clients (ssh-keygen, git ls-remote). */
  clientEnv: NodeJS.ProcessEnv;
  logDir: string;
}): Promise<GitSshServer> {
  const { dir, gitEnv, clientEnv } = options;
  for (const p of [dir, options.root, gitEnv.HOME ?? '']) {
    if (/["\s\\]/.test(p)) throw new Error(`git ssh: path unusable in sshd_config/authorized_keys: ${JSON.stringify(p)}`);
  }
  mkdirSync(dir, { recursive: true });
  // Privilege separation needs this empty root-owned folder; a system sshd would have created it.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const clientKey = join(dir, 'client_ed25519_key');
  for (const f of [hostKey, `${hostKey}.pub`, clientKey, `${clientKey}.pub`]) rmSync(f, { force: true }); // a reused dir
  await Promise.all([
    execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sigil-test-host', '-f', hostKey], { env: clientEnv }),
    execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sigil-test-client', '-f', clientKey], { env: clientEnv }),
  ]);
  const gitShell = (await execOk('sh', ['-c', 'command -v git-shell'], { env: clientEnv })).trim();
  const clientPub = readFileSync(`${clientKey}.pub`, 'utf8').trim();
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(
    authorizedKeys,
    `command="${gitShell} -c \\"$SSH_ORIGINAL_COMMAND\\"",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc ${clientPub}\n`,
  );

  const port = await freePort();
  const user = userInfo().username;
  const setEnv = ['HOME', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'XDG_CONFIG_HOME', 'LANG', 'LC_ALL']
    .filter((k) => gitEnv[k] !== undefined)
    .map((k) => `"${k}=${gitEnv[k]}"`)
    .join(' ');
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin forced-commands-only',
      'PermitUserEnvironment no',
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'PrintMotd no',
      'UseDNS no',
      'LogLevel VERBOSE',
      `SetEnv ${setEnv}`,
      '',
    ].join('\n'),
  );

  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
  const command = sshCommand(clientKey, knownHosts);

  const server = startServer('git-sshd', SSHD, ['-D', '-e', '-f', config], { env: clientEnv, cwd: dir, logDir: options.logDir });
  const probe = `ssh://${user}@127.0.0.1:${port}${join(options.root, `${PROBE_REPO}.git`)}`;
  // Ready when git-upload-pack itself answers (through sshd, key auth, the pinned host key and git-shell).
  try {
    await waitUntil(
      'git sshd answers',
      async () => {
        const r = await exec('git', ['ls-remote', probe], { env: { ...clientEnv, GIT_SSH_COMMAND: command } });
        return /does not appear to be a git repository/.test(r.stderr);
      },
      { timeoutMs: 15_000, server },
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  const version = (await exec('ssh', ['-V'], { env: clientEnv })).stderr.trim();
  return { server, port, user, clientKey, knownHosts, command, version };
}

/** A GIT_SSH_COMMAND value that logs in with `key` and accepts only the host keys in `knownHosts`. */
export function sshCommand(key: string, knownHosts: string): string {
  return [
    'ssh',
    '-F /dev/null',
    `-i ${shellQuote(key)}`,
    '-o IdentitiesOnly=yes',
    `-o UserKnownHostsFile=${shellQuote(knownHosts)}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    '-o BatchMode=yes',
    '-o LogLevel=ERROR',
  ].join(' ');
}
