// `seal unseal`: values sealed by the independent implementation of the Sealed Secrets format open with
// PEM keys (PKCS#1, PKCS#8) and key backups; wrong, tampered or truncated values fail cleanly.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { independentSeal } from '../independent/sealed-secrets-format.js';
import { KEYS, runSeal, tempDir } from '../helpers/run-seal.js';

const CERT_PEM = readFileSync(join(KEYS, 'sealing-2048.crt'), 'utf8');
const KEY = join(KEYS, 'sealing-2048.key');
const OTHER_KEY = join(KEYS, 'other-2048.key');

function sealed(scope: 'strict' | 'namespace-wide' | 'cluster-wide', value: string, api = 'sigil'): string {
  const label = { strict: 'prod/db', 'namespace-wide': 'prod', 'cluster-wide': '' }[scope];
  const ct = independentSeal(CERT_PEM, label, Buffer.from(value));
  if (api === 'bitnami') {
    const ann = scope === 'strict' ? '' : `  annotations:\n    sealedsecrets.bitnami.com/${scope}: "true"\n`;
    return `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: prod\n${ann}spec:\n  encryptedData:\n    password: ${ct}\n  template:\n    metadata:\n      name: db\n      namespace: prod\n    type: Opaque\n`;
  }
  return `apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  scope: ${scope}\n  encryptedData:\n    password: ${ct}\n  template:\n    metadata:\n      labels: {app: db}\n    type: Opaque\n`;
}

const EXPECTED = (labels?: Record<string, string>): unknown => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'prod', ...(labels ? { labels } : {}) },
  type: 'Opaque',
  data: { password: Buffer.from('hunter2').toString('base64') },
});

describe('seal unseal', () => {
  for (const scope of ['strict', 'namespace-wide', 'cluster-wide'] as const) {
    for (const api of ['sigil', 'bitnami']) {
      it(`opens a ${scope} ${api} SealedSecret sealed by the independent implementation`, async () => {
        const r = await runSeal(['unseal', '--key', KEY], { stdin: sealed(scope, 'hunter2', api) });
        assert.equal(r.stderr, '');
        assert.equal(r.code, 0);
        assert.deepEqual(yaml.load(r.stdout), EXPECTED(api === 'sigil' ? { app: 'db' } : undefined));
      });
    }
  }

  it('takes PKCS#8 keys, key backups and several keys', async () => {
    for (const keys of [join(KEYS, 'sealing-2048.pkcs8.key'), join(KEYS, 'backup.yaml'), `${OTHER_KEY},${KEY}`]) {
      const r = await runSeal(['unseal', '--key', keys], { stdin: sealed('strict', 'hunter2') });
      assert.equal(r.code, 0, `${keys}: ${r.stderr}`);
      assert.deepEqual(yaml.load(r.stdout), EXPECTED({ app: 'db' }));
    }
  });

  it('answers JSON with -o json and writes -w only on success', async () => {
    const dir = tempDir();
    const out = join(dir, 'secret.json');
    const ok = await runSeal(['unseal', '--key', KEY, '-o', 'json', '-w', out], { stdin: sealed('strict', 'hunter2') });
    assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, '', '']);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), EXPECTED({ app: 'db' }));
    const missing = join(dir, 'never.json');
    const bad = await runSeal(['unseal', '--key', OTHER_KEY, '-w', missing], { stdin: sealed('strict', 'hunter2') });
    assert.equal(bad.code, 1);
    assert.equal(existsSync(missing), false);
  });

  const good = sealed('strict', 'hunter2');
  const value = /password: (\S+)/.exec(good)![1]!;
  const bytes = Buffer.from(value, 'base64');
  const flip = (at: number): string => {
    const copy = Buffer.from(bytes);
    copy[at] = copy[at]! ^ 0x01;
    return good.replace(value, copy.toString('base64'));
  };
  const NO_KEY = 'no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)';
  const cases = [
    { name: 'the wrong key', args: ['--key', OTHER_KEY], stdin: good, why: NO_KEY },
    { name: 'another name', args: ['--key', KEY], stdin: good.replace('name: db', 'name: web'), why: NO_KEY, ref: 'prod/web' },
    { name: 'another namespace', args: ['--key', KEY], stdin: good.replace('namespace: prod', 'namespace: dev'), why: NO_KEY, ref: 'dev/db' },
    { name: 'another scope', args: ['--key', KEY], stdin: good.replace('scope: strict', 'scope: namespace-wide'), why: NO_KEY },
    { name: 'a flipped bit in the RSA part', args: ['--key', KEY], stdin: flip(40), why: NO_KEY },
    { name: 'a flipped bit in the AES part', args: ['--key', KEY], stdin: flip(bytes.length - 20), why: 'the value was altered after sealing (integrity check failed)' },
    { name: 'a flipped bit in the tag', args: ['--key', KEY], stdin: flip(bytes.length - 1), why: 'the value was altered after sealing (integrity check failed)' },
    { name: 'a truncated value', args: ['--key', KEY], stdin: good.replace(value, bytes.subarray(0, 200).toString('base64')), why: 'the value is truncated' },
    { name: 'a value that is not base64', args: ['--key', KEY], stdin: good.replace(value, 'not-base64!'), why: 'the value is not valid base64' },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}, naming the SealedSecret and key`, async () => {
      const r = await runSeal(['unseal', ...c.args], { stdin: c.stdin });
      assert.deepEqual(r, { code: 1, stdout: '', stderr: `error: SealedSecret ${c.ref ?? 'prod/db'}: key password: ${c.why}\n` });
    });
  }

  it('refuses a key file with no key, and a missing --key', async () => {
    const noKey = await runSeal(['unseal', '--key', join(KEYS, 'sealing-2048.crt')], { stdin: good });
    assert.deepEqual(noKey, { code: 1, stdout: '', stderr: `error: key file ${join(KEYS, 'sealing-2048.crt')}: no PEM private key (PKCS#1 or PKCS#8) found\n` });
    const none = await runSeal(['unseal'], { stdin: good });
    assert.deepEqual(none, { code: 2, stdout: '', stderr: 'error: unseal needs --key FILE[,FILE…] or --vault\n' });
  });

  it('refuses a document that is not a SealedSecret', async () => {
    const r = await runSeal(['unseal', '--key', KEY], { stdin: 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n' });
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'error: stdin: document 1 is a Secret, not a SealedSecret\n' });
  });
});
