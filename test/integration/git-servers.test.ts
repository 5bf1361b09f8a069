// The Git servers of the test environment, checked with the real git and ssh clients: the same repository
// over git://, smart HTTP (Basic auth) and SSH (key auth, pinned host key, git-shell only), pushes, branch
// and tag moves, SSH-signed commits, and a stop that leaves no process behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, execOk, type ExecResult } from '../env/git-exec.js';
import { sshCommand } from '../env/git-ssh.js';
import { isRunning, startGitServers, type GitServers } from '../env/git.js';
import { waitUntil } from '../env/processes.js';

let dir: string;
let servers: GitServers;
let first: string;
let second: string;

function git(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return exec('git', args, { cwd: options.cwd ?? dir, env: { ...servers.env, ...options.env } });
}

async function gitOk(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await git(args, options);
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function withCredentials(url: string, username: string, password: string): string {
  const u = new URL(url);
  [u.username, u.password] = [username, password];
  return u.href;
}

let clients = 0;
/** A fresh folder for a client's clone. */
function clientDir(name: string): string {
  return join(dir, 'client', `${name}-${++clients}`);
}

/** How git ends when its SSH transport failed. */
const CANNOT_READ =
  'fatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n';

const PROTOCOLS = [
  { name: 'git daemon', url: (repo: string): string => servers.daemonUrl(repo) },
  {
    name: 'smart HTTP',
    url: (repo: string): string => withCredentials(servers.httpUrl(repo), servers.httpCredentials.username, servers.httpCredentials.password),
  },
  { name: 'SSH', url: (repo: string): string => servers.sshUrl(repo) },
] as const;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-git-servers-'));
  servers = await startGitServers({ dir: join(dir, 'env') });
  await servers.createRepo('app');
  first = await servers.commitFiles('app', { 'README.md': 'app\n', 'deploy/cm.yaml': 'kind: ConfigMap\n' }, 'first');
  second = await servers.commitFiles('app', { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n', 'README.md': null }, 'second');
});

after(async () => {
  await servers?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('git servers', () => {
  it('run the system git and OpenSSH', (t) => {
    t.diagnostic(`git: ${servers.versions.git}`);
    t.diagnostic(`openssh: ${servers.versions.openssh}`);
    assert.match(servers.versions.git, /^git version \d+\.\d+\.\d+/);
    assert.match(servers.versions.openssh, /^OpenSSH_\d+\.\d+p\d+ /);
  });

  it('make commits on top of each other with the fixed identity', async () => {
    const bare = join(servers.root, 'app.git');
    assert.equal(await gitOk(['--git-dir', bare, 'rev-parse', `${second}^`]), `${first}\n`);
    assert.equal(
      await gitOk(['--git-dir', bare, 'log', '--format=%s|%an <%ae>|%cn <%ce>', 'main']),
      'second|Sigil Test <test@sigil.dev>|Sigil Test <test@sigil.dev>\nfirst|Sigil Test <test@sigil.dev>|Sigil Test <test@sigil.dev>\n',
    );
    assert.equal(await gitOk(['--git-dir', bare, 'ls-tree', '-r', '--name-only', 'main']), 'deploy/cm.yaml\n');
    assert.equal(await gitOk(['--git-dir', bare, 'symbolic-ref', 'HEAD']), 'refs/heads/main\n');
  });

  for (const protocol of PROTOCOLS) {
    describe(protocol.name, () => {
      it('ls-remote shows main at the last commit', async () => {
        assert.equal(await gitOk(['ls-remote', protocol.url('app'), 'refs/heads/main']), `${second}\trefs/heads/main\n`);
      });

      it('a shallow clone has the last commit only, with its files', async () => {
        const work = clientDir('shallow');
        await gitOk(['clone', '--quiet', '--depth', '1', protocol.url('app'), work]);
        assert.equal(await gitOk(['rev-parse', 'HEAD'], { cwd: work }), `${second}\n`);
        assert.equal(await gitOk(['rev-list', '--count', 'HEAD'], { cwd: work }), '1\n');
        assert.equal(readFileSync(join(work, '.git/shallow'), 'utf8'), `${second}\n`);
        assert.equal(readFileSync(join(work, 'deploy/cm.yaml'), 'utf8'), 'kind: ConfigMap # v2\n');
        assert.equal(existsSync(join(work, 'README.md')), false);
      });

      it('accepts a push', async () => {
        const repo = `push-${protocol.name.replace(/\W+/g, '-')}`;
        await servers.createRepo(repo);
        const base = await servers.commitFiles(repo, { 'a.txt': 'a\n' }, 'base');
        const work = clientDir('push');
        await gitOk(['clone', '--quiet', protocol.url(repo), work]);
        writeFileSync(join(work, 'a.txt'), 'pushed\n');
        await gitOk(['commit', '--quiet', '-am', 'pushed'], { cwd: work });
        const pushed = (await gitOk(['rev-parse', 'HEAD'], { cwd: work })).trim();
        await gitOk(['push', '--quiet', 'origin', 'main'], { cwd: work });
        assert.equal(await gitOk(['ls-remote', servers.daemonUrl(repo), 'refs/heads/main']), `${pushed}\trefs/heads/main\n`);
        // commitFiles builds on what others pushed.
        const next = await servers.commitFiles(repo, { 'b.txt': 'b\n' }, 'next');
        assert.equal(await gitOk(['--git-dir', join(servers.root, `${repo}.git`), 'rev-list', '--parents', '-n1', next]), `${next} ${pushed}\n`);
        assert.notEqual(pushed, base);
      });
    });
  }

  describe('smart HTTP auth', () => {
    it('answers 401 with a Basic challenge to a request without credentials', async () => {
      const response = await fetch(`${servers.httpUrl('app')}/info/refs?service=git-upload-pack`);
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Basic realm="sigil-test"');
    });

    it('refuses git without credentials', async () => {
      const url = servers.httpUrl('app');
      const noPrompt = await git(['ls-remote', url]);
      assert.equal(noPrompt.code, 128);
      assert.match(noPrompt.stderr, /could not read Username for 'http:\/\/127\.0\.0\.1:\d+': terminal prompts disabled/);
      // A client that answers the prompt with nothing (GIT_ASKPASS=true) gets as far as the 401.
      const empty = await git(['ls-remote', url], { env: { GIT_ASKPASS: 'true' } });
      assert.equal(empty.code, 128);
      assert.equal(empty.stderr, `remote: authentication required\nfatal: Authentication failed for '${url}/'\n`);
    });

    it('refuses a wrong password without printing it', async () => {
      const url = servers.httpUrl('app');
      const r = await git(['ls-remote', withCredentials(url, servers.httpCredentials.username, 'not-the-password')]);
      assert.equal(r.code, 128);
      assert.equal(r.stderr, `remote: authentication required\nfatal: Authentication failed for '${url}/'\n`);
    });

    it('takes a push larger than http.postBuffer (chunked request body, no Content-Length)', async () => {
      await servers.createRepo('big');
      await servers.commitFiles('big', { 'a.txt': 'a\n' }, 'base');
      const work = clientDir('big');
      const url = withCredentials(servers.httpUrl('big'), servers.httpCredentials.username, servers.httpCredentials.password);
      await gitOk(['clone', '--quiet', url, work]);
      writeFileSync(join(work, 'blob.bin'), randomBytes(3 * 1024 * 1024));
      await gitOk(['add', 'blob.bin'], { cwd: work });
      await gitOk(['commit', '--quiet', '-m', 'big'], { cwd: work });
      const pushed = (await gitOk(['rev-parse', 'HEAD'], { cwd: work })).trim();
      await gitOk(['push', '--quiet', 'origin', 'main'], { cwd: work });
      assert.equal(await gitOk(['ls-remote', url, 'refs/heads/main']), `${pushed}\trefs/heads/main\n`);
      const log = readFileSync(join(dir, 'env/logs/git-http.log'), 'utf8');
      assert.match(log, /POST \/big\.git\/git-receive-pack \(chunked\)\n/);
    });
  });

  describe('SSH auth', () => {
    it('refuses a server whose host key is not pinned', async () => {
      const empty = join(dir, 'empty_known_hosts');
      writeFileSync(empty, '');
      const r = await git(['ls-remote', servers.sshUrl('app')], { env: { GIT_SSH_COMMAND: sshCommand(servers.sshClientKey, empty) } });
      assert.equal(r.code, 128);
      const { port } = new URL(servers.sshUrl('app'));
      assert.equal(
        r.stderr,
        `No ED25519 host key is known for [127.0.0.1]:${port} and you have requested strict checking.\r\n` +
          `Host key verification failed.\r\n${CANNOT_READ}`,
      );
    });

    it('refuses a key that is not authorized', async () => {
      const key = join(dir, 'stranger_key');
      await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { env: servers.env });
      const r = await git(['ls-remote', servers.sshUrl('app')], { env: { GIT_SSH_COMMAND: sshCommand(key, servers.sshKnownHosts) } });
      assert.equal(r.code, 128);
      const { username } = new URL(servers.sshUrl('app'));
      assert.equal(r.stderr, `${username}@127.0.0.1: Permission denied (publickey).\r\n${CANNOT_READ}`);
    });

    it('runs nothing but git: git-shell refuses other commands', async () => {
      const url = new URL(servers.sshUrl('app'));
      for (const command of ['ls', 'id; cat /etc/passwd', '']) {
        const r = await exec('sh', ['-c', `${servers.sshCommand} -p ${url.port} ${url.username}@127.0.0.1 "$0"`, command], { env: servers.env });
        assert.equal(r.code, 128, command);
        assert.equal(r.stdout, '', command);
        assert.equal(r.stderr, `fatal: unrecognized command '${command}'\n`, command);
      }
    });
  });

  describe('branches and tags', () => {
    it('show in ls-remote over every protocol once moved', async () => {
      await servers.moveBranch('app', 'release', first);
      await servers.tag('app', 'v1', first);
      await servers.tag('app', 'v2', second, { message: 'v2\n' });
      const tagObject = (await gitOk(['--git-dir', join(servers.root, 'app.git'), 'rev-parse', 'refs/tags/v2'])).trim();
      assert.notEqual(tagObject, second);
      const expected = [
        `${second}\trefs/heads/main`,
        `${first}\trefs/heads/release`,
        `${first}\trefs/tags/v1`,
        `${tagObject}\trefs/tags/v2`,
        `${second}\trefs/tags/v2^{}`,
        '',
      ].join('\n');
      for (const protocol of PROTOCOLS) {
        assert.equal(await gitOk(['ls-remote', '--heads', '--tags', protocol.url('app')]), expected, protocol.name);
      }
    });

    it('move backwards, and the next commit builds on the moved tip', async () => {
      await servers.moveBranch('app', 'main', first);
      assert.equal(await gitOk(['ls-remote', servers.sshUrl('app'), 'refs/heads/main']), `${first}\trefs/heads/main\n`);
      const third = await servers.commitFiles('app', { 'x.txt': 'x\n' }, 'third');
      const bare = join(servers.root, 'app.git');
      assert.equal(await gitOk(['--git-dir', bare, 'rev-list', '--parents', '-n1', third]), `${third} ${first}\n`);
      assert.equal(await gitOk(['--git-dir', bare, 'ls-tree', '-r', '--name-only', third]), 'README.md\ndeploy/cm.yaml\nx.txt\n');
      await servers.moveBranch('app', 'main', second);
    });

    it('a new branch starts at main; the author can be chosen', async () => {
      const sha = await servers.commitFiles('app', { 'f.txt': 'f\n' }, 'feature', {
        branch: 'feature',
        author: { name: 'Alice', email: 'alice@example.com' },
      });
      const bare = join(servers.root, 'app.git');
      assert.equal(await gitOk(['--git-dir', bare, 'log', '-1', '--format=%P|%an <%ae>|%cn <%ce>', sha]), `${second}|Alice <alice@example.com>|Sigil Test <test@sigil.dev>\n`);
      assert.equal(await gitOk(['ls-remote', servers.daemonUrl('app'), 'refs/heads/feature']), `${sha}\trefs/heads/feature\n`);
      assert.equal(await gitOk(['ls-remote', servers.daemonUrl('app'), 'refs/heads/main']), `${second}\trefs/heads/main\n`);
    });
  });

  describe('SSH-signed commits', () => {
    it('verify against allowed signers; unsigned and foreign-signed ones do not', async () => {
      const key = join(dir, 'signing_key');
      const foreign = join(dir, 'foreign_key');
      await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'signer', '-f', key], { env: servers.env });
      await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'foreign', '-f', foreign], { env: servers.env });
      const allowed = join(dir, 'allowed_signers');
      const [type, blob] = readFileSync(`${key}.pub`, 'utf8').split(' ');
      writeFileSync(allowed, `test@sigil.dev namespaces="git" ${type} ${blob}\n`);
      const fingerprint = (await execOk('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key}.pub`], { env: servers.env })).split(' ')[1]!;

      await servers.createRepo('signed');
      const unsigned = await servers.commitFiles('signed', { 'a.txt': 'a\n' }, 'unsigned');
      const signed = await servers.commitFiles('signed', { 'a.txt': 'b\n' }, 'signed', { signWith: key });
      const foreignSigned = await servers.commitFiles('signed', { 'a.txt': 'c\n' }, 'foreign', { signWith: foreign });

      const work = clientDir('signed');
      await gitOk(['clone', '--quiet', servers.sshUrl('signed'), work]);
      const verify = (sha: string): Promise<ExecResult> =>
        git(['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', sha], { cwd: work });

      const good = await verify(signed);
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stderr, `Good "git" signature for test@sigil.dev with ED25519 key ${fingerprint}\n`);
      const none = await verify(unsigned);
      assert.equal(none.code, 1);
      assert.equal(none.stderr, '');
      const other = await verify(foreignSigned);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /No principal matched/);
    });
  });

  describe('stop', () => {
    it('ends connections in flight and leaves no server process, every port closed', async () => {
      const idle = servers.processes();
      assert.ok(idle.length >= 2, `server processes: ${idle.join(' ')}`);
      // One connection held open on each server: an SSH session in git-upload-pack waiting for wants, a
      // git:// connection that never sends its request, an HTTP POST whose body never completes.
      const ssh = new URL(servers.sshUrl('app'));
      const session = spawn(
        'sh',
        ['-c', `exec ${servers.sshCommand} -p ${ssh.port} ${ssh.username}@127.0.0.1 "$0"`, `git-upload-pack '${join(servers.root, 'app.git')}'`],
        { env: servers.env, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      const sessionEnded = new Promise<number | null>((resolve) => session.on('exit', (code) => resolve(code)));
      const advertised = new Promise((resolve) => session.stdout.once('data', resolve));
      const daemon = connect(Number(new URL(servers.daemonUrl('app')).port), '127.0.0.1');
      const daemonClosed = new Promise((resolve) => daemon.on('close', resolve));
      daemon.on('error', () => undefined);
      const post = request({
        host: '127.0.0.1',
        port: Number(new URL(servers.httpUrl('app')).port),
        path: '/app.git/git-upload-pack',
        method: 'POST',
        auth: `${servers.httpCredentials.username}:${servers.httpCredentials.password}`,
        headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-length': '100' },
      });
      const postEnded = new Promise((resolve) => post.on('close', resolve));
      post.on('error', () => undefined);
      post.write('0000');
      await advertised;
      await waitUntil('a process per connection', async () => servers.processes().length >= idle.length + 4, { timeoutMs: 5000 });

      const pids = servers.processes();
      for (const pid of pids) assert.equal(isRunning(pid), true, `pid ${pid} before stop`);
      await servers.stop();
      for (const pid of pids) assert.equal(isRunning(pid), false, `pid ${pid} after stop`);
      assert.equal(await sessionEnded, 255);
      await Promise.all([daemonClosed, postEnded]);
      for (const protocol of PROTOCOLS) {
        const r = await git(['ls-remote', protocol.url('app')]);
        assert.equal(r.code, 128, protocol.name);
        assert.match(r.stderr, /Connection refused|Failed to connect/, protocol.name);
      }
    });
  });
});
