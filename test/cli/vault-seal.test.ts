// `seal --vault-key` and `seal unseal --vault` as processes against a real Vault dev server, with tokens that
// hold only what each command needs: exact output, the context binding, every refusal, and the ways `seal`
// finds its Vault credentials (VAULT_TOKEN, ~/.vault-token, AppRole), none of which is ever printed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../env/processes.js';
import type { Vault } from '../env/vault.js';
import { KEYS, runSeal, tempDir, type RunResult } from '../helpers/run-seal.js';
import { appRoleWith, POLICIES, startVaultWithKeys, tokenWith } from '../helpers/vault-access.js';

const CERT = join(KEYS, 'sealing-2048.crt');
const KEY = join(KEYS, 'sealing-2048.key');

const SECRETS = `# two Secrets in one file
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"secret": "plain"}'
stringData:
  user: admin
  password: hunter2
---
apiVersion: v1
kind: Secret
metadata: {name: web}
type: kubernetes.io/basic-auth
data:
  username: dQ==
  password: cA==
`;

// The values are Vault's, fresh each time: they are checked by shape and then replaced by a placeholder.
const SEALED = `apiVersion: sigil.dev/v1
kind: SealedSecret
metadata:
  name: db
  namespace: prod
spec:
  scope: strict
  encryptedData:
    password: <vault:v1>
    user: <vault:v1>
  vault:
    mount: transit
    key: app
  template:
    metadata:
      labels:
        app: db
    type: Opaque
---
apiVersion: sigil.dev/v1
kind: SealedSecret
metadata:
  name: web
  namespace: default
spec:
  scope: strict
  encryptedData:
    password: <vault:v1>
    username: <vault:v1>
  vault:
    mount: transit
    key: app
  template:
    type: kubernetes.io/basic-auth
`;

const UNSEALED = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels:
    app: db
type: Opaque
data:
  password: aHVudGVyMg==
  user: YWRtaW4=
---
apiVersion: v1
kind: Secret
metadata:
  name: web
  namespace: default
type: kubernetes.io/basic-auth
data:
  password: cA==
  username: dQ==
