// `seal --merge-into`: keys are sealed into an existing file with that file's name, namespace and scope,
// and the Git diff shows only the merged keys' lines.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { independentOpen, independentSeal } from '../independent/sealed-secrets-format.js';
import { KEYS, runSeal, tempDir } from '../helpers/run-seal.js';

const CERT = join(KEYS, 'sealing-2048.crt');
const CERT_PEM = readFileSync(CERT, 'utf8');
const KEY = readFileSync(join(KEYS, 'sealing-2048.key'), 'utf8');

function sealedFile(label: string, scope: string): string {
  return [
    '# Database credentials for prod. Owned by the storage team.',
    'apiVersion: sigil.dev/v1',
    'kind: SealedSecret',
    'metadata:',
    '  name: db',
    '  namespace: prod',
    'spec:',
    `  scope: ${scope}`,
    '  encryptedData:',
    `    user: ${independentSeal(CERT_PEM, label, Buffer.from('admin'))}`,
    '    # rotated 2026-01',
    `    password: ${independentSeal(CERT_PEM, label, Buffer.from('old'))}`,
    '  template:',
    '    type: Opaque',
    '',
  ].join('\n');
}

const INPUT = 'apiVersion: v1\nkind: Secret\nmetadata: {name: ignored, namespace: elsewhere}\nstringData:\n  password: new\n  token: t0k\n';

describe('seal --merge-into', () => {
  for (const { scope, label } of [
    { scope: 'strict', label: 'prod/db' },
    { scope: 'namespace-wide', label: 'prod' },
    { scope: 'cluster-wide', label: '' },
  ]) {
    it(`changes only the merged keys' lines (${scope})`, async () => {
      const file = join(tempDir(), 'sealed.yaml');
      const before = sealedFile(label, scope);
      writeFileSync(file, before);
      const r = await runSeal(['--cert', CERT, '--merge-into', file], { stdin: INPUT });
      assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
      const after = readFileSync(file, 'utf8');
      const a = before.split('\n');
      const b = after.split('\n');
      // password replaced where it stood, token appended after it; every other line identical.
      assert.deepEqual(b.slice(0, 11), a.slice(0, 11));
      assert.match(b[11]!, /^ {4}password: [A-Za-z0-9+/]+=*$/);
      assert.notEqual(b[11], a[11]);
      assert.match(b[12]!, /^ {4}token: [A-Za-z0-9+/]+=*$/);
      assert.deepEqual(b.slice(13), a.slice(12));
      const doc = yaml.load(after) as { spec: { encryptedData: Record<string, string> } };
      const opened = Object.fromEntries(
        Object.entries(doc.spec.encryptedData).map(([k, v]) => [k, independentOpen(KEY, label, v).toString()]),
      );
      assert.deepEqual(opened, { user: 'admin', password: 'new', token: 't0k' });
    });
  }

  it('leaves the file untouched when the input is bad', async () => {
    const file = join(tempDir(), 'sealed.yaml');
    const before = sealedFile('prod/db', 'strict');
    writeFileSync(file, before);
    const r = await runSeal(['--cert', CERT, '--merge-into', file], { stdin: 'apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {port: 5}\n' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: stdin: document 1 .*stringData\.port is a number, not a string; quote it\n$/);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  it('refuses a file without exactly one SealedSecret', async () => {
    const file = join(tempDir(), 'two.yaml');
    const one = sealedFile('prod/db', 'strict');
    writeFileSync(file, `${one}---\n${one}`);
    const r = await runSeal(['--cert', CERT, '--merge-into', file], { stdin: INPUT });
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr: `error: ${file}: --merge-into needs a file with exactly one SealedSecret, found 2\n`,
    });
  });
});
