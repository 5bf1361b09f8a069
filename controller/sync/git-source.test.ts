// GitSource against local file:// repositories made by test/env's helpers, and the URL and credential
// functions it relies on. The real servers (git://, smart HTTP, SSH) are in test/integration/git-source.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SigilError, StalledError, TransientError } from '../../shared/errors.js';
import { execOk, isolatedGitEnv } from '../../test/env/git-exec.js';
import { gitRepos, type GitRepos } from '../../test/env/git-repos.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { authPlan, redactText, transportOf } from './git-credentials.js';
import { credentialsFromSecretData, GitSource, normalizeRepoUrl, scrubUrl, type GitCredentials } from './git-source.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';
const KNOWN_HOSTS = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n';

/** The error `promise` rejects with, checked to be of `type` with `reason` and `message`. */
async function rejects(promise: Promise<unknown>, type: typeof SigilError, reason: string, message: string | RegExp): Promise<SigilError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof type, `${String(err)} is not a ${type.name}`);
  assert.equal(err.reason, reason);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return err;
}

/** A logger collecting its lines. */
function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'json', stream }), lines };
}

/** Every file under `dir` with its content, by relative path. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[relative(dir, join(e.parentPath, e.name))] = readFileSync(join(e.parentPath, e.name), 'utf8');
  }
  return out;
}

describe('scrubUrl', () => {
  const cases: Array<[string, string]> = [
    ['https://user:pass@github.com/a/b.git', 'https://github.com/a/b.git'],
    ['https://token@github.com/a/b', 'https://github.com/a/b'],
    ['http://u:p%40ss@host:8080/x?y=1', 'http://host:8080/x?y=1'],
    ['https://a@b:c@host/x', 'https://host/x'],
    ['ssh://git@github.com:22/a/b', 'ssh://github.com:22/a/b'],
    ['https://GitHub.com/a/b.git', 'https://GitHub.com/a/b.git'],
    ['git@github.com:a/b.git', 'git@github.com:a/b.git'],
    ['git:secret@github.com:a/b.git', 'git@github.com:a/b.git'],
    ['git@host:team@x.git', 'git@host:team@x.git'],
    ['file:///srv/repo.git', 'file:///srv/repo.git'],
    ['/srv/repo.git', '/srv/repo.git'],
  ];
  for (const [url, expected] of cases) it(`${url} → ${expected}`, () => assert.equal(scrubUrl(url), expected));
});

describe('normalizeRepoUrl', () => {
  const cases: Array<[string, string]> = [
    ['https://GitHub.com/a/b.git', 'github.com/a/b'],
    ['ssh://git@github.com/a/b', 'github.com/a/b'],
    ['git@github.com:a/b.git', 'github.com/a/b'],
    ['git@github.com:/a/b.git/', 'github.com/a/b'],
    ['https://user:pw@github.com:443/A/B.git/', 'github.com/A/B'],
    ['http://Host:80/a/b.git', 'host/a/b'],
    ['http://host:8080/a/b', 'host:8080/a/b'],
    ['https://host:80/a/b', 'host:80/a/b'],
    ['ssh://git@host:2222/a/b.git', 'host:2222/a/b'],
    ['ssh://git@host:22/a/b.git', 'host/a/b'],
    ['git://host:9418/a/b.git', 'host/a/b'],
    ['https://[::1]:443/x.git', '[::1]/x'],
    ['https://github.com/a/b.git?ref=x#frag', 'github.com/a/b'],
    ['file:///srv/repos/app.git', '/srv/repos/app'],
    ['/srv/repos/app.git/', '/srv/repos/app'],
  ];
  for (const [url, expected] of cases) it(`${url} → ${expected}`, () => assert.equal(normalizeRepoUrl(url), expected));
});

describe('credentialsFromSecretData', () => {
  const valid: Array<[string, Record<string, string> | undefined, GitCredentials]> = [
    ['no data', undefined, {}],
    ['empty data', {}, {}],
    ['basic auth', { username: b64('bot'), password: b64('s3cret') }, { username: 'bot', password: 's3cret' }],
    ['username alone', { username: b64('bot') }, { username: 'bot' }],
    ['bearer token, trailing newline dropped', { bearerToken: b64('tok\n') }, { bearerToken: 'tok' }],
    ['ssh', { identity: b64(KEY), known_hosts: b64(KNOWN_HOSTS) }, { identity: KEY, knownHosts: KNOWN_HOSTS }],
    ['empty values and other keys ignored', { username: '', password: b64(''), 'ca.crt': b64('x') }, {}],
  ];
  for (const [name, data, expected] of valid) it(name, () => assert.deepEqual(credentialsFromSecretData(data, 'flux-system/git'), expected));

  const invalid: Array<[string, Record<string, string>, string]> = [
    ['password without username', { password: b64('s3cret') }, '"password" is set but "username" is not'],
    ['bearer token with username', { bearerToken: b64('tok'), username: b64('bot') }, '"bearerToken" cannot be used together with "username"'],
    ['bearer token with password', { bearerToken: b64('tok'), password: b64('s3cret') }, '"password" is set but "username" is not'],
    ['not base64', { known_hosts: 'not base64!' }, '"known_hosts" is not base64'],
    ['unpadded base64', { username: 'Ym90' + 'x' }, '"username" is not base64'],
    ['a line break inside', { bearerToken: b64('tok\nX-Evil: 1') }, '"bearerToken" holds a line break or another control character'],
    ['colon in username', { username: b64('a:b'), password: b64('s3cret') }, '"username" holds a ":", which basic auth cannot carry'],
    ['identity not a key', { identity: b64('ssh-ed25519 AAAA public'), known_hosts: b64(KNOWN_HOSTS) }, '"identity" is not a private key (PEM or OpenSSH)'],
    ['known_hosts without a key line', { identity: b64(KEY), known_hosts: b64('# only a comment\n') }, '"known_hosts" has no host key line'],
  ];
  for (const [name, data, message] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => credentialsFromSecretData(data, 'flux-system/git'),
        (err: unknown) => {
          assert.ok(err instanceof StalledError);
          assert.equal(err.reason, 'InvalidCredentials');
          assert.equal(err.message, `Secret flux-system/git: ${message}`);
          assert.doesNotMatch(err.message, /s3cret|tok/);
          return true;
        },
      );
    });
  }
});

describe('transportOf', () => {
  const cases: Array<[string, string | undefined]> = [
    ['https://h/a', 'http'],
    ['HTTP://h/a', 'http'],
    ['ssh://h/a', 'ssh'],
    ['git+ssh://h/a', 'ssh'],
    ['git@h:a/b', 'ssh'],
    ['h:a/b', 'ssh'],
    ['git://h/a', 'git'],
    ['file:///a', 'file'],
    ['/srv/a.git', 'file'],
    ['ext::sh -c touch% /tmp/x', undefined],
    ['ftp://h/a', undefined],
    ['relative/path', undefined],
    ['./a:b', undefined],
  ];
  for (const [url, expected] of cases) it(`${url} → ${String(expected)}`, () => assert.equal(transportOf(url), expected));
});

describe('authPlan', () => {
  it('basic auth: one header, no redirects; the base64 and password as secrets', () => {
    assert.deepEqual(authPlan('http', 'https://u@Git.example.com:8443/a/b.git', { username: 'bot', password: 'pw' }), {
      config: [
        ['http.extraHeader', `Authorization: Basic ${b64('bot:pw')}`],
        ['http.followRedirects', 'false'],
      ],
      secrets: [b64('bot:pw'), 'pw'],
    });
  });

  it('bearer token', () => {
    assert.deepEqual(authPlan('http', 'http://h/a', { bearerToken: 'tok' }), {
      config: [
        ['http.extraHeader', 'Authorization: Bearer tok'],
        ['http.followRedirects', 'false'],
      ],
      secrets: ['tok'],
    });
  });

  it('ignores credentials that do not apply', () => {
    assert.deepEqual(authPlan('git', 'git://h/a', { username: 'bot', password: 'pw' }), { config: [], secrets: [] });
    assert.deepEqual(authPlan('http', 'https://h/a', { identity: KEY, knownHosts: KNOWN_HOSTS }), { config: [], secrets: [] });
    assert.deepEqual(authPlan('ssh', 'git@h:a', { knownHosts: KNOWN_HOSTS, bearerToken: 'tok' }), {
      config: [],
      ssh: { identity: undefined, knownHosts: KNOWN_HOSTS },
      secrets: [],
    });
  });

  it('ssh without known_hosts is refused', () => {
    assert.throws(() => authPlan('ssh', 'ssh://git@h/a', { identity: KEY }), {
      name: 'StalledError',
      reason: 'InvalidCredentials',
      message: 'ssh needs known_hosts to verify the server of ssh://h/a: add "known_hosts" to the credentials Secret',
    });
  });
});

describe('redactText', () => {
  it('drops URL userinfo and replaces secrets', () => {
    assert.equal(
      redactText("fatal: unable to access 'https://bot:pw1@h/a/': token tok2 rejected", ['tok2']),
      "fatal: unable to access 'https://h/a/': token [REDACTED] rejected",
    );
  });
});

describe('GitSource on file:// repositories', () => {
  let dir: string;
  let repos: GitRepos;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let first: string;
  let second: string;
  let sources = 0;
  const newSource = (options: { cacheDir?: string; timeoutMs?: number; log?: Logger } = {}): GitSource =>
    new GitSource({ cacheDir: options.cacheDir ?? join(dir, `cache-${++sources}`), log: options.log ?? captureLog().log, timeoutMs: options.timeoutMs });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-git-source-'));
    env = isolatedGitEnv(join(dir, 'home'));
    repos = gitRepos(join(dir, 'repos'), join(dir, 'scratch'), env);
    url = `file://${join(dir, 'repos', 'app.git')}`;
    await repos.createRepo('app');
    first = await repos.commitFiles('app', { 'README.md': 'app\n', 'deploy/cm.yaml': 'kind: ConfigMap\n' }, 'first');
    second = await repos.commitFiles('app', { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n', 'README.md': null }, 'second');
    await repos.moveBranch('app', 'release', first);
    await repos.tag('app', 'v1', first);
    await repos.tag('app', 'v2', second, { message: 'v2\n' });
    await repos.moveBranch('app', 'both', first);
    await repos.tag('app', 'both', second);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('resolve', () => {
    it('branches, tags (annotated ones peeled), HEAD and full ref names', async () => {
      const source = newSource();
      const cases: Array<[string, string]> = [
        ['main', second],
        ['release', first],
        ['v1', first],
        ['v2', second],
        ['HEAD', second],
        ['refs/tags/v2', second],
        ['refs/heads/release', first],
        ['both', first], // a branch wins over a tag of the same name
        ['refs/tags/both', second],
      ];
      for (const [revision, expected] of cases) assert.equal(await source.resolve(url, revision), expected, revision);
      assert.equal(source.fetchCount(), 0);
    });

    it('returns a full sha as is, in lowercase, without asking the server', async () => {
      const sha = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';
      assert.equal(await newSource().resolve('file:///nonexistent/repo.git', sha), sha.toLowerCase());
    });

    it('a missing ref is RevisionNotFound', async () => {
      await rejects(newSource().resolve(url, 'nope'), StalledError, 'RevisionNotFound', `revision "nope" not found in ${url}`);
      // A short sha is not looked up as a commit.
      await rejects(newSource().resolve(url, second.slice(0, 7)), StalledError, 'RevisionNotFound', `revision "${second.slice(0, 7)}" not found in ${url}`);
    });

    it('a missing repository is RepositoryNotFound', async () => {
      const missing = `file://${join(dir, 'repos', 'missing.git')}`;
      await rejects(
        newSource().resolve(missing, 'main'),
        StalledError,
        'RepositoryNotFound',
        `repository ${missing} (revision main) not found: fatal: '${join(dir, 'repos', 'missing.git')}' does not appear to be a git repository`,
      );
    });

    it('refuses URLs it does not fetch from, and passwords in URLs', async () => {
      for (const bad of ['ext::sh -c touch% /tmp/pwned', 'relative/path.git', '--upload-pack=touch /tmp/pwned']) {
        await rejects(newSource().resolve(bad, 'main'), StalledError, 'InvalidRepoURL', `repository URL ${JSON.stringify(bad)} is not https, http, ssh, git or file`);
      }
      const err = await rejects(
        newSource().resolve('https://bot:hunter2@example.com/a.git', 'main'),
        StalledError,
        'InvalidCredentials',
        'repository URL https://example.com/a.git holds a password: put credentials in a Secret instead',
      );
      assert.doesNotMatch(err.message, /hunter2/);
    });

    it('times out as GitUnreachable against a server that never answers', async (t) => {
      const sockets = new Set<Socket>();
      const silent: Server = createServer((s) => sockets.add(s.on('error', () => undefined)));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      t.after(() => {
        for (const s of sockets) s.destroy();
        silent.close();
      });
      const port = (silent.address() as { port: number }).port;
      const silentUrl = `git://127.0.0.1:${port}/app.git`;
      await rejects(
        newSource({ timeoutMs: 300 }).resolve(silentUrl, 'main'),
        TransientError,
        'GitUnreachable',
        `cannot reach ${silentUrl} (revision main): git ls-remote timed out after 300 ms`,
      );
    });
  });

  describe('HTTP credentials', () => {
    it('are never sent along a redirect: with credentials a redirect is RepositoryMoved', async (t) => {
      const seen: Array<{ server: string; url: string; authorization: string | undefined }> = [];
      const listen = async (name: string, answer: (res: ServerResponse) => void): Promise<number> => {
        const server = createHttpServer((req, res) => {
          seen.push({ server: name, url: req.url ?? '', authorization: req.headers.authorization });
          answer(res);
        });
        await new Promise<void>((resolve) => server.listen(0, name === 'other' ? '127.0.0.2' : '127.0.0.1', resolve));
        t.after(() => server.close());
        return (server.address() as { port: number }).port;
      };
      const other = await listen('other', (res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' }).end());
      const origin = await listen('origin', (res) => res.writeHead(302, { Location: `http://127.0.0.2:${other}/moved.git/info/refs?service=git-upload-pack` }).end());
      const repoUrl = `http://127.0.0.1:${origin}/app.git`;
      await rejects(
        newSource().resolve(repoUrl, 'main', { bearerToken: 'tok-123' }),
        StalledError,
        'RepositoryMoved',
        `repository ${repoUrl} (revision main) redirects elsewhere, where credentials are not sent: use the URL it redirects to: ` +
          `fatal: unable to access '${repoUrl}/': The requested URL returned error: 302`,
      );
      assert.deepEqual(seen, [{ server: 'origin', url: '/app.git/info/refs?service=git-upload-pack', authorization: 'Bearer tok-123' }]);
      // Without credentials, a redirect is followed.
      seen.length = 0;
      await rejects(newSource().resolve(repoUrl, 'main'), TransientError, 'GitAuthFailed', `authentication to ${repoUrl} (revision main) failed: fatal: Authentication failed for 'http://127.0.0.2:${other}/moved.git/'`);
      assert.deepEqual(seen.slice(0, 2).map((r) => [r.server, r.authorization]), [['origin', undefined], ['other', undefined]]);
    });
  });

  describe('checkout', () => {
    it('holds exactly the files of the commit; the same commit again does not fetch', async () => {
      const { log, lines } = captureLog();
      const source = newSource({ log });
      const dirSecond = await source.checkout(url, second);
      assert.deepEqual(files(dirSecond), { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n' });
      assert.equal(source.fetchCount(), 1);
      assert.equal(await source.checkout(url, second.toUpperCase()), dirSecond);
      assert.equal(source.fetchCount(), 1);
      const dirFirst = await source.checkout(url, first);
      assert.notEqual(dirFirst, dirSecond);
      assert.deepEqual(files(dirFirst), { 'README.md': 'app\n', 'deploy/cm.yaml': 'kind: ConfigMap\n' });
      assert.equal(source.fetchCount(), 2);
      assert.deepEqual(
        lines.map((l) => JSON.parse(l) as { level: string; msg: string; repo: string; commit: string }).map(({ level, msg, repo, commit }) => ({ level, msg, repo, commit })),
        [
          { level: 'info', msg: 'git commit fetched', repo: url, commit: second },
          { level: 'info', msg: 'git commit fetched', repo: url, commit: first },
        ],
      );
    });

    it('concurrent checkouts of one commit share one fetch', async () => {
      const source = newSource();
      const dirs = await Promise.all(Array.from({ length: 5 }, () => source.checkout(url, second)));
      assert.equal(new Set(dirs).size, 1);
      assert.equal(source.fetchCount(), 1);
      assert.deepEqual(files(dirs[0]!), { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n' });
    });

    it('concurrent checkouts of two commits of one repo both succeed', async () => {
      const source = newSource();
      const [a, b] = await Promise.all([source.checkout(url, first), source.checkout(url, second)]);
      assert.deepEqual(files(a), { 'README.md': 'app\n', 'deploy/cm.yaml': 'kind: ConfigMap\n' });
      assert.deepEqual(files(b), { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n' });
      assert.equal(source.fetchCount(), 2);
    });

    it('a new GitSource on the same cache reuses the checkout without fetching', async () => {
      const cacheDir = join(dir, 'cache-shared');
      const dirFirst = await newSource({ cacheDir }).checkout(url, second);
      const again = newSource({ cacheDir });
      assert.equal(await again.checkout(url, second), dirFirst);
      assert.equal(again.fetchCount(), 0);
    });

    it('follows a moved branch: the new commit is fetched once', async () => {
      await repos.createRepo('moving');
      const movingUrl = `file://${join(dir, 'repos', 'moving.git')}`;
      const a = await repos.commitFiles('moving', { 'a.yaml': 'a: 1\n' }, 'a');
      const source = newSource();
      assert.equal(await source.resolve(movingUrl, 'main'), a);
      await source.checkout(movingUrl, a);
      const b = await repos.commitFiles('moving', { 'a.yaml': 'a: 2\n', 'b.yaml': 'b: 1\n' }, 'b');
      assert.equal(await source.resolve(movingUrl, 'main'), b);
      assert.deepEqual(files(await source.checkout(movingUrl, b)), { 'a.yaml': 'a: 2\n', 'b.yaml': 'b: 1\n' });
      assert.equal(source.fetchCount(), 2);
      // Back to the old commit: still in the cache.
      await repos.moveBranch('moving', 'main', a);
      assert.equal(await source.resolve(movingUrl, 'main'), a);
      assert.deepEqual(files(await source.checkout(movingUrl, a)), { 'a.yaml': 'a: 1\n' });
      assert.equal(source.fetchCount(), 2);
    });

    it('a commit the server does not have is RevisionNotFound; a short sha a RangeError', async () => {
      const source = newSource();
      const missing = '0123456789012345678901234567890123456789';
      await rejects(source.checkout(url, missing), StalledError, 'RevisionNotFound', `commit ${missing} not found in ${url}`);
      await assert.rejects(source.checkout(url, second.slice(0, 12)), {
        name: 'RangeError',
        message: `checkout needs a full 40-hex commit sha, got "${second.slice(0, 12)}"`,
      });
    });

    it('checks symbolic links out as files holding the link text', async () => {
      // A commit with `leak -> /etc/passwd`, made with plumbing (commitFiles writes regular files only).
      await repos.createRepo('links');
      const bare = join(dir, 'repos', 'links.git');
      const git = (args: string[], input?: string): Promise<string> => execOk('git', ['--git-dir', bare, ...args], { env, input }).then((s) => s.trim());
      const blob = await git(['hash-object', '-w', '--stdin'], '/etc/passwd');
      const tree = await git(['mktree'], `120000 blob ${blob}\tleak\n`);
      const commit = await git(['commit-tree', '-m', 'link', tree]);
      await git(['update-ref', 'refs/heads/main', commit]);
      const out = await newSource().checkout(`file://${bare}`, commit);
      assert.deepEqual(files(out), { leak: '/etc/passwd' });
    });
  });

  describe('gc', () => {
    it('removes checkouts not kept, and the cache of repositories no key names; a removed commit comes back without a fetch', async () => {
      const cacheDir = join(dir, 'cache-gc');
      const source = newSource({ cacheDir });
      const dirFirst = await source.checkout(url, first);
      const dirSecond = await source.checkout(url, second);
      await source.gc(new Set([`${url}@${second}`]));
      assert.deepEqual(readdirSync(join(cacheDir, 'checkouts')), [relative(join(cacheDir, 'checkouts'), dirSecond)]);
      assert.equal(readdirSync(join(cacheDir, 'repos')).length, 1);
      // The commit is still in the bare cache: only the files are written again.
      assert.equal(await source.checkout(url, first), dirFirst);
      assert.equal(source.fetchCount(), 2);
      await source.gc(new Set());
      assert.deepEqual(readdirSync(join(cacheDir, 'checkouts')), []);
      assert.deepEqual(readdirSync(join(cacheDir, 'repos')), []);
      await source.checkout(url, first);
      assert.equal(source.fetchCount(), 3);
    });

    it('leaves a checkout in progress alone', async () => {
      const cacheDir = join(dir, 'cache-gc-busy');
      const source = newSource({ cacheDir });
      await source.checkout(url, first); // the cache folders exist
      const pending = source.checkout(url, second);
      await source.gc(new Set());
      assert.deepEqual(files(await pending), { 'deploy/cm.yaml': 'kind: ConfigMap # v2\n' });
    });
  });
});
