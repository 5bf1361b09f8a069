// `seal keygen` and `seal reencrypt` as processes: a generated key pair seals and opens; re-sealing a
// tree to a new certificate changes only ciphertexts and writes nothing when any file fails.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { independentOpen, independentSeal } from '../independent/sealed-secrets-format.js';
import { KEYS, runSeal, tempDir } from '../helpers/run-seal.js';

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2}\n';

describe('seal keygen', () => {
  it('writes a key (0600) and a self-signed certificate that seal and unseal with', async () => {
    const dir = tempDir();
    const key = join(dir, 'k.pem');
    const cert = join(dir, 'c.pem');
    const r = await runSeal(['keygen', '--key-out', key, '--cert-out', cert, '--bits', '2048', '--valid-days', '30']);
    assert.deepEqual(r, { code: 0, stdout: '', stderr: `wrote ${key} and ${cert}\n` });
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const x509 = new X509Certificate(readFileSync(cert));
    assert.equal(x509.subject, 'CN=sealed-secret');
    assert.equal(x509.verify(x509.publicKey), true);
    assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    const days = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
    assert.ok(Math.abs(days - 30) < 1 / 24, `validity ${days} days`);
    const sealed = await runSeal(['--cert', cert], { stdin: SECRET });
    assert.equal(sealed.code, 0, sealed.stderr);
    const opened = await runSeal(['unseal', '--key', key], { stdin: sealed.stdout });
    assert.equal(opened.code, 0, opened.stderr);
    assert.deepEqual((yaml.load(opened.stdout) as { data: unknown }).data, { password: 'aHVudGVyMg==' });
  });

  it('refuses to replace an existing key without --force, and a weak size', async () => {
    const dir = tempDir();
    const key = join(dir, 'k.pem');
    writeFileSync(key, 'precious');
    const r = await runSeal(['keygen', '--key-out', key, '--cert-out', join(dir, 'c.pem'), '--bits', '2048']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: `error: ${key} exists; pass --force to replace it\n` });
    assert.equal(readFileSync(key, 'utf8'), 'precious');
    const weak = await runSeal(['keygen', '--key-out', join(dir, 'a'), '--cert-out', join(dir, 'b'), '--bits', '1024']);
    assert.deepEqual(weak, { code: 2, stdout: '', stderr: 'error: --bits 1024: give a multiple of 8 from 2048 to 16384\n' });
  });
});

describe('seal reencrypt', () => {
  const OLD_CERT = readFileSync(join(KEYS, 'sealing-2048.crt'), 'utf8');
  const OLD_KEY = join(KEYS, 'sealing-2048.key');
  const NEW_CERT = join(KEYS, 'other-2048.crt');
  const NEW_KEY = readFileSync(join(KEYS, 'other-2048.key'), 'utf8');

  function tree(): { dir: string; files: Record<string, string> } {
    const dir = tempDir();
    mkdirSync(join(dir, 'apps/db'), { recursive: true });
    const files: Record<string, string> = {
      'apps/db/sealed.yaml': `# keep me\napiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  scope: strict\n  encryptedData:\n    password: ${independentSeal(OLD_CERT, 'prod/db', Buffer.from('pw'))}\n  template:\n    type: Opaque\n`,
      'apps/db/legacy.yaml': `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: legacy\n  namespace: prod\n  annotations:\n    sealedsecrets.bitnami.com/cluster-wide: "true"\nspec:\n  encryptedData:\n    token: ${independentSeal(OLD_CERT, '', Buffer.from('tk'))}\n`,
      'apps/db/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db}\n',
      'README.md': 'kind: SealedSecret in prose\n',
    };
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
    return { dir, files };
  }

  it('re-seals every SealedSecret in a tree, changing only the ciphertext lines', async () => {
    const { dir, files } = tree();
    const r = await runSeal(['reencrypt', '--key', OLD_KEY, '--cert', NEW_CERT, dir]);
    assert.deepEqual(r, { code: 0, stdout: '', stderr: 're-sealed 2 SealedSecrets in 2 files\n' });
    for (const [path, label, key, plain] of [
      ['apps/db/sealed.yaml', 'prod/db', 'password', 'pw'],
      ['apps/db/legacy.yaml', '', 'token', 'tk'],
    ] as const) {
      const after = readFileSync(join(dir, path), 'utf8');
      const [a, b] = [files[path]!.split('\n'), after.split('\n')];
      const changed = a.map((line, i) => (line === b[i] ? -1 : i)).filter((i) => i >= 0);
      assert.equal(changed.length, 1, `${path}: changed lines ${changed.join(',')}`);
      assert.equal(b.length, a.length);
      const value = new RegExp(`${key}: (\\S+)`).exec(after)![1]!;
      assert.equal(independentOpen(NEW_KEY, label, value).toString(), plain);
    }
    assert.equal(readFileSync(join(dir, 'apps/db/deployment.yaml'), 'utf8'), files['apps/db/deployment.yaml']);
  });

  it('writes nothing when one value does not open', async () => {
    const { dir, files } = tree();
    const r = await runSeal(['reencrypt', '--key', join(KEYS, 'other-2048.key'), '--cert', NEW_CERT, dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: SealedSecret prod\/(db|legacy): key (password|token): no sealing key opens it/);
    for (const [path, text] of Object.entries(files)) assert.equal(readFileSync(join(dir, path), 'utf8'), text);
  });
});

describe('seal reencrypt rejects', () => {
  it('a named file with no SealedSecret, and a missing path', async () => {
    const dir = tempDir();
    const plain = join(dir, 'deployment.yaml');
    writeFileSync(plain, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n');
    const args = ['reencrypt', '--key', join(KEYS, 'sealing-2048.key'), '--cert', join(KEYS, 'other-2048.crt')];
    assert.deepEqual(await runSeal([...args, plain]), { code: 1, stdout: '', stderr: `error: ${plain}: holds no SealedSecret\n` });
    const missing = join(dir, 'nope');
    assert.deepEqual(await runSeal([...args, missing]), { code: 1, stdout: '', stderr: `error: cannot read ${missing}: ENOENT: no such file or directory\n` });
    assert.deepEqual(await runSeal(['reencrypt', '--cert', join(KEYS, 'other-2048.crt'), dir]), { code: 2, stdout: '', stderr: 'error: reencrypt needs --key FILE[,FILE…]\n' });
  });
});

describe('help and version', () => {
  for (const args of [['--help'], ['unseal', '--help'], ['keygen', '--help'], ['reencrypt', '--help'], ['cert', '--help']]) {
    it(`seal ${args.join(' ')} shows usage and an example`, async () => {
      const r = await runSeal(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: seal/);
      assert.match(r.stdout, /\nExamples?:\n {2}\S/);
    });
  }

  it('seal --version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual(await runSeal(['--version']), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});
