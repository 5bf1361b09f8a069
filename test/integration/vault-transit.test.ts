// The Vault sealing core against the real Vault dev server and the real kube-apiserver: `seal`'s side holds
// a token that may only encrypt with one key (and read its settings), the opening side logs in with
// Kubernetes auth as a ServiceAccount (a real TokenReview) and may only decrypt. Round trips are exact, a
// value moved to another name, namespace, scope or key is refused naming the key, a non-derived key is
// refused, rotation + rewrap move values to v2, min_decryption_version retires v1, and logins are shared.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { SCOPES } from '../../shared/crypto/scope.js';
import { sealedSecretObject, type SealedSecret } from '../../shared/manifest/sealed-secret.js';
import type { PlainSecret } from '../../shared/manifest/secret.js';
import { rewrapSealedSecret, sealSecretWithVault, unsealWithVault } from '../../shared/sealing/vault-sealing.js';
import { VaultTransit, type VaultAuth } from '../../shared/vault/transit.js';
import { startEnv, type Env } from '../env/index.js';

const KEY = 'sigil';
const ROTATING = 'rotating';
const PLAINTEXT = 'hunter2-vault-plaintext';

function plain(data: Record<string, Buffer>, name = 'db', namespace = 'prod'): PlainSecret {
  return {
    name,
    namespace,
    labels: { app: 'db' },
    annotations: { owner: 'team-a' },
    type: 'kubernetes.io/basic-auth',
    immutable: true,
    data: new Map(Object.entries(data)),
    where: 'test',
  };
}

