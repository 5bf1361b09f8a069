// The test environment's Vault: the real Vault v1.21.4 dev server built from the Go module proxy, transit
// mounted, and Kubernetes auth checking logins with a real TokenReview against the test kube-apiserver.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { startEnv, type Env } from '../env/index.js';

describe('test environment: Vault', () => {
  let env: Env;
  const vault = (): NonNullable<Env['vault']> => env.vault!;
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  /** The token of a ServiceAccount, as its kubeconfig carries it. */
  const saToken = async (namespace: string, name: string): Promise<string> =>
    (yaml.load(await env.controlPlane.kubeconfigForServiceAccount(namespace, name)) as { users: { user: { token: string } }[] }).users[0]!.user.token;
  /** POST `path` without a token (logins); the HTTP status and Vault's body. */
  const post = async (path: string, body: unknown): Promise<{ status: number; body: { auth?: { client_token?: string; policies?: string[] }; errors?: string[] } }> => {
    const r = await fetch(`${vault().addr}/v1/${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as never };
  };

  before(async () => {
    env = await startEnv({ vault: true });
  });
  after(async () => {
    await env?.stop();
  });

  it('runs Vault v1.21.4 and writes VAULT_ADDR and VAULT_TOKEN into env.sh', () => {
    assert.match(env.versions.vault ?? '', /^Vault v1\.21\.4\b/);
    const script = readFileSync(env.envFile, 'utf8');
    assert.match(script, new RegExp(`^export VAULT_ADDR='${vault().addr}'$`, 'm'));
    assert.match(script, /^export VAULT_TOKEN='sigil-root'$/m);
  });

  it('has transit mounted: a derived key binds each value to its context', async () => {
    await vault().request('POST', 'transit/keys/env-test', { derived: true, type: 'aes256-gcm96' });
    const sealed = (await vault().request('POST', 'transit/encrypt/env-test', { plaintext: b64('hello'), context: b64('strict:prod/db/password') })) as { data: { ciphertext: string } };
    assert.match(sealed.data.ciphertext, /^vault:v1:/);
    const opened = (await vault().request('POST', 'transit/decrypt/env-test', { ciphertext: sealed.data.ciphertext, context: b64('strict:prod/db/password') })) as { data: { plaintext: string } };
    assert.equal(Buffer.from(opened.data.plaintext, 'base64').toString(), 'hello');
    await assert.rejects(vault().request('POST', 'transit/decrypt/env-test', { ciphertext: sealed.data.ciphertext, context: b64('strict:prod/other/password') }), /HTTP 400 .*cipher: message authentication failed/);
  });

  it('logs a ServiceAccount in through Kubernetes auth with a real TokenReview, and only the bound one', async () => {
    await vault().request('PUT', 'sys/policies/acl/env-reader', { policy: 'path "transit/decrypt/env-test" { capabilities = ["update"] }' });
    await vault().request('POST', 'auth/kubernetes/role/env-app', { bound_service_account_names: ['app'], bound_service_account_namespaces: ['default'], policies: ['env-reader'], ttl: '1m' });
    const good = await post('auth/kubernetes/login', { role: 'env-app', jwt: await saToken('default', 'app') });
    assert.equal(good.status, 200, JSON.stringify(good.body.errors));
    assert.ok(good.body.auth?.client_token);
    assert.deepEqual(good.body.auth?.policies, ['default', 'env-reader']);

    const other = await post('auth/kubernetes/login', { role: 'env-app', jwt: await saToken('default', 'other') });
    assert.equal(other.status, 403);
    const forged = await post('auth/kubernetes/login', { role: 'env-app', jwt: `${(await saToken('default', 'app')).slice(0, -4)}AAAA` });
    assert.equal(forged.status, 403);
  });
});
