// GitSource against the real Git servers of the test environment: git://, smart HTTP with basic auth, SSH with
// a key and a pinned host key (sshd + git-shell). Checks what each protocol resolves and checks out, how
// every kind of failure is reported, that no password or key text reaches an error or a log line, and that
// no git or ssh process outlives its command (also when it is killed on timeout).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SigilError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../controller/runtime/logger.js';
import { GitSource, type GitCredentials } from '../../controller/sync/git-source.js';
import { execOk } from '../env/git-exec.js';
import { startGitServers, type GitServers } from '../env/git.js';

let dir: string;
let servers: GitServers;
let first: string;
let second: string;
let httpCreds: GitCredentials;
let sshCreds: GitCredentials;
/** Every error and log line of the tests, checked at the end for secrets. */
const errors: SigilError[] = [];
const logLines: string[] = [];
let sources = 0;

function newSource(timeoutMs?: number): { source: GitSource; cacheDir: string } {
  const cacheDir = join(dir, `cache-${++sources}`);
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const log: Logger = createLogger({ level: 'debug', format: 'json', stream });
  return { source: new GitSource({ cacheDir, log, timeoutMs }), cacheDir };
}

/** The SigilError `promise` rejects with (kept for the secrets check), with its reason and message. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; reason: string; message: string }> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SigilError, String(err));
  errors.push(err);
  return { name: err.name, reason: err.reason, message: err.message };
}

function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[relative(root, join(e.parentPath, e.name))] = readFileSync(join(e.parentPath, e.name), 'utf8');
  }
  return out;
}

/** Pids of live processes whose HOME is `home`: every git and ssh a GitSource starts has its cache's. */
function processesWithHome(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOME=${home}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

const sshPort = (): string => new URL(servers.sshUrl('app')).port;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-git-source-int-'));
  servers = await startGitServers({ dir: join(dir, 'env') });
  await servers.createRepo('app');
  first = await servers.commitFiles('app', { 'README.md': 'app\n', 'deploy/cm.yaml': 'kind: ConfigMap\n' }, 'first');
  second = await servers.commitFiles('app', { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n', 'README.md': null }, 'second');
  await servers.tag('app', 'v2', second, { message: 'v2\n' });
  httpCreds = { ...servers.httpCredentials };
  // sshClientKey and sshKnownHosts are paths; a Secret holds their contents.
  sshCreds = { identity: readFileSync(servers.sshClientKey, 'utf8'), knownHosts: readFileSync(servers.sshKnownHosts, 'utf8') };
});

after(async () => {
  await servers?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('GitSource against real git servers', () => {
  const protocols = [
    // The sshd has no `AcceptEnv GIT_PROTOCOL`: SSH speaks protocol v0, which hands out ref tips only, so an
    // older commit takes the fallback (a second fetch of all branch and tag history).
    { name: 'git://', url: (repo: string): string => servers.daemonUrl(repo), creds: (): GitCredentials | undefined => undefined, olderFetches: 1 },
    { name: 'smart HTTP, basic auth', url: (repo: string): string => servers.httpUrl(repo), creds: (): GitCredentials => httpCreds, olderFetches: 1 },
    { name: 'SSH, key + known_hosts', url: (repo: string): string => servers.sshUrl(repo), creds: (): GitCredentials => sshCreds, olderFetches: 2 },
  ];

  for (const protocol of protocols) {
    describe(protocol.name, () => {
      it('resolves a branch, an annotated tag and HEAD', async () => {
        const { source } = newSource();
        assert.equal(await source.resolve(protocol.url('app'), 'main', protocol.creds()), second);
        assert.equal(await source.resolve(protocol.url('app'), 'v2', protocol.creds()), second);
        assert.equal(await source.resolve(protocol.url('app'), 'HEAD', protocol.creds()), second);
        assert.equal(source.fetchCount(), 0);
      });

      it('a missing ref is RevisionNotFound', async () => {
        const { source } = newSource();
        assert.deepEqual(await failure(source.resolve(protocol.url('app'), 'nope', protocol.creds())), {
          name: 'StalledError',
          reason: 'RevisionNotFound',
          message: `revision "nope" not found in ${protocol.url('app').replace(/\/\/[^@/]*@/, '//')}`,
        });
      });

      it('checks out the tip once, and an older commit', async () => {
        const { source, cacheDir } = newSource();
        const tip = await source.checkout(protocol.url('app'), second, protocol.creds());
        assert.deepEqual(files(tip), { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n' });
        assert.equal(await source.checkout(protocol.url('app'), second, protocol.creds()), tip);
        assert.equal(source.fetchCount(), 1);
        const older = await source.checkout(protocol.url('app'), first, protocol.creds());
        assert.deepEqual(files(older), { 'README.md': 'app\n', 'deploy/cm.yaml': 'kind: ConfigMap\n' });
        assert.equal(source.fetchCount(), 1 + protocol.olderFetches);
        assert.deepEqual(processesWithHome(join(cacheDir, 'home')), []);
      });

      it('a commit the server does not have is RevisionNotFound', async () => {
        const { source } = newSource();
        const missing = '0123456789012345678901234567890123456789';
        const failed = await failure(source.checkout(protocol.url('app'), missing, protocol.creds()));
        assert.deepEqual([failed.reason, failed.message], ['RevisionNotFound', `commit ${missing} not found in ${protocol.url('app').replace(/\/\/[^@/]*@/, '//')}`]);
      });
    });
  }

  describe('smart HTTP auth', () => {
    const authFailed = (): string => `authentication to ${servers.httpUrl('app')} (revision main) failed: fatal: Authentication failed for '${servers.httpUrl('app')}/'`;

    it('a wrong password is GitAuthFailed, for resolve and checkout', async () => {
      const { source } = newSource();
      const wrong = { username: httpCreds.username!, password: 'wrong-password-123' };
      assert.deepEqual(await failure(source.resolve(servers.httpUrl('app'), 'main', wrong)), {
        name: 'TransientError',
        reason: 'GitAuthFailed',
        message: authFailed(),
      });
      const failed = await failure(source.checkout(servers.httpUrl('app'), second, wrong));
      assert.deepEqual([failed.reason, failed.message], ['GitAuthFailed', authFailed().replace('(revision main)', `(revision ${second})`)]);
    });

    it('no credentials is GitAuthFailed, without a prompt', async () => {
      const { source } = newSource();
      assert.deepEqual(await failure(source.resolve(servers.httpUrl('app'), 'main')), { name: 'TransientError', reason: 'GitAuthFailed', message: authFailed() });
    });

    it('a bearer token where the server wants basic auth is GitAuthFailed', async () => {
      const { source } = newSource();
      const failed = await failure(source.resolve(servers.httpUrl('app'), 'main', { bearerToken: httpCreds.password! }));
      assert.deepEqual([failed.reason, failed.message], ['GitAuthFailed', authFailed()]);
    });

    it('a missing repository is RepositoryNotFound', async () => {
      const { source } = newSource();
      const failed = await failure(source.resolve(servers.httpUrl('missing'), 'main', httpCreds));
      assert.deepEqual(
        [failed.reason, failed.message],
        ['RepositoryNotFound', `repository ${servers.httpUrl('missing')} (revision main) not found: fatal: repository '${servers.httpUrl('missing')}/' not found`],
      );
    });
  });

  describe('SSH auth', () => {
    const scrubbed = (): string => servers.sshUrl('app').replace(/\/\/[^@/]*@/, '//');
    const sshdLog = (): string => readFileSync(join(dir, 'env', 'logs', 'git-sshd.log'), 'utf8');
    const logins = (): number => sshdLog().split('Accepted publickey').length - 1;

    it('a known_hosts that pins another key fails before logging in', async () => {
      const other = join(dir, 'other_host_key');
      await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other], { env: servers.env });
      const [type, blob] = readFileSync(`${other}.pub`, 'utf8').split(' ');
      const before = logins();
      const { source } = newSource();
      const failed = await failure(source.resolve(servers.sshUrl('app'), 'main', { ...sshCreds, knownHosts: `[127.0.0.1]:${sshPort()} ${type} ${blob}\n` }));
      assert.deepEqual([failed.reason, failed.message], ['GitAuthFailed', `authentication to ${scrubbed()} (revision main) failed: Host key verification failed.`]);
      assert.equal(logins(), before);
    });

    it('no known_hosts is InvalidCredentials, without connecting', async () => {
      const { source } = newSource();
      const connections = sshdLog().split('Connection from').length;
      assert.deepEqual(await failure(source.resolve(servers.sshUrl('app'), 'main', { identity: sshCreds.identity! })), {
        name: 'StalledError',
        reason: 'InvalidCredentials',
        message: `ssh needs known_hosts to verify the server of ${scrubbed()}: add "known_hosts" to the credentials Secret`,
      });
      assert.equal(sshdLog().split('Connection from').length, connections);
    });

    it('no key is GitAuthFailed', async () => {
      const { source } = newSource();
      const user = new URL(servers.sshUrl('app')).username;
      assert.deepEqual(await failure(source.resolve(servers.sshUrl('app'), 'main', { knownHosts: sshCreds.knownHosts! })), {
        name: 'TransientError',
        reason: 'GitAuthFailed',
        message: `authentication to ${scrubbed()} (revision main) failed: ${user}@127.0.0.1: Permission denied (publickey).`,
      });
    });

    it('a server that never answers is killed on timeout with ssh, as GitUnreachable', async (t) => {
      const sockets = new Set<Socket>();
      const silent = createServer((s) => sockets.add(s.on('error', () => undefined)));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      t.after(() => {
        for (const s of sockets) s.destroy();
        silent.close();
      });
      const port = (silent.address() as { port: number }).port;
      const url = `ssh://git@127.0.0.1:${port}/app.git`;
      const { source, cacheDir } = newSource(500);
      const pending = failure(source.resolve(url, 'main', { ...sshCreds, knownHosts: `[127.0.0.1]:${port} ${sshCreds.knownHosts!.split(' ').slice(1).join(' ')}` }));
      // While it waits, git and its ssh run with the cache's HOME; afterwards nothing does.
      await new Promise((r) => setTimeout(r, 250));
      assert.ok(processesWithHome(join(cacheDir, 'home')).length >= 2, 'git and ssh run');
      assert.deepEqual(await pending, {
        name: 'TransientError',
        reason: 'GitUnreachable',
        message: `cannot reach ssh://127.0.0.1:${port}/app.git (revision main): git ls-remote timed out after 500 ms`,
      });
      assert.deepEqual(processesWithHome(join(cacheDir, 'home')), []);
      // The credential folder of the command is gone too.
      assert.deepEqual(readdirSync(join(cacheDir, 'tmp')), []);
    });
  });

  describe('with the servers stopped', () => {
    it('every protocol is GitUnreachable, the URL scrubbed; no secret in any error or log line', async () => {
      const { source, cacheDir } = newSource();
      await servers.stop();
      const http = servers.httpUrl('app');
      const cases = [
        {
          url: servers.daemonUrl('app'),
          creds: undefined,
          detail: 'fatal: unable to connect to 127.0.0.1: 127.0.0.1[0: 127.0.0.1]: errno=Connection refused',
        },
        {
          url: http.replace('http://', `http://${httpCreds.username}@`),
          creds: httpCreds,
          detail: new RegExp(`^fatal: unable to access '${http}/': Failed to connect to 127\\.0\\.0\\.1 port \\d+ after \\d+ ms: Couldn't connect to server$`),
        },
        { url: servers.sshUrl('app'), creds: sshCreds, detail: `ssh: connect to host 127.0.0.1 port ${sshPort()}: Connection refused` },
      ];
      for (const { url, creds, detail } of cases) {
        const failed = await failure(source.resolve(url, 'main', creds));
        const prefix = `cannot reach ${url.replace(/\/\/[^@/]*@/, '//')} (revision main): `;
        assert.equal(failed.reason, 'GitUnreachable', failed.message);
        assert.ok(failed.message.startsWith(prefix), failed.message);
        if (typeof detail === 'string') assert.equal(failed.message.slice(prefix.length), detail);
        else assert.match(failed.message.slice(prefix.length), detail);
      }
      assert.deepEqual(processesWithHome(join(cacheDir, 'home')), []);

      const secrets = [
        httpCreds.password!,
        Buffer.from(`${httpCreds.username}:${httpCreds.password}`).toString('base64'),
        ...sshCreds.identity!.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----')),
      ];
      assert.ok(errors.length >= 15, `errors seen: ${errors.length}`);
      assert.ok(logLines.length > 0);
      for (const text of [...errors.map((e) => e.message), ...logLines]) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `a secret appears in: ${text}`);
        assert.doesNotMatch(text, /PRIVATE KEY/);
      }
    });
  });
});