describe('Vault transit sealing against a real Vault', () => {
  let env: Env;
  let addr: string;
  let sealToken: string;
  let encryptOnlyToken: string;
  let jwt: string;
  const clients: VaultTransit[] = [];
  const transit = (auth: VaultAuth): VaultTransit => {
    const client = new VaultTransit({ addr, auth });
    clients.push(client);
    return client;
  };
  const opener = (): VaultTransit => transit({ method: 'kubernetes', role: 'sigil-opener', jwt: () => jwt });
  const root = (): VaultTransit => transit({ method: 'token', token: env.vault!.rootToken });
  const tokenWith = async (name: string, policy: string): Promise<string> => {
    await env.vault!.request('PUT', `sys/policies/acl/${name}`, { policy });
    const answer = (await env.vault!.request('POST', 'auth/token/create', { policies: [name], ttl: '1h' })) as { auth: { client_token: string } };
    return answer.auth.client_token;
  };
  const seal = (secret: PlainSecret, scope: (typeof SCOPES)[number] = 'strict', key = KEY, token = sealToken): Promise<SealedSecret> =>
    sealSecretWithVault(secret, { transit: transit({ method: 'token', token }), mount: 'transit', key, scope, api: 'sigil', defaultNamespace: 'default' });

  before(async () => {
    env = await startEnv({ vault: true });
    addr = env.vault!.addr;
    await root().createKey('transit', KEY);
    await root().createKey('transit', ROTATING);
    await env.vault!.request('POST', 'transit/keys/not-derived', { type: 'aes256-gcm96' });
    const sealPolicy = (key: string): string => `path "transit/encrypt/${key}" { capabilities = ["update"] }\npath "transit/keys/${key}" { capabilities = ["read"] }\n`;
    sealToken = await tokenWith('sigil-seal', sealPolicy(KEY) + sealPolicy(ROTATING) + sealPolicy('not-derived'));
    encryptOnlyToken = await tokenWith('sigil-encrypt-only', `path "transit/encrypt/${KEY}" { capabilities = ["update"] }\n`);
    await env.vault!.request('PUT', 'sys/policies/acl/sigil-open', {
      policy: `path "transit/decrypt/${KEY}" { capabilities = ["update"] }\npath "transit/decrypt/${ROTATING}" { capabilities = ["update"] }\n`,
    });
    await env.vault!.request('POST', 'auth/kubernetes/role/sigil-opener', {
      bound_service_account_names: ['sigil-controller'],
      bound_service_account_namespaces: ['sigil-system'],
      token_policies: ['sigil-open'],
      token_ttl: '1h',
    });
    const kubeconfig = yaml.load(await env.controlPlane.kubeconfigForServiceAccount('sigil-system', 'sigil-controller')) as { users: { user: { token: string } }[] };
    jwt = kubeconfig.users[0]!.user.token;
  });
  after(async () => {
    for (const client of clients) client.close();
    await env?.stop();
  });

  it('seals with a token that may only encrypt (and read the key) and opens through a Kubernetes-auth login, exactly, in every scope', async () => {
    const data = { password: Buffer.from(PLAINTEXT), empty: Buffer.alloc(0), binary: Buffer.from([0, 1, 254, 255]), ['__proto__']: Buffer.from('p') };
    for (const scope of SCOPES) {
      const sealed = await seal(plain(data), scope);
      assert.deepEqual([...sealed.encryptedData.keys()], ['__proto__', 'binary', 'empty', 'password']);
      for (const value of sealed.encryptedData.values()) assert.match(value, /^vault:v1:[A-Za-z0-9+/]+={0,2}$/);
      assert.deepEqual(sealedSecretObject(sealed), {
        apiVersion: 'sigil.dev/v1',
        kind: 'SealedSecret',
        metadata: { name: 'db', namespace: 'prod' },
        spec: {
          scope,
          encryptedData: Object.fromEntries([...sealed.encryptedData].sort(([a], [b]) => (a < b ? -1 : 1))),
          vault: { mount: 'transit', key: KEY },
          template: { metadata: { labels: { app: 'db' }, annotations: { owner: 'team-a' } }, type: 'kubernetes.io/basic-auth', immutable: true },
        },
      });
      assert.deepEqual(await unsealWithVault(sealed, opener()), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'prod', labels: { app: 'db' }, annotations: { owner: 'team-a' } },
        type: 'kubernetes.io/basic-auth',
        immutable: true,
        data: { ['__proto__']: 'cA==', binary: 'AAH+/w==', empty: '', password: Buffer.from(PLAINTEXT).toString('base64') },
      });
    }
  });

  it('refuses a value moved to another name, namespace, scope or key, naming the key', async () => {
    const sealed = await seal(plain({ password: Buffer.from(PLAINTEXT), user: Buffer.from('admin') }));
    const refusal = (ref: string, key: string): { name: string; reason: string; message: string } => ({
      name: 'StalledError',
      reason: 'DecryptFailed',
      message:
        `SealedSecret ${ref}: key ${key}: moved or altered: it opens only as the key of the SealedSecret it was sealed for ` +
        `(same name, namespace, scope and key); Vault transit key transit/${KEY} refused it: cipher: message authentication failed ` +
        `(Vault ${addr} POST transit/decrypt/${KEY}, HTTP 400)`,
    });
    await assert.rejects(unsealWithVault({ ...sealed, name: 'other' }, opener()), refusal('prod/other', 'password'));
    await assert.rejects(unsealWithVault({ ...sealed, namespace: 'staging' }, opener()), refusal('staging/db', 'password'));
    await assert.rejects(unsealWithVault({ ...sealed, scope: 'namespace-wide' }, opener()), refusal('prod/db', 'password'));
    const swapped = new Map([['password', sealed.encryptedData.get('password')!], ['user', sealed.encryptedData.get('password')!]]);
    await assert.rejects(unsealWithVault({ ...sealed, encryptedData: swapped }, opener()), refusal('prod/db', 'user'));
    const notVault = new Map([['password', sealed.encryptedData.get('password')!], ['user', 'AgBy3i4OJSWK+PiTySYZZA==']]);
    await assert.rejects(unsealWithVault({ ...sealed, encryptedData: notVault }, opener()), {
      reason: 'DecryptFailed',
      message: 'SealedSecret prod/db: key user: not a Vault transit ciphertext (vault:v<N>:<base64>)',
    });
  });

  it('refuses a key without derivation, a bitnami.com object, and sealing without the right to read the key', async () => {
    await assert.rejects(seal(plain({ password: Buffer.from(PLAINTEXT) }), 'strict', 'not-derived'), {
      name: 'StalledError',
      reason: 'VaultKeyNotDerived',
      message:
        "Vault transit key transit/not-derived is not derived: Vault would ignore the context binding each value to its Secret's name, namespace and key. " +
        'Derivation is fixed when a key is created; create a new key with `seal vault create-key NAME` ' +
        '(or `vault write -f transit/keys/NAME derived=true type=aes256-gcm96`)',
    });
    const transitClient = transit({ method: 'token', token: sealToken });
    await assert.rejects(
      sealSecretWithVault(plain({ password: Buffer.from(PLAINTEXT) }), { transit: transitClient, mount: 'transit', key: KEY, scope: 'strict', api: 'bitnami', defaultNamespace: '' }),
      { name: 'StalledError', reason: 'InvalidArgument', message: 'bitnami.com SealedSecrets cannot carry Vault values; use --api sigil' },
    );
    assert.deepEqual(transitClient.stats(), { logins: 0, requests: 0 });
    await assert.rejects(seal(plain({ password: Buffer.from(PLAINTEXT) }), 'strict', KEY, encryptOnlyToken), {
      name: 'TransientError',
      reason: 'VaultDenied',
      message:
        `Vault ${addr} GET transit/keys/${KEY}: HTTP 403: permission denied (sealing reads the key's settings to check that it is derived: ` +
        `grant read on transit/keys/${KEY} besides update on transit/encrypt/${KEY})`,
    });
  });

  it('reads the key once per client, and a seal-side token cannot decrypt (VaultDenied, no token in the text)', async () => {
    const client = transit({ method: 'token', token: sealToken });
    const options = { transit: client, mount: 'transit', key: KEY, scope: 'strict', api: 'sigil', defaultNamespace: '' } as const;
    const sealed = await sealSecretWithVault(plain({ password: Buffer.from(PLAINTEXT) }), options);
    await sealSecretWithVault(plain({ password: Buffer.from(PLAINTEXT) }, 'cache'), options);
    assert.deepEqual(client.stats(), { logins: 0, requests: 3 });
    for (const token of [sealToken, encryptOnlyToken]) {
      const err = (await unsealWithVault(sealed, transit({ method: 'token', token })).catch((e: unknown) => e)) as Error & { reason: string };
      assert.deepEqual({ name: err.name, reason: err.reason, message: err.message }, {
        name: 'TransientError',
        reason: 'VaultDenied',
        message: `Vault ${addr} POST transit/decrypt/${KEY}: HTTP 403: permission denied`,
      });
    }
    // The opener, for its part, may not encrypt.
    await assert.rejects(opener().encrypt('transit', KEY, [{ plaintext: Buffer.from(PLAINTEXT), context: 'strict:prod/db/password' }]), {
      reason: 'VaultDenied',
      message: `Vault ${addr} POST transit/encrypt/${KEY}: HTTP 403: permission denied`,
    });
  });

  it('rewraps to the rotated version (v2), which still opens; raising min_decryption_version retires v1', async () => {
    const v1 = await seal(plain({ password: Buffer.from(PLAINTEXT), user: Buffer.from('admin') }), 'strict', ROTATING);
    await env.vault!.request('POST', `transit/keys/${ROTATING}/rotate`);
    assert.deepEqual(await root().readKey('transit', ROTATING), { derived: true, type: 'aes256-gcm96', latestVersion: 2, minDecryptionVersion: 1 });
    const rewrapper = root();
    const rewrapped = await rewrapSealedSecret(v1, rewrapper);
    assert.deepEqual(rewrapper.stats(), { logins: 0, requests: 1 });
    assert.deepEqual([...rewrapped.keys()], ['password', 'user']);
    for (const value of rewrapped.values()) assert.match(value, /^vault:v2:/);
    const v2: SealedSecret = { ...v1, encryptedData: rewrapped };
    const expected = { password: Buffer.from(PLAINTEXT).toString('base64'), user: Buffer.from('admin').toString('base64') };
    assert.deepEqual((await unsealWithVault(v2, opener())).data, expected);
    assert.deepEqual((await unsealWithVault(v1, opener())).data, expected);

    await env.vault!.request('POST', `transit/keys/${ROTATING}/config`, { min_decryption_version: 2 });
    assert.deepEqual((await unsealWithVault(v2, opener())).data, expected);
    await assert.rejects(unsealWithVault(v1, opener()), {
      name: 'StalledError',
      reason: 'DecryptFailed',
      message:
        `SealedSecret prod/db: key password: Vault transit key transit/${ROTATING} refused it: ciphertext or signature version is disallowed by policy (too old) ` +
        `(Vault ${addr} POST transit/decrypt/${ROTATING}, HTTP 400)`,
    });
    await assert.rejects(rewrapSealedSecret({ ...v1, name: 'moved' }, root()), { reason: 'RewrapFailed' });
  });

  it('shares one Kubernetes login among 50 concurrent unseals', async () => {
    const sealed = await seal(plain({ password: Buffer.from(PLAINTEXT) }));
    const client = opener();
    const opened = await Promise.all(Array.from({ length: 50 }, () => unsealWithVault(sealed, client)));
    assert.ok(opened.every((secret) => secret.data.password === Buffer.from(PLAINTEXT).toString('base64')));
    assert.deepEqual(client.stats(), { logins: 1, requests: 51 });
  });
});
