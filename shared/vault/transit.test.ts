// The transit adapter's own logic (sessions, retries, error mapping, headers) against a small node:http
// stand-in for Vault's API. Vault itself is exercised in test/integration/vault-transit.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createPki, type Pki } from '../../test/env/pki.js';
import { BatchItemError, VaultTransit, vaultContext, type VaultOptions } from './transit.js';

const DENIED = { errors: ['1 error occurred:\n\t* permission denied\n\n'] };
const SECRET_TOKEN_MARK = 'TOPSECRET';

interface Seen {
  line: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** Vault's API as far as the adapter uses it; ciphertexts are `vault:v1:` + base64 of [context, plaintext]. */
class FakeVault {
  readonly seen: Seen[] = [];
  readonly tokens = new Set<string>();
  lease = 300;
  renewable = true;
  renewFails = false;
  /** The lease renew-self gives back; default: `lease`. */
  renewLease: number | undefined;
  denyTransit = false;
  forced: { status: number; body: unknown } | undefined;
  hang = false;
  keys = new Map<string, { derived: boolean }>();
  #issued = 0;
  #server: http.Server | https.Server;

  constructor(tls?: { cert: string; key: string }) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const path = (req.url ?? '').replace(/^\/v1\//, '');
        this.seen.push({ line: `${req.method} ${path}`, headers: req.headers, body });
        if (this.hang) return;
        const [status, answer] = this.forced ? [this.forced.status, this.forced.body] : this.#answer(req.method ?? '', path, body, req.headers['x-vault-token']);
        res.writeHead(status, { 'content-type': 'application/json' }).end(answer === undefined ? '' : JSON.stringify(answer));
      });
    };
    this.#server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const scheme = this.#server instanceof https.Server ? 'https' : 'http';
    return `${scheme}://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }

  lines(): string[] {
    return this.seen.map((s) => s.line);
  }

  static seal(context: string, plaintext: string): string {
    return `vault:v1:${Buffer.from(JSON.stringify([context, plaintext])).toString('base64')}`;
  }

  #answer(method: string, path: string, body: Record<string, unknown>, token: unknown): [number, unknown] {
    const login = /^auth\/([^/]+)\/login$/.exec(path);
    if (login) {
      if (body.role === 'bad') return [400, { errors: ['invalid role name "bad"'] }];
      const issued = `hvs.${SECRET_TOKEN_MARK}-${++this.#issued}`;
      this.tokens.add(issued);
      return [200, { auth: { client_token: issued, lease_duration: this.lease, renewable: this.renewable } }];
    }
    if (typeof token !== 'string' || !this.tokens.has(token)) return [403, { errors: ['2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] }];
    if (path === 'auth/token/renew-self') {
      if (this.renewFails) return [403, DENIED];
      return [200, { auth: { client_token: token, lease_duration: this.renewLease ?? this.lease, renewable: true } }];
    }
    if (this.denyTransit) return [403, DENIED];
    const keyPath = /^transit\/keys\/(.+)$/.exec(path);
    if (keyPath) {
      const key = this.keys.get(keyPath[1]!);
      if (method === 'POST' && !key) this.keys.set(keyPath[1]!, { derived: body.derived === true });
      const now = this.keys.get(keyPath[1]!);
      if (!now) return [404, { errors: [] }];
      return [200, { data: { derived: now.derived, type: 'aes256-gcm96', latest_version: 3, min_decryption_version: 2 } }];
    }
    const op = /^transit\/(encrypt|decrypt|rewrap)\/k$/.exec(path)?.[1];
    if (op === undefined) return [404, { errors: [`no handler for route "${path}". route entry not found.`] }];
    const items = body.batch_input as Record<string, string>[];
    const results = items.map((item) => {
      const context = Buffer.from(item.context ?? '', 'base64').toString('utf8');
      if (op === 'encrypt') return { ciphertext: FakeVault.seal(context, Buffer.from(item.plaintext!, 'base64').toString('utf8')), key_version: 1 };
      if (!item.ciphertext?.startsWith('vault:v1:')) return { error: 'invalid ciphertext: no prefix' };
      const [sealedFor, plaintext] = JSON.parse(Buffer.from(item.ciphertext.slice(9), 'base64').toString('utf8')) as [string, string];
      if (sealedFor !== context) return { error: 'cipher: message authentication failed' };
      return op === 'decrypt' ? { plaintext: Buffer.from(plaintext).toString('base64') } : { ciphertext: item.ciphertext.replace('v1', 'v2') };
    });
    // As Vault: decrypt/encrypt answer 400 when an item failed; rewrap answers 200 regardless.
    const failed = results.some((r) => 'error' in r);
    return [failed && op !== 'rewrap' ? 400 : 200, { data: { batch_results: results } }];
  }
}

const kubeAuth = (jwtReads: { count: number } = { count: 0 }): VaultOptions['auth'] => ({
  method: 'kubernetes',
  role: 'sigil',
  jwt: () => {
    jwtReads.count += 1;
    return 'eyJ.jwt.sig\n';
  },
});

describe('VaultTransit', () => {
  let fake: FakeVault;
  let addr: string;
  const clients: VaultTransit[] = [];
  const client = (options: Partial<VaultOptions> = {}): VaultTransit => {
    const c = new VaultTransit({ addr, auth: kubeAuth(), ...options });
    clients.push(c);
    return c;
  };
  const item = (context: string, plaintext: string): { ciphertext: string; context: string } => ({ ciphertext: FakeVault.seal(context, plaintext), context });

  before(async () => {
    fake = new FakeVault();
    addr = await fake.listen();
  });
  afterEach(() => {
    fake.seen.length = 0;
    fake.tokens.clear();
    Object.assign(fake, { lease: 300, renewable: true, renewFails: false, renewLease: undefined, denyTransit: false, forced: undefined, hang: false });
    for (const c of clients.splice(0)) c.close();
  });
  after(() => fake.close());

  it('binds each value to scope, label and key', () => {
    assert.deepEqual(
      [vaultContext('strict', 'prod', 'db', 'password'), vaultContext('namespace-wide', 'prod', 'db', 'password'), vaultContext('cluster-wide', '', 'db', 'password')],
      ['strict:prod/db/password', 'namespace-wide:prod/password', 'cluster-wide:/password'],
    );
  });

  it('encrypts and decrypts one batch each, base64 on the wire, in order; nothing sent for no values', async () => {
    const c = client({ auth: { method: 'token', token: 'hvs.given' } });
    fake.tokens.add('hvs.given');
    const ciphertexts = await c.encrypt('transit', 'k', [
      { plaintext: Buffer.from('one'), context: 'strict:prod/db/a' },
      { plaintext: Buffer.alloc(0), context: 'strict:prod/db/b' },
    ]);
    assert.deepEqual(ciphertexts, [FakeVault.seal('strict:prod/db/a', 'one'), FakeVault.seal('strict:prod/db/b', '')]);
    assert.deepEqual(fake.seen[0]!.body, {
      batch_input: [
        { plaintext: 'b25l', context: Buffer.from('strict:prod/db/a').toString('base64') },
        { plaintext: '', context: Buffer.from('strict:prod/db/b').toString('base64') },
      ],
      partial_failure_response_code: 400,
    });
    const opened = await c.decrypt('transit', 'k', [item('strict:prod/db/a', 'one'), item('strict:prod/db/b', '')]);
    assert.deepEqual(opened.map((b) => b.toString()), ['one', '']);
    assert.deepEqual(await c.decrypt('transit', 'k', []), []);
    assert.deepEqual(fake.lines(), ['POST transit/encrypt/k', 'POST transit/decrypt/k']);
    assert.equal(fake.seen[0]!.headers['x-vault-token'], 'hvs.given');
    assert.deepEqual(c.stats(), { logins: 0, requests: 2 });
  });

  it('logs in once for 100 concurrent decrypts, reading the ServiceAccount token once', async () => {
    const reads = { count: 0 };
    const c = client({ auth: kubeAuth(reads) });
    const opened = await Promise.all(Array.from({ length: 100 }, (_, i) => c.decrypt('transit', 'k', [item(`strict:ns/s${i}/k`, `v${i}`)])));
    assert.deepEqual(opened.map(([b]) => b!.toString()), Array.from({ length: 100 }, (_, i) => `v${i}`));
    assert.deepEqual(c.stats(), { logins: 1, requests: 101 });
    assert.equal(reads.count, 1);
    assert.deepEqual(fake.seen[0]!.body, { role: 'sigil', jwt: 'eyJ.jwt.sig' });
    assert.equal(new Set(fake.seen.slice(1).map((s) => s.headers['x-vault-token'])).size, 1);
  });

  it('logs in at the AppRole mount it is given', async () => {
    const c = client({ auth: { method: 'approle', roleId: 'rid', secretId: 'sid', mount: 'ci-approle' } });
    await c.decrypt('transit', 'k', [item('c', 'v')]);
    assert.deepEqual(fake.seen[0], { line: 'POST auth/ci-approle/login', headers: fake.seen[0]!.headers, body: { role_id: 'rid', secret_id: 'sid' } });
  });

  it('renews at 2/3 of the lease, logs in anew when renewal fails, max TTL is reached or the token expired', async () => {
    const clock = { t: 1_000_000 };
    const c = client({ now: () => clock.t });
    const call = (): Promise<Buffer[]> => c.decrypt('transit', 'k', [item('c', 'v')]);
    const step = async (ms: number): Promise<string[]> => {
      clock.t += ms;
      fake.seen.length = 0;
      await call();
      return fake.lines().filter((l) => !l.startsWith('POST transit/'));
    };
    assert.deepEqual(await step(0), ['POST auth/kubernetes/login']); // lease 300 s: renew from 200 s on
    assert.deepEqual(await step(199_999), []);
    assert.deepEqual(await step(1), ['POST auth/token/renew-self']); // new lease from here: renew 200 s later
    assert.deepEqual(await step(199_999), []);
    fake.renewFails = true;
    assert.deepEqual(await step(1), ['POST auth/token/renew-self', 'POST auth/kubernetes/login']);
    fake.renewFails = false;
    fake.renewLease = 90; // under a third of the first lease: renewing again would only shrink it
    assert.deepEqual(await step(200_000), ['POST auth/token/renew-self', 'POST auth/kubernetes/login']);
    fake.renewLease = undefined;
    assert.deepEqual(await step(300_000), ['POST auth/kubernetes/login']); // expired: no renewal attempt
    fake.renewable = false;
    assert.deepEqual(await step(300_000), ['POST auth/kubernetes/login']);
    assert.deepEqual(await step(200_000), ['POST auth/kubernetes/login']); // not renewable: a new login at 2/3
    fake.lease = 0;
    assert.deepEqual(await step(300_000), ['POST auth/kubernetes/login']);
    assert.deepEqual(await step(10 ** 12), []); // no lease: never renewed
    assert.deepEqual(c.stats(), { logins: 7, requests: 7 + 3 + 11 });
  });

  it('logs in anew and retries once when a request gets 403 (token revoked), for every waiting caller with one login', async () => {
    const c = client();
    await c.decrypt('transit', 'k', [item('c', 'v')]);
    fake.tokens.clear();
    fake.seen.length = 0;
    const opened = await Promise.all(Array.from({ length: 10 }, () => c.decrypt('transit', 'k', [item('c', 'v')])));
    assert.equal(opened.length, 10);
    assert.equal(fake.lines().filter((l) => l === 'POST auth/kubernetes/login').length, 1);
    assert.equal(c.stats().logins, 2);
  });

  it('says VaultDenied when 403 persists: one re-login with a login-based auth, none with a token', async () => {
    fake.denyTransit = true;
    const c = client();
    await assert.rejects(c.decrypt('transit', 'k', [item('c', 'v')]), {
      name: 'TransientError',
      reason: 'VaultDenied',
      message: `Vault ${addr} POST transit/decrypt/k: HTTP 403: permission denied`,
    });
    assert.deepEqual(fake.lines(), ['POST auth/kubernetes/login', 'POST transit/decrypt/k', 'POST auth/kubernetes/login', 'POST transit/decrypt/k']);
    fake.seen.length = 0;
    const t = client({ auth: { method: 'token', token: 'hvs.unknown' } });
    await assert.rejects(t.encrypt('transit', 'k', [{ plaintext: Buffer.from('v'), context: 'c' }]), {
      reason: 'VaultDenied',
      message: `Vault ${addr} POST transit/encrypt/k: HTTP 403: permission denied; invalid token`,
    });
    assert.deepEqual(fake.lines(), ['POST transit/encrypt/k']);
  });

  it('says VaultDenied when the login is refused or the ServiceAccount token cannot be read', async () => {
    await assert.rejects(client({ auth: { method: 'kubernetes', role: 'bad', jwt: () => 'j' } }).decrypt('transit', 'k', [item('c', 'v')]), {
      reason: 'VaultDenied',
      message: `Vault ${addr} POST auth/kubernetes/login (role bad): HTTP 400: invalid role name "bad"`,
    });
    const unreadable = (): string => {
      throw new Error('ENOENT: no such file or directory');
    };
    await assert.rejects(client({ auth: { method: 'kubernetes', role: 'sigil', jwt: unreadable, mount: 'k8s' } }).decrypt('transit', 'k', [item('c', 'v')]), {
      reason: 'VaultDenied',
      message: `Vault ${addr} POST auth/k8s/login: cannot read the ServiceAccount token to log in with: ENOENT: no such file or directory`,
    });
  });

  it('says VaultUnavailable for a closed port, a sealed Vault (503), a 500 and no answer in time', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(client({ addr: `http://127.0.0.1:${port}/` }).decrypt('transit', 'k', [item('c', 'v')]), {
      name: 'TransientError',
      reason: 'VaultUnavailable',
      message: `Vault http://127.0.0.1:${port} POST auth/kubernetes/login: cannot reach Vault: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
    fake.tokens.add('hvs.t');
    const t = client({ auth: { method: 'token', token: 'hvs.t' }, timeoutMs: 200 });
    fake.forced = { status: 503, body: { errors: ['Vault is sealed'] } };
    await assert.rejects(t.decrypt('transit', 'k', [item('c', 'v')]), { reason: 'VaultUnavailable', message: `Vault ${addr} POST transit/decrypt/k: HTTP 503: Vault is sealed` });
    fake.forced = { status: 500, body: { errors: ['1 error occurred:\n\t* internal error\n\n'] } };
    await assert.rejects(t.readKey('transit', 'k'), { reason: 'VaultUnavailable', message: `Vault ${addr} GET transit/keys/k: HTTP 500: internal error` });
    fake.forced = undefined;
    fake.hang = true;
    await assert.rejects(t.rewrap('transit', 'k', [item('c', 'v')]), { reason: 'VaultUnavailable', message: `Vault ${addr} POST transit/rewrap/k: no answer within 200 ms` });
  });

  it('names the first failed item of a batch by index only, whatever the status (rewrap answers 200)', async () => {
    const c = client();
    const items = [item('strict:prod/db/a', 'one'), { ...item('strict:prod/db/b', 'two'), context: 'strict:prod/other/b' }, { ciphertext: 'garbage', context: 'x' }];
    const failure = await c.decrypt('transit', 'k', items).catch((err: unknown) => err);
    assert.ok(failure instanceof BatchItemError);
    assert.deepEqual(
      { name: failure.name, reason: failure.reason, index: failure.index, detail: failure.detail, message: failure.message },
      {
        name: 'BatchItemError',
        reason: 'DecryptFailed',
        index: 1,
        detail: 'cipher: message authentication failed',
        message: `value 1: cipher: message authentication failed (Vault ${addr} POST transit/decrypt/k, HTTP 400)`,
      },
    );
    await assert.rejects(c.rewrap('transit', 'k', [items[2]!]), {
      reason: 'RewrapFailed',
      message: `value 0: invalid ciphertext: no prefix (Vault ${addr} POST transit/rewrap/k, HTTP 200)`,
    });
    assert.deepEqual(await c.rewrap('transit', 'k', [items[0]!]), [items[0]!.ciphertext.replace('v1', 'v2')]);
    assert.equal(fake.seen.find((s) => s.line === 'POST transit/rewrap/k')!.body.partial_failure_response_code, undefined);
  });

  it('reads and creates keys: settings mapped, a missing key named, a non-derived name refused', async () => {
    const c = client();
    fake.keys.set('old', { derived: false });
    await c.createKey('transit', 'fresh');
    assert.deepEqual(fake.seen.at(-1)!.body, { type: 'aes256-gcm96', derived: true });
    assert.deepEqual(await c.readKey('transit', 'fresh'), { derived: true, type: 'aes256-gcm96', latestVersion: 3, minDecryptionVersion: 2 });
    await assert.rejects(c.readKey('transit', 'missing'), {
      name: 'StalledError',
      reason: 'VaultKeyNotFound',
      message: `Vault ${addr} GET transit/keys/missing: HTTP 404: no such transit key`,
    });
    await assert.rejects(c.createKey('transit', 'old'), {
      reason: 'VaultKeyExists',
      message: `Vault ${addr} POST transit/keys/old: transit key old already exists without key derivation (type aes256-gcm96); derivation is fixed when a key is created, so choose another name`,
    });
    await assert.rejects(c.decrypt('elsewhere', 'k', [item('c', 'v')]), {
      name: 'StalledError',
      reason: 'VaultRequestFailed',
      message: `Vault ${addr} POST elsewhere/decrypt/k: HTTP 404: no handler for route "elsewhere/decrypt/k". route entry not found.`,
    });
  });

  it('sends X-Vault-Namespace on every request when given, and none otherwise', async () => {
    await client({ namespace: 'team-a' }).decrypt('transit', 'k', [item('c', 'v')]);
    assert.deepEqual(fake.seen.map((s) => [s.line, s.headers['x-vault-namespace']]), [
      ['POST auth/kubernetes/login', 'team-a'],
      ['POST transit/decrypt/k', 'team-a'],
    ]);
    fake.seen.length = 0;
    await client().decrypt('transit', 'k', [item('c', 'v')]);
    assert.deepEqual(fake.seen.map((s) => s.headers['x-vault-namespace']), [undefined, undefined]);
  });

  it('never puts a token, userinfo, plaintext or ciphertext in error text', async () => {
    const token = `hvs.${SECRET_TOKEN_MARK}-given`;
    const withUser = addr.replace('http://', 'http://alice:pa55word@');
    const c = client({ addr: withUser, auth: { method: 'token', token } });
    const messages: string[] = [];
    const collect = (p: Promise<unknown>): Promise<void> => p.then(() => assert.fail('expected a failure'), (err: Error) => void messages.push(err.message));
    const secretItem = { ciphertext: FakeVault.seal('c', 'hunter2'), context: 'other' };
    await collect(c.decrypt('transit', 'k', [secretItem])); // 403: unknown token
    fake.tokens.add(token);
    await collect(c.decrypt('transit', 'k', [secretItem])); // item error
    fake.forced = { status: 503, body: { errors: ['Vault is sealed'] } };
    await collect(c.encrypt('transit', 'k', [{ plaintext: Buffer.from('hunter2'), context: 'c' }]));
    fake.forced = undefined;
    await collect(client({ addr: withUser, auth: { method: 'approle', roleId: 'r', secretId: `sid-${SECRET_TOKEN_MARK}` } }).decrypt('nope', 'k', [secretItem]));
    assert.equal(messages.length, 4);
    for (const message of messages) {
      assert.ok(message.startsWith(`Vault ${addr} `) || message.includes(`(Vault ${addr} `), message);
      for (const secret of [SECRET_TOKEN_MARK, 'pa55word', 'alice', 'hunter2', secretItem.ciphertext, secretItem.ciphertext.slice(9, 30)]) {
        assert.ok(!message.includes(secret), `${message} contains ${secret}`);
      }
    }
    assert.equal(fake.seen[0]!.headers.authorization, 'Basic ' + Buffer.from('alice:pa55word').toString('base64'));
  });

  describe('over https', () => {
    let pki: Pki;
    let dir: string;
    let tls: FakeVault;
    let tlsAddr: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sigil-vault-tls-'));
      pki = await createPki(dir, { serverIps: ['127.0.0.1'], serverNames: ['localhost'] });
      tls = new FakeVault({ cert: pki.apiserver.certPem, key: pki.apiserver.keyPem });
      tlsAddr = await tls.listen();
    });
    after(() => {
      tls.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('verifies with the CA it is given, refuses an unknown CA, and skips verification only when asked', async () => {
      const open = (options: Partial<VaultOptions>): Promise<Buffer[]> => client({ addr: tlsAddr, ...options }).decrypt('transit', 'k', [item('c', 'v')]);
      assert.deepEqual((await open({ caCert: pki.ca.certPem })).map(String), ['v']);
      await assert.rejects(open({}), {
        reason: 'VaultUnavailable',
        message: `Vault ${tlsAddr} POST auth/kubernetes/login: cannot reach Vault: unable to verify the first certificate`,
      });
      assert.deepEqual((await open({ skipVerify: true })).map(String), ['v']);
    });
  });
});
