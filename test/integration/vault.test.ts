// The test Vault: a real dev server with transit, and Kubernetes auth whose logins the test
// kube-apiserver reviews (TokenReview) for real.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { startEnv, type Env } from '../env/index.js';

describe('test Vault', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ vault: true });
  });
  after(async () => env?.stop());

  it('runs the version the test environment builds', (t) => {
    t.diagnostic(`${env.versions.vault}; kubernetes ${env.versions.kubernetes}; etcd ${env.versions.etcd}`);
    assert.match(env.versions.vault!, /^(Vault|OpenBao) v\d+\.\d+\.\d+/);
  });

  it('encrypts and decrypts with a derived transit key, bound to its context', async () => {
    const vault = env.vault!;
    await vault.request('POST', 'transit/keys/sigil', { derived: true, type: 'aes256-gcm96' });
    const context = Buffer.from('strict:prod/db/password').toString('base64');
    const enc = (await vault.request('POST', 'transit/encrypt/sigil', { plaintext: Buffer.from('hunter2').toString('base64'), context })) as { data: { ciphertext: string } };
    assert.match(enc.data.ciphertext, /^vault:v1:/);
    const dec = (await vault.request('POST', 'transit/decrypt/sigil', { ciphertext: enc.data.ciphertext, context })) as { data: { plaintext: string } };
    assert.equal(Buffer.from(dec.data.plaintext, 'base64').toString(), 'hunter2');
    const other = Buffer.from('strict:prod/web/password').toString('base64');
    await assert.rejects(vault.request('POST', 'transit/decrypt/sigil', { ciphertext: enc.data.ciphertext, context: other }), /HTTP 400/);
  });

  it('logs a ServiceAccount in through Kubernetes auth, and refuses another', async () => {
    const vault = env.vault!;
    await vault.request('POST', 'auth/kubernetes/role/sigil', {
      bound_service_account_names: ['sigil-controller'],
      bound_service_account_namespaces: ['sigil-system'],
      token_policies: ['default'],
      token_ttl: '10m',
    });
    const tokenOf = async (ns: string, name: string): Promise<string> =>
      (yaml.load(await env.controlPlane.kubeconfigForServiceAccount(ns, name)) as { users: { user: { token: string } }[] }).users[0]!.user.token;
    const login = (await vault.request('POST', 'auth/kubernetes/login', { role: 'sigil', jwt: await tokenOf('sigil-system', 'sigil-controller') }, '')) as {
      auth: { client_token: string; metadata: Record<string, string> };
    };
    assert.equal(login.auth.metadata.service_account_name, 'sigil-controller');
    assert.equal(login.auth.metadata.service_account_namespace, 'sigil-system');
    assert.match(login.auth.client_token, /^hvs\.|^s\./);
    await assert.rejects(
      vault.request('POST', 'auth/kubernetes/login', { role: 'sigil', jwt: await tokenOf('default', 'intruder') }, ''),
      /HTTP 403/,
    );
  });
});