`;

const ONE = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2}\n';

/** Vault's ciphertexts replaced by `<vault:vN>`. */
function shape(text: string): string {
  return text.replace(/vault:v(\d+):[A-Za-z0-9+/]+=*/g, '<vault:v$1>');
}

describe('seal with Vault transit', () => {
  let vault: Vault;
  /** Every credential the tests hand to `seal`; none may show up in anything it prints. */
  const credentials: string[] = [];
  const printed: string[] = [];
  const tokens = { seal: '', unseal: '', encryptOnly: '' };

  /** `seal …args` with VAULT_ADDR and `env`; what it printed is kept for the final check. */
  async function seal(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<RunResult> {
    const r = await runSeal(args, { stdin: options.stdin, env: { VAULT_ADDR: vault.addr, ...options.env } });
    printed.push(r.stdout, r.stderr);
    return r;
  }

  before(async () => {
    vault = await startVaultWithKeys();
    tokens.seal = await tokenWith(vault, 'seal-app', POLICIES.seal('app'));
    tokens.unseal = await tokenWith(vault, 'unseal-app', POLICIES.unseal('app'));
    tokens.encryptOnly = await tokenWith(vault, 'encrypt-app', POLICIES.encryptOnly('app'));
    credentials.push(vault.rootToken, ...Object.values(tokens));
  });
  after(async () => {
    await vault?.stop();
  });

  it('seals every document with the transit key and unseal --vault gives the Secrets back exactly', async () => {
    const sealed = await seal(['--vault-key', 'app'], { stdin: SECRETS, env: { VAULT_TOKEN: tokens.seal } });
    assert.equal(sealed.stderr, '');
    assert.equal(sealed.code, 0);
    assert.equal(shape(sealed.stdout), SEALED);
    assert.equal(sealed.stdout.match(/vault:v1:[A-Za-z0-9+/]+=*$/gm)?.length, 4);
    const port = new URL(vault.addr).port;
    assert.ok(!sealed.stdout.includes('127.0.0.1') && !sealed.stdout.includes(port), 'the Vault address is not in the file');

    const opened = await seal(['unseal', '--vault'], { stdin: sealed.stdout, env: { VAULT_TOKEN: tokens.unseal } });
    assert.deepEqual(opened, { code: 0, stdout: UNSEALED, stderr: '' });
  });

  it('binds each value to <scope>:<label>/<key>: -o json, -w, --scope namespace-wide and -n', async () => {
    const out = join(tempDir(), 'sealed.json');
    const r = await seal(['--vault-key', 'app', '--scope', 'namespace-wide', '-n', 'team', '-o', 'json', '-w', out], {
      stdin: 'apiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData: {password: s3cret}\n',
      env: { VAULT_TOKEN: tokens.seal },
    });
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    const sealed = JSON.parse(readFileSync(out, 'utf8')) as { metadata: unknown; spec: { scope: string; encryptedData: { password: string }; vault: unknown } };
    assert.deepEqual(sealed.metadata, { name: 'api', namespace: 'team' });
    assert.equal(sealed.spec.scope, 'namespace-wide');
    assert.deepEqual(sealed.spec.vault, { mount: 'transit', key: 'app' });
    // Vault itself opens the value with exactly that context, and with no other.
    const decrypt = (context: string): Promise<unknown> =>
      vault.request('POST', 'transit/decrypt/app', { ciphertext: sealed.spec.encryptedData.password, context: Buffer.from(context).toString('base64') });
    const answer = (await decrypt('namespace-wide:team/password')) as { data: { plaintext: string } };
    assert.equal(Buffer.from(answer.data.plaintext, 'base64').toString(), 's3cret');
    await assert.rejects(decrypt('namespace-wide:other/password'), /message authentication failed/);

    const opened = await seal(['unseal', '--vault', '-f', out], { env: { VAULT_TOKEN: tokens.unseal } });
    assert.equal(opened.stderr, '');
    assert.deepEqual(JSON.parse(opened.stdout), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api', namespace: 'team' },
      type: 'Opaque',
      data: { password: Buffer.from('s3cret').toString('base64') },
    });
  });

  it('does not open a value moved to another Secret', async () => {
    const sealed = await seal(['--vault-key', 'app'], { stdin: ONE, env: { VAULT_TOKEN: tokens.seal } });
    const moved = sealed.stdout.replace('name: db', 'name: web');
    const r = await seal(['unseal', '--vault'], { stdin: moved, env: { VAULT_TOKEN: tokens.unseal } });
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr:
        'error: SealedSecret prod/web: key password: moved or altered: it opens only as the key of the SealedSecret it was sealed for ' +
        '(same name, namespace, scope and key); Vault transit key transit/app refused it: cipher: message authentication failed ' +
        `(Vault ${vault.addr} POST transit/decrypt/app, HTTP 400)\n`,
    });
  });

  it('refuses a key without derivation, and a token that cannot check it', async () => {
    const plain = await seal(['--vault-key', 'plain'], { stdin: ONE, env: { VAULT_TOKEN: vault.rootToken } });
    assert.deepEqual(plain, {
      code: 1,
      stdout: '',
      stderr:
        "error: Vault transit key transit/plain is not derived: Vault would ignore the context binding each value to its Secret's name, namespace and key. " +
        'Derivation is fixed when a key is created; create a new key with `seal vault create-key NAME` ' +
        '(or `vault write -f transit/keys/NAME derived=true type=aes256-gcm96`)\n',
    });
    const encryptOnly = await seal(['--vault-key', 'app'], { stdin: ONE, env: { VAULT_TOKEN: tokens.encryptOnly } });
    assert.deepEqual(encryptOnly, {
      code: 1,
      stdout: '',
      stderr:
        `error: Vault ${vault.addr} GET transit/keys/app: HTTP 403: permission denied ` +
        "(sealing reads the key's settings to check that it is derived: grant read on transit/keys/app besides update on transit/encrypt/app)\n",
    });
  });

  it('refuses flags that do not go with --vault-key (exit 2), before reaching Vault', async () => {
    const env = { VAULT_TOKEN: tokens.seal };
    const cases = [
      { args: ['--vault-key', 'app', '--api', 'bitnami'], stderr: 'error: --api bitnami cannot carry Vault values (Sealed Secrets has no Vault transit); use --api sigil\n' },
      { args: ['--vault-key', 'app', '--cert', CERT], stderr: 'error: --cert and --vault-key exclude each other: seal with a certificate or with a Vault key\n' },
      { args: ['--vault-key', 'app', '--raw', '--name', 'db', '-n', 'prod'], stderr: 'error: --raw does not take --vault-key: a Vault value is bound to its key name; use --merge-into\n' },
      { args: ['--cert', CERT, '--vault-mount', 'transit'], stderr: 'error: --vault-mount goes with --vault-key\n' },
    ];
    for (const { args, stderr } of cases) {
      assert.deepEqual(await seal(args, { stdin: ONE, env }), { code: 2, stdout: '', stderr }, args.join(' '));
    }
    // A certificate from SEAL_CERT is a default, not a choice: --vault-key wins.
    const fromEnv = await seal(['--vault-key', 'app'], { stdin: ONE, env: { ...env, SEAL_CERT: CERT } });
    assert.equal(fromEnv.stderr, '');
    assert.match(fromEnv.stdout, /password: vault:v1:/);
  });

  it('needs VAULT_ADDR (exit 2) and credentials', async () => {
    const noAddr = await runSeal(['--vault-key', 'app'], { stdin: ONE, env: { VAULT_TOKEN: tokens.seal } });
    printed.push(noAddr.stdout, noAddr.stderr);
    assert.deepEqual(noAddr, {
      code: 2,
      stdout: '',
      stderr: 'error: VAULT_ADDR is not set: export the address of your Vault, e.g. VAULT_ADDR=https://vault.example.com:8200\n',
    });
    const noCredentials = await seal(['--vault-key', 'app'], { stdin: ONE });
    assert.deepEqual(noCredentials, {
      code: 1,
      stdout: '',
      stderr: 'error: no Vault credentials: set VAULT_TOKEN, run vault login (~/.vault-token), or set VAULT_ROLE_ID and VAULT_SECRET_ID\n',
    });
  });

  it('refuses a VAULT_ADDR outside SEAL_VAULT_ADDR_ALLOWLIST before sending anything', async () => {
    // Nothing listens there: a request would fail with a connection error, not this message.
    const closed = `http://127.0.0.1:${await freePort()}`;
    const refused = await seal(['--vault-key', 'app'], {
      stdin: ONE,
      env: { VAULT_ADDR: `${closed}/`, VAULT_TOKEN: tokens.seal, SEAL_VAULT_ADDR_ALLOWLIST: `https://vault.example.com:8200, ${vault.addr}` },
    });
    assert.deepEqual(refused, {
      code: 1,
      stdout: '',
      stderr: `error: VAULT_ADDR ${closed} is not in SEAL_VAULT_ADDR_ALLOWLIST; refusing to send a token there\n`,
    });
    const allowed = await seal(['--vault-key', 'app'], {
      stdin: ONE,
      env: { VAULT_TOKEN: tokens.seal, SEAL_VAULT_ADDR_ALLOWLIST: `https://vault.example.com:8200,${vault.addr}/` },
    });
    assert.equal(allowed.stderr, '');
    assert.equal(allowed.code, 0);
  });

  it('uses ~/.vault-token when VAULT_TOKEN is not set', async () => {
    const home = tempDir('sigil-home-');
    writeFileSync(join(home, '.vault-token'), `${tokens.seal}\n`, { mode: 0o600 });
    const r = await seal(['--vault-key', 'app'], { stdin: ONE, env: { HOME: home } });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /password: vault:v1:/);
  });

  it('logs in with AppRole (VAULT_ROLE_ID and VAULT_SECRET_ID)', async () => {
    const { roleId, secretId } = await appRoleWith(vault, 'sealer', POLICIES.seal('app'));
    credentials.push(secretId);
    const r = await seal(['--vault-key', 'app'], { stdin: ONE, env: { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId } });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /password: vault:v1:/);
    const wrong = await seal(['--vault-key', 'app'], { stdin: ONE, env: { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: `${secretId}x` } });
    assert.equal(wrong.code, 1);
    // (shared/sealing/vault-sealing.ts appends its hint about reading the key to any refusal while reading it)
    assert.ok(wrong.stderr.startsWith(`error: Vault ${vault.addr} POST auth/approle/login: HTTP 400: invalid role or secret ID`), wrong.stderr);
  });

  it('opens each SealedSecret with what fits it: --vault for spec.vault, --key for the others', async () => {
    const byCert = await seal(['--cert', CERT], { stdin: ONE.replace('name: db', 'name: legacy') });
    const byVault = await seal(['--vault-key', 'app'], { stdin: ONE, env: { VAULT_TOKEN: tokens.seal } });
    const mixed = `${byCert.stdout}---\n${byVault.stdout}`;
    const env = { VAULT_TOKEN: tokens.unseal };
    const both = await seal(['unseal', '--vault', '--key', KEY], { stdin: mixed, env });
    assert.equal(both.stderr, '');
    assert.equal(
      both.stdout,
      ['legacy', 'db']
        .map((name) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: prod\ntype: Opaque\ndata:\n  password: aHVudGVyMg==\n`)
        .join('---\n'),
    );
    assert.deepEqual(await seal(['unseal', '--vault'], { stdin: mixed, env }), {
      code: 1,
      stdout: '',
      stderr: 'error: SealedSecret prod/legacy is sealed with a cluster key; open it with --key\n',
    });
    assert.deepEqual(await seal(['unseal', '--key', KEY], { stdin: mixed, env }), {
      code: 1,
      stdout: '',
      stderr: 'error: SealedSecret prod/db is sealed with Vault transit key transit/app; open it with --vault\n',
    });
    // The sealing token cannot open what it sealed; -w then writes nothing.
    const out = join(tempDir(), 'secret.yaml');
    const denied = await seal(['unseal', '--vault', '-w', out], { stdin: byVault.stdout, env: { VAULT_TOKEN: tokens.seal } });
    assert.deepEqual(denied, { code: 1, stdout: '', stderr: `error: Vault ${vault.addr} POST transit/decrypt/app: HTTP 403: permission denied\n` });
    assert.equal(existsSync(out), false);
  });

  it('never prints a token or secret ID', () => {
    assert.ok(printed.length > 20);
    for (const credential of credentials) {
      assert.ok(credential.length >= 8);
      for (const text of printed) assert.ok(!text.includes(credential), 'a credential was printed');
    }
  });
});
