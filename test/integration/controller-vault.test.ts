// sigil-controller opening Vault-sealed SealedSecrets against the real Vault dev server and the real
// kube-apiserver: it logs in with Kubernetes auth (a real TokenReview) as its own ServiceAccount, under a
// policy that allows only decrypt on one key; a moved value and a key it may not use are refused; a Vault
// outage keeps the Secret exactly as it was and heals when Vault is back; an expired token is replaced by a
// new login; nothing secret reaches its logs, events or status.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { startEnv, type Env } from '../env/index.js';
import { freePort, waitUntil } from '../env/processes.js';
import { installController, kubectlFor, readyCondition, secretData, startControllerProcess, type ControllerProcess, type Kubectl } from '../helpers/controller-process.js';
import { tempDir } from '../helpers/run-seal.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const PLAINTEXT = 'vault-plaintext-never-logged';

describe('sigil-controller with Vault transit', () => {
  let env: Env;
  let kubectl: Kubectl;
  let controller: ControllerProcess;
  let proxy: TcpProxy;
  const ciphertexts: string[] = [];
  const b64 = (text: string): string => Buffer.from(text).toString('base64');

  /** A SealedSecret prod/`name` whose values are sealed by Vault transit key `key`, bound as `seal` binds them. */
  const vaultSealed = async (name: string, values: Record<string, string>, key = 'app', boundTo = name): Promise<string> => {
    const encryptedData: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
      const r = (await env.vault!.request('POST', `transit/encrypt/${key}`, { plaintext: b64(v), context: b64(`strict:prod/${boundTo}/${k}`) })) as { data: { ciphertext: string } };
      encryptedData[k] = r.data.ciphertext;
      ciphertexts.push(r.data.ciphertext);
    }
    return JSON.stringify({ apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', metadata: { name, namespace: 'prod' }, spec: { vault: { mount: 'transit', key }, encryptedData } });
  };
  const ready = (name: string): { status?: string; reason?: string; message?: string } => readyCondition(kubectl, 'prod', name);
  const logins = async (): Promise<number> => Number(/^sigil_vault_calls\{kind="login"\} (\d+)$/m.exec(await (await fetch(`${controller.metrics}/metrics`)).text())?.[1]);

  before(async () => {
    env = await startEnv({ vault: true });
    kubectl = kubectlFor(env.controlPlane.kubeconfig);
    const dir = tempDir('sigil-controller-vault-');
    const kubeconfig = await installController(env.controlPlane, dir);
    const token = (yaml.load(await env.controlPlane.kubeconfigForServiceAccount('sigil-system', 'sigil-controller')) as { users: { user: { token: string } }[] }).users[0]!.user.token;
    writeFileSync(join(dir, 'sa.token'), token, { mode: 0o600 });
    // Least privilege: decrypt with key `app` only. Short tokens, so that expiry and re-login happen during the run.
    await env.vault!.request('PUT', 'sys/policies/acl/sigil-controller', { policy: 'path "transit/decrypt/app" { capabilities = ["update"] }' });
    for (const key of ['app', 'other']) await env.vault!.request('POST', `transit/keys/${key}`, { derived: true, type: 'aes256-gcm96' });
    await env.vault!.request('POST', 'auth/kubernetes/role/sigil-controller', {
      bound_service_account_names: ['sigil-controller'],
      bound_service_account_namespaces: ['sigil-system'],
      policies: ['sigil-controller'],
      token_ttl: '4s',
      token_max_ttl: '8s',
    });
    proxy = await tcpProxy(await freePort(), Number(new URL(env.vault!.addr).port));
    kubectl('create', 'namespace', 'prod');
    controller = await startControllerProcess({
      name: 'sigil-controller',
      kubeconfig,
      dir,
      args: [`--vault-addr=http://127.0.0.1:${proxy.port}`, '--vault-auth=kubernetes', '--vault-role=sigil-controller', `--vault-jwt-file=${join(dir, 'sa.token')}`],
    });
  });
  after(async () => {
    await controller?.stop();
    await proxy?.close();
    await env?.stop();
  });

  it('opens a Vault-sealed SealedSecret through its Kubernetes-auth login, with decrypt rights on one key only', async () => {
    kubectl.apply(await vaultSealed('db', { password: PLAINTEXT, user: 'admin' }));
    await waitUntil('Secret prod/db', async () => secretData(kubectl, 'prod', 'db') !== undefined, { timeoutMs: 20_000 });
    assert.deepEqual(secretData(kubectl, 'prod', 'db'), { password: b64(PLAINTEXT), user: b64('admin') });
    await waitUntil('Ready=True', async () => ready('db').status === 'True', { timeoutMs: 10_000 });
    assert.equal(await logins(), 1);
  });

  it('refuses a value moved to another SealedSecret: Ready=False DecryptFailed naming the key, no Secret', async () => {
    kubectl.apply(await vaultSealed('moved', { password: PLAINTEXT }, 'app', 'db'));
    await waitUntil('DecryptFailed', async () => ready('moved').reason === 'DecryptFailed', { timeoutMs: 20_000 });
    assert.match(ready('moved').message ?? '', /prod\/moved.*password/);
    assert.equal(secretData(kubectl, 'prod', 'moved'), undefined);
  });

  it('is denied a key its policy does not name: Ready=False VaultDenied, no Secret', async () => {
    kubectl.apply(await vaultSealed('foreign', { token: 't0k' }, 'other'));
    await waitUntil('VaultDenied', async () => ready('foreign').reason === 'VaultDenied', { timeoutMs: 20_000 });
    assert.equal(ready('foreign').status, 'False');
    assert.equal(secretData(kubectl, 'prod', 'foreign'), undefined);
  });

  it('keeps the Secret exactly as it was while Vault is away, and catches up when it is back', async () => {
    const next = await vaultSealed('db', { password: 'rotated-value', user: 'admin' });
    await proxy.close();
    kubectl.apply(next);
    await waitUntil('VaultUnavailable', async () => ready('db').reason === 'VaultUnavailable', { timeoutMs: 30_000 });
    assert.match(ready('db').message ?? '', new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
    assert.deepEqual(secretData(kubectl, 'prod', 'db'), { password: b64(PLAINTEXT), user: b64('admin') });
    await proxy.open();
    await waitUntil('Secret updated after the outage', async () => secretData(kubectl, 'prod', 'db')?.password === b64('rotated-value'), { timeoutMs: 60_000 });
    await waitUntil('Ready=True again', async () => ready('db').status === 'True', { timeoutMs: 10_000 });
  });

  it('logs in again once its token has expired', async () => {
    const before = await logins();
    await new Promise((r) => setTimeout(r, 9_000)); // past token_max_ttl: renewal can no longer extend it
    kubectl.apply(await vaultSealed('late', { key: 'value' }));
    await waitUntil('Secret prod/late', async () => secretData(kubectl, 'prod', 'late') !== undefined, { timeoutMs: 30_000 });
    assert.deepEqual(secretData(kubectl, 'prod', 'late'), { key: b64('value') });
    assert.ok((await logins()) > before, `a new login after expiry (before ${before})`);
  });

  it('writes no plaintext, ciphertext or token to its logs, events or status', () => {
    const texts = { logs: controller.logs(), events: kubectl('get', 'events', '-A', '-o', 'json'), status: kubectl('get', 'sealedsecrets.sigil.dev', '-A', '-o', 'jsonpath={.items[*].status}') };
    for (const [what, text] of Object.entries(texts)) {
      for (const secret of [PLAINTEXT, b64(PLAINTEXT), 'rotated-value', ...ciphertexts]) assert.ok(!text.includes(secret), `a secret in ${what}`);
    }
  });
});
