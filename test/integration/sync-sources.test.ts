// The sync engine's sources against the real Git servers: smart HTTP with Basic auth and SSH with a key and
// a pinned host key (credentials from a Secret), file://; the POST /hooks/git webhook with good and bad
// signatures; a Git server that goes away (status says so, nothing is deleted) and comes back; and no
// credential in logs, events or status.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../env/processes.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { applicationYaml, configMapYaml, readyOf, startSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

const WEBHOOK_TOKEN = 'webhook-token-never-logged';

describe('sync engine sources', () => {
  let env: SyncEnv;
  const cm = (name: string): Record<string, string> | undefined => {
    const r = env.kubectl.result(['-n', 'default', 'get', 'configmap', name, '-o', 'jsonpath={.data}']);
    return r.code === 0 && r.stdout ? (JSON.parse(r.stdout) as Record<string, string>) : undefined;
  };
  const secret = (name: string, data: Record<string, string>): void => {
    env.kubectl.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'sigil-apps' }, stringData: data }));
  };

  before(async () => {
    env = await startSyncEnv('sync-sources');
    env.kubectl('create', 'namespace', 'sigil-apps');
    env.kubectl('-n', 'sigil-system', 'create', 'secret', 'generic', 'sigil-webhook', `--from-literal=token=${WEBHOOK_TOKEN}`);
    await env.git.createRepo('src');
  });
  after(async () => {
    await env?.stop();
  });

  it('syncs over smart HTTP with Basic auth from a Secret, and says so when the password is wrong', async () => {
    const sha = await env.git.commitFiles('src', { 'http/cm.yaml': configMapYaml('over-http', { p: 'http' }) }, 'http');
    secret('http-creds', { username: env.git.httpCredentials.username, password: env.git.httpCredentials.password });
    env.kubectl.apply(applicationYaml({ name: 'http', repoURL: env.git.httpUrl('src'), path: 'http', secretRef: 'http-creds' }));
    await env.waitForStatus('sigil-apps', 'http', 'synced over http', (s) => s.lastAppliedRevision === sha);
    assert.deepEqual(cm('over-http'), { p: 'http' });

    secret('wrong-creds', { username: env.git.httpCredentials.username, password: 'not-the-password' });
    env.kubectl.apply(applicationYaml({ name: 'http-wrong', repoURL: env.git.httpUrl('src'), path: 'http', secretRef: 'wrong-creds' }));
    const s = await env.waitForStatus('sigil-apps', 'http-wrong', 'auth refused', (st) => readyOf(st).reason === 'GitAuthFailed');
    assert.ok(readyOf(s).message?.includes(env.git.httpUrl('src')), readyOf(s).message);
  });

  it('syncs over SSH with a key and a pinned host key, and refuses an unknown host key', async () => {
    const sha = await env.git.commitFiles('src', { 'ssh/cm.yaml': configMapYaml('over-ssh', { p: 'ssh' }) }, 'ssh');
    const identity = readFileSync(env.git.sshClientKey, 'utf8');
    const knownHosts = readFileSync(env.git.sshKnownHosts, 'utf8');
    secret('ssh-creds', { identity, known_hosts: knownHosts });
    env.kubectl.apply(applicationYaml({ name: 'ssh', repoURL: env.git.sshUrl('src'), path: 'ssh', secretRef: 'ssh-creds' }));
    await env.waitForStatus('sigil-apps', 'ssh', 'synced over ssh', (s) => s.lastAppliedRevision === sha);
    assert.deepEqual(cm('over-ssh'), { p: 'ssh' });

    const otherHost = knownHosts.replace(/ssh-ed25519 \S+/, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhg5cWkFq1DxRXSmYq0Rj6cmHBWIWz8/4fOdZGW1Hb2');
    secret('ssh-wrong-host', { identity, known_hosts: otherHost });
    env.kubectl.apply(applicationYaml({ name: 'ssh-wrong', repoURL: env.git.sshUrl('src'), path: 'ssh', secretRef: 'ssh-wrong-host' }));
    const s = await env.waitForStatus('sigil-apps', 'ssh-wrong', 'host key refused', (st) => readyOf(st).status === 'False' && !!readyOf(st).reason);
    assert.equal(s.lastAppliedRevision, undefined);
    assert.equal(readyOf(s).reason, 'GitAuthFailed');
  });

  it('syncs from a file:// repository', async () => {
    const sha = await env.git.commitFiles('src', { 'file/cm.yaml': configMapYaml('over-file', { p: 'file' }) }, 'file');
    env.kubectl.apply(applicationYaml({ name: 'file', repoURL: `file://${env.git.root}/src.git`, path: 'file' }));
    await env.waitForStatus('sigil-apps', 'file', 'synced over file', (s) => s.lastAppliedRevision === sha);
    assert.deepEqual(cm('over-file'), { p: 'file' });
  });

  it('refreshes on a signed push webhook and refuses a bad signature', async () => {
    await env.git.commitFiles('src', { 'hook/a.yaml': configMapYaml('hook-a', { v: 'a' }) }, 'hook a');
    env.kubectl.apply(applicationYaml({ name: 'hooked', repoURL: env.git.daemonUrl('src'), path: 'hook', interval: '1h' }));
    const first = await env.waitForStatus('sigil-apps', 'hooked', 'hooked synced', (s) => !!s.lastAppliedRevision);
    const sha = await env.git.commitFiles('src', { 'hook/b.yaml': configMapYaml('hooked', { v: '1' }) }, 'hook');
    assert.notEqual(first.lastAppliedRevision, sha);
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: env.git.daemonUrl('src'), html_url: 'https://example.invalid/src' } });
    const post = (signature: string): Promise<Response> =>
      fetch(`${env.controller.http}/hooks/git`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signature }, body });

    const bad = await post(`sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}`);
    assert.equal(bad.status, 401);
    assert.equal(await bad.text(), 'signature mismatch');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(cm('hooked'), undefined);

    const good = await post(`sha256=${createHmac('sha256', WEBHOOK_TOKEN).update(body).digest('hex')}`);
    assert.equal(good.status, 200);
    assert.deepEqual(await good.json(), { refreshed: 1 });
    await env.waitForStatus('sigil-apps', 'hooked', 'applied after the webhook', (s) => s.lastAppliedRevision === sha, 10_000);
    assert.deepEqual(cm('hooked'), { v: '1' });
  });

  it('reports a Git server that went away, deletes nothing, and recovers', async () => {
    const daemonPort = Number(new URL(env.git.daemonUrl('src')).port);
    const port = await freePort();
    const proxy = await tcpProxy(port, daemonPort);
    try {
      const url = `git://127.0.0.1:${port}/src.git`;
      await env.git.commitFiles('src', { 'flaky/a.yaml': configMapYaml('flaky-a', { v: 'a' }) }, 'flaky a');
      env.kubectl.apply(applicationYaml({ name: 'flaky', repoURL: url, path: 'flaky' }));
      const synced = await env.waitForStatus('sigil-apps', 'flaky', 'flaky synced', (s) => !!s.lastAppliedRevision && s.sync?.status === 'Synced');
      await proxy.close();
      const down = await env.waitForStatus('sigil-apps', 'flaky', 'unreachable reported', (s) => readyOf(s).reason === 'GitUnreachable');
      assert.equal(readyOf(down).status, 'False');
      assert.ok(readyOf(down).message?.includes(url), readyOf(down).message);
      assert.deepEqual(down.inventory, synced.inventory);
      assert.deepEqual(cm('flaky-a'), { v: 'a' });
      const sha = await env.git.commitFiles('src', { 'flaky/back.yaml': configMapYaml('back', { ok: 'yes' }) }, 'back');
      await proxy.open();
      const back = await env.waitForStatus('sigil-apps', 'flaky', 'recovered', (s) => s.lastAppliedRevision === sha && readyOf(s).status === 'True', 60_000);
      assert.equal(readyOf(back).reason, 'Synced');
    } finally {
      await proxy.close();
    }
  });

  it('writes no credential to its logs, events or Application status', () => {
    const logs = env.controller.logs();
    const events = env.kubectl('get', 'events', '-A', '-o', 'json');
    const statuses = env.kubectl('get', 'applications.sigil.dev', '-A', '-o', 'json');
    const identity = readFileSync(env.git.sshClientKey, 'utf8').split('\n')[1]!;
    for (const [what, text] of [['logs', logs], ['events', events], ['status', statuses]] as const) {
      for (const secretText of [env.git.httpCredentials.password, 'not-the-password', WEBHOOK_TOKEN, identity]) {
        assert.ok(!text.includes(secretText), `a credential in ${what}`);
      }
    }
  });
});
