// POST /hooks/git over a real HTTP server: GitHub, GitLab and Gitea/Forgejo deliveries shaped like the real
// ones, exact statuses and bodies for every refusal, and neither the secret nor a signature in any answer or
// log line.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type RunningHttpServer } from '../runtime/http-server.js';
import { createLogger } from '../runtime/logger.js';
import { gitHookRoute, parsePushEvent, type PushEvent } from './git-webhook.js';

const SECRET = 'whsec-Tr0ub4dor&3-sigil';
const SHA = '9f2c1e4b7d3a6f80c5e1d2b3a4f5e6d7c8b9a0f1';
const BEFORE = '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';

const github = {
  ref: 'refs/heads/main',
  before: BEFORE,
  after: SHA,
  repository: {
    id: 123456789,
    name: 'web',
    full_name: 'platform/web',
    private: true,
    owner: { login: 'platform', id: 987654, type: 'Organization' },
    html_url: 'https://github.com/platform/web',
    git_url: 'git://github.com/platform/web.git',
    ssh_url: 'git@github.com:platform/web.git',
    clone_url: 'https://github.com/platform/web.git',
    default_branch: 'main',
  },
  pusher: { name: 'octocat', email: 'octocat@example.com' },
  sender: { login: 'octocat', id: 583231, type: 'User' },
  created: false,
  deleted: false,
  forced: false,
  compare: `https://github.com/platform/web/compare/${BEFORE.slice(0, 12)}...${SHA.slice(0, 12)}`,
  commits: [{ id: SHA, message: 'deploy: web 1.4.3', timestamp: '2026-01-02T03:04:05Z', author: { name: 'Octo Cat', email: 'octocat@example.com' }, added: [], removed: [], modified: ['deploy/deployment.yaml'] }],
  head_commit: { id: SHA, message: 'deploy: web 1.4.3' },
};
const githubPing = {
  zen: 'Design for failure.',
  hook_id: 44112233,
  hook: { type: 'Repository', id: 44112233, name: 'web', active: true, events: ['push'], config: { content_type: 'json', insecure_ssl: '0', url: 'https://sigil.example.com/hooks/git' } },
  repository: github.repository,
  sender: github.sender,
};
const gitlab = (kind: 'push' | 'tag_push', ref: string): Record<string, unknown> => ({
  object_kind: kind,
  event_name: kind,
  before: BEFORE,
  after: SHA,
  ref,
  checkout_sha: SHA,
  user_id: 4,
  user_name: 'John Smith',
  user_username: 'jsmith',
  project_id: 15,
  project: {
    id: 15,
    name: 'web',
    web_url: 'https://gitlab.example.com/platform/web',
    git_ssh_url: 'git@gitlab.example.com:platform/web.git',
    git_http_url: 'https://gitlab.example.com/platform/web.git',
    namespace: 'platform',
    path_with_namespace: 'platform/web',
    default_branch: 'main',
    homepage: 'https://gitlab.example.com/platform/web',
  },
  repository: {
    name: 'web',
    url: 'git@gitlab.example.com:platform/web.git',
    homepage: 'https://gitlab.example.com/platform/web',
    git_http_url: 'https://gitlab.example.com/platform/web.git',
    git_ssh_url: 'git@gitlab.example.com:platform/web.git',
    visibility_level: 0,
  },
  commits: [{ id: SHA, message: 'deploy: web 1.4.3\n', timestamp: '2026-01-02T03:04:05+00:00', url: `https://gitlab.example.com/platform/web/-/commit/${SHA}` }],
  total_commits_count: 1,
});
const gitea = {
  ref: 'refs/heads/main',
  before: BEFORE,
  after: SHA,
  compare_url: `https://gitea.example.com/platform/web/compare/${BEFORE}...${SHA}`,
  commits: [{ id: SHA, message: 'deploy: web 1.4.3\n', url: `https://gitea.example.com/platform/web/commit/${SHA}` }],
  total_commits: 1,
  repository: {
    id: 7,
    owner: { id: 3, login: 'platform', username: 'platform' },
    name: 'web',
    full_name: 'platform/web',
    private: true,
    html_url: 'https://gitea.example.com/platform/web',
    ssh_url: 'git@gitea.example.com:platform/web.git',
    clone_url: 'https://gitea.example.com/platform/web.git',
    default_branch: 'main',
  },
  pusher: { id: 1, login: 'gitea-admin', username: 'gitea-admin' },
  sender: { id: 1, login: 'gitea-admin', username: 'gitea-admin' },
};

const hmac = (body: string, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('hex');
const githubHeaders = (event: string, body: string, secret = SECRET): Record<string, string> => ({
  'content-type': 'application/json',
  'user-agent': 'GitHub-Hookshot/a1b2c3d',
  'x-github-event': event,
  'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  'x-github-hook-id': '44112233',
  'x-hub-signature-256': `sha256=${hmac(body, secret)}`,
});
// Gitea sends GitHub's and Gogs' headers too; Forgejo sends Gitea's as well as its own.
const giteaHeaders = (body: string, secret = SECRET): Record<string, string> => ({
  'content-type': 'application/json',
  'x-github-event': 'push',
  'x-gitea-event': 'push',
  'x-gitea-event-type': 'push',
  'x-gitea-delivery': 'd8f0a2c4-1b3e-4f5a-9c7d-2e4f6a8b0c1d',
  'x-gogs-event': 'push',
  'x-gitea-signature': hmac(body, secret),
});
const gitlabHeaders = (event: string, token: string): Record<string, string> => ({
  'content-type': 'application/json',
  'user-agent': 'GitLab/17.6.0',
  'x-gitlab-event': event,
  'x-gitlab-instance': 'https://gitlab.example.com',
  'x-gitlab-token': token,
});

describe('POST /hooks/git', () => {
  let server: RunningHttpServer;
  let secret: string | undefined = SECRET;
  const pushes: PushEvent[] = [];
  const logLines: string[] = [];
  const answers: string[] = [];
  const signatures = new Set<string>();

  const post = async (headers: Record<string, string>, body: string): Promise<{ status: number; type: string | null; text: string }> => {
    for (const name of ['x-hub-signature-256', 'x-gitea-signature', 'x-forgejo-signature', 'x-gitlab-token']) if (headers[name]) signatures.add(headers[name]);
    const r = await fetch(`http://127.0.0.1:${server.port}/hooks/git`, { method: 'POST', headers, body });
    const text = await r.text();
    answers.push(text, JSON.stringify([...r.headers]));
    return { status: r.status, type: r.headers.get('content-type'), text };
  };

  before(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLogger({ level: 'debug', format: 'json', stream, clock: () => new Date(0) });
    server = await startHttpServer({
      listen: '127.0.0.1:0',
      maxBodyBytes: 8 * 1024,
      log,
      routes: gitHookRoute({
        secret: () => secret,
        onPush: (event) => {
          pushes.push(event);
          return event.repoUrls.some((u) => u.endsWith('/platform/web.git')) ? 1 : 0;
        },
        log,
      }),
    });
  });
  after(async () => server?.close());

  it('GitHub push with a good signature: 200 {"refreshed":1}, onPush gets every URL and the ref', async () => {
    pushes.length = 0;
    const body = JSON.stringify(github);
    assert.deepEqual(await post(githubHeaders('push', body), body), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    assert.deepEqual(pushes, [
      {
        provider: 'github',
        repoUrls: ['https://github.com/platform/web.git', 'git@github.com:platform/web.git', 'git://github.com/platform/web.git', 'https://github.com/platform/web'],
        ref: 'refs/heads/main',
      },
    ]);
    assert.deepEqual(JSON.parse(logLines.at(-1)!), {
      level: 'info',
      time: '1970-01-01T00:00:00.000Z',
      msg: 'git push received',
      provider: 'github',
      ref: 'refs/heads/main',
      repos: pushes[0]!.repoUrls,
      refreshed: 1,
    });
  });

  it('GitHub push form-encoded (payload=…), GitHub\'s default content type', async () => {
    pushes.length = 0;
    const body = new URLSearchParams({ payload: JSON.stringify(github) }).toString();
    const headers = { ...githubHeaders('push', body), 'content-type': 'application/x-www-form-urlencoded' };
    assert.deepEqual(await post(headers, body), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    assert.equal(pushes[0]?.ref, 'refs/heads/main');
  });

  it('GitHub: 401 for a wrong or missing signature, and onPush is not called', async () => {
    pushes.length = 0;
    const body = JSON.stringify(github);
    const wrongKey = githubHeaders('push', body, 'not-the-secret');
    assert.deepEqual(await post(wrongKey, body), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
    const tampered = githubHeaders('push', body);
    assert.deepEqual(await post(tampered, body.replace('refs/heads/main', 'refs/heads/evil')), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
    const bare = { ...githubHeaders('push', body), 'x-hub-signature-256': hmac(body) }; // no `sha256=` prefix
    assert.deepEqual(await post(bare, body), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
    const { 'x-hub-signature-256': _, ...unsigned } = githubHeaders('push', body);
    assert.deepEqual(await post(unsigned, body), { status: 401, type: 'text/plain; charset=utf-8', text: 'missing signature' });
    assert.deepEqual(pushes, []);
    assert.deepEqual(JSON.parse(logLines.at(-1)!), {
      level: 'warn',
      time: '1970-01-01T00:00:00.000Z',
      msg: 'git webhook refused',
      status: 401,
      reason: 'missing signature',
      remote: '127.0.0.1',
    });
  });

  it('GitHub ping: 202 {"ignored":"ping"} once authenticated; 401 when not', async () => {
    const body = JSON.stringify(githubPing);
    assert.deepEqual(await post(githubHeaders('ping', body), body), { status: 202, type: 'application/json', text: '{"ignored":"ping"}' });
    assert.deepEqual(await post(githubHeaders('ping', body, 'guess'), body), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
  });

  it('GitLab: push and tag push with the right token; 401 for a wrong or missing one; 202 for other events', async () => {
    pushes.length = 0;
    const push = JSON.stringify(gitlab('push', 'refs/heads/main'));
    assert.deepEqual(await post(gitlabHeaders('Push Hook', SECRET), push), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    const tag = JSON.stringify(gitlab('tag_push', 'refs/tags/v1.4.3'));
    assert.deepEqual(await post(gitlabHeaders('Tag Push Hook', SECRET), tag), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    assert.deepEqual(pushes, [
      {
        provider: 'gitlab',
        repoUrls: ['https://gitlab.example.com/platform/web.git', 'git@gitlab.example.com:platform/web.git', 'https://gitlab.example.com/platform/web'],
        ref: 'refs/heads/main',
      },
      {
        provider: 'gitlab',
        repoUrls: ['https://gitlab.example.com/platform/web.git', 'git@gitlab.example.com:platform/web.git', 'https://gitlab.example.com/platform/web'],
        ref: 'refs/tags/v1.4.3',
      },
    ]);
    assert.deepEqual(await post(gitlabHeaders('Push Hook', `${SECRET}x`), push), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
    const { 'x-gitlab-token': _, ...tokenless } = gitlabHeaders('Push Hook', SECRET);
    assert.deepEqual(await post(tokenless, push), { status: 401, type: 'text/plain; charset=utf-8', text: 'missing signature' });
    const mr = JSON.stringify({ object_kind: 'merge_request', event_type: 'merge_request', project: gitlab('push', '').project });
    assert.deepEqual(await post(gitlabHeaders('Merge Request Hook', SECRET), mr), { status: 202, type: 'application/json', text: '{"ignored":"Merge Request Hook"}' });
    assert.equal(pushes.length, 2);
  });

  it('Gitea and Forgejo: good signature → 200; bad → 401', async () => {
    pushes.length = 0;
    const body = JSON.stringify(gitea);
    assert.deepEqual(await post(giteaHeaders(body), body), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    const forgejo = { ...giteaHeaders(body), 'x-forgejo-event': 'push', 'x-forgejo-signature': hmac(body) };
    assert.deepEqual(await post(forgejo, body), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    const expected: PushEvent = {
      provider: 'gitea',
      repoUrls: ['https://gitea.example.com/platform/web.git', 'git@gitea.example.com:platform/web.git', 'https://gitea.example.com/platform/web'],
      ref: 'refs/heads/main',
    };
    assert.deepEqual(pushes, [expected, expected]);
    assert.deepEqual(await post(giteaHeaders(body, 'wrong'), body), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
    const { 'x-gitea-signature': _, ...unsigned } = giteaHeaders(body);
    assert.deepEqual(await post(unsigned, body), { status: 401, type: 'text/plain; charset=utf-8', text: 'missing signature' });
  });

  it('a push for a repository no Application follows: 200 {"refreshed":0}', async () => {
    const body = JSON.stringify({ ...github, repository: { ...github.repository, clone_url: 'https://github.com/platform/other.git', ssh_url: 'git@github.com:platform/other.git', git_url: 'git://github.com/platform/other.git' } });
    assert.deepEqual(await post(githubHeaders('push', body), body), { status: 200, type: 'application/json', text: '{"refreshed":0}' });
  });

  it('400 for a signed body that is not JSON, or not an object; 400 for an unknown sender', async () => {
    const notJson = 'ref=refs/heads/main';
    assert.deepEqual(await post(githubHeaders('push', notJson), notJson), { status: 400, type: 'text/plain; charset=utf-8', text: 'body is not JSON' });
    assert.deepEqual(await post(githubHeaders('push', '[]'), '[]'), { status: 400, type: 'text/plain; charset=utf-8', text: 'body is not a push event' });
    const body = JSON.stringify(github);
    assert.deepEqual(await post({ 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hmac(body)}` }, body), {
      status: 400,
      type: 'text/plain; charset=utf-8',
      text: 'unknown webhook: expected a GitHub, GitLab or Gitea push event',
    });
  });

  it('reads the secret on every request: none configured → 401; a new one applies at once', async () => {
    const body = JSON.stringify(github);
    try {
      secret = undefined;
      assert.deepEqual(await post(githubHeaders('push', body), body), { status: 401, type: 'text/plain; charset=utf-8', text: 'webhook secret not configured' });
      secret = '';
      assert.deepEqual(await post(githubHeaders('push', body, ''), body), { status: 401, type: 'text/plain; charset=utf-8', text: 'webhook secret not configured' });
      secret = `${SECRET}-rotated`;
      assert.deepEqual(await post(githubHeaders('push', body), body), { status: 401, type: 'text/plain; charset=utf-8', text: 'signature mismatch' });
      assert.deepEqual(await post(githubHeaders('push', body, `${SECRET}-rotated`), body), { status: 200, type: 'application/json', text: '{"refreshed":1}' });
    } finally {
      secret = SECRET;
    }
  });

  it('413 for a body over the server limit, declared or chunked', async () => {
    const big = JSON.stringify({ ...github, commits: Array.from({ length: 40 }, () => github.commits[0]) });
    assert.ok(Buffer.byteLength(big) > 8 * 1024);
    assert.deepEqual(await post(githubHeaders('push', big), big), { status: 413, type: 'text/plain; charset=utf-8', text: 'request body too large' });
    const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/hooks/git', headers: githubHeaders('push', big), agent: false },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 1024) req.write(big.slice(i, i + 1024));
      req.end();
    });
    assert.deepEqual(chunked, { status: 413, text: 'request body too large' });
  });

  // Runs last: covers every answer and log line of the tests above.
  it('no answer (body or header) and no log line carries the secret or a signature that was sent', () => {
    assert.ok(answers.length > 40 && logLines.length > 10 && signatures.size > 10);
    const everything = [...answers, ...logLines].join('\n');
    assert.equal(everything.includes(SECRET), false, 'the secret leaked');
    for (const s of signatures) assert.equal(everything.includes(s.replace(/^sha256=/, '')), false, `signature ${s} leaked`);
  });
});

describe('parsePushEvent', () => {
  it('takes Gitea for Gitea even though it also sends X-GitHub-Event and X-Hub-Signature-256', () => {
    const body = JSON.stringify(gitea);
    const headers = { ...giteaHeaders(body), 'x-hub-signature-256': `sha256=${hmac(body)}` };
    assert.equal(parsePushEvent(headers, Buffer.from(body), SECRET)?.provider, 'gitea');
  });

  it('leaves ref out when the payload has none, and skips empty or non-string URLs', () => {
    const body = JSON.stringify({ repository: { clone_url: '', ssh_url: null, html_url: 'https://github.com/platform/web' } });
    assert.deepEqual(parsePushEvent(githubHeaders('push', body), Buffer.from(body), SECRET), { provider: 'github', repoUrls: ['https://github.com/platform/web'] });
  });

  it('authenticates before looking at the event: an unsigned ping is refused', () => {
    const body = JSON.stringify(githubPing);
    const { 'x-hub-signature-256': _, ...unsigned } = githubHeaders('ping', body);
    assert.throws(() => parsePushEvent(unsigned, Buffer.from(body), SECRET), { name: 'HttpError', status: 401, message: 'missing signature' });
    assert.equal(parsePushEvent(githubHeaders('ping', body), Buffer.from(body), SECRET), null);
  });
});
