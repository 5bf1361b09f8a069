// Interop with the real kubeseal (built by test/env from the Go module proxy): what `seal` seals,
// kubeseal's recovery opens; what kubeseal seals, `seal unseal` opens; in every scope.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { binaryPath } from '../env/build.js';
import { KEYS, runSeal, tempDir } from '../helpers/run-seal.js';

const CERT = join(KEYS, 'sealing-2048.crt');
const KEY = join(KEYS, 'sealing-2048.key');
const SCOPES = ['strict', 'namespace-wide', 'cluster-wide'] as const;
const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db}
type: Opaque
stringData:
  password: hunter2
  unicode: "päss wörd ✓"
data:
  binary: AP8KDQ==
`;
const EXPECTED_DATA = {
  binary: 'AP8KDQ==',
  password: Buffer.from('hunter2').toString('base64'),
  unicode: Buffer.from('päss wörd ✓').toString('base64'),
};

function kubeseal(args: string[], input: string): string {
  const home = tempDir('sigil-kubeseal-home-');
  return execFileSync(binaryPath('kubeseal', 'kubeseal'), args, { input, env: { HOME: home, PATH: process.env.PATH }, encoding: 'utf8' });
}

describe(`real kubeseal`, () => {
  it('is the version the test environment builds', () => {
    assert.match(kubeseal(['--version'], ''), /^kubeseal version: v0\.40\.0\n$/);
  });

  for (const scope of SCOPES) {
    it(`opens what seal --api bitnami seals (${scope})`, async () => {
      const sealed = await runSeal(['--cert', CERT, '--api', 'bitnami', '--scope', scope], { stdin: SECRET });
      assert.equal(sealed.code, 0, sealed.stderr);
      const file = join(tempDir(), 'sealed.yaml');
      writeFileSync(file, sealed.stdout);
      const out = kubeseal(['--recovery-unseal', '--recovery-private-key', KEY, '-f', file, '-o', 'yaml'], '');
      const secret = yaml.load(out) as { metadata: { name: string; namespace: string }; data: Record<string, string> };
      assert.deepEqual(secret.data, EXPECTED_DATA);
      assert.deepEqual([secret.metadata.name, secret.metadata.namespace], ['db', 'prod']);
    });

    it(`seal unseal opens what kubeseal --cert seals (${scope})`, async () => {
      const sealed = kubeseal(['--cert', CERT, '--scope', scope, '-o', 'yaml'], SECRET);
      assert.match(sealed, /^apiVersion: bitnami\.com\/v1alpha1\n/m);
      const opened = await runSeal(['unseal', '--key', KEY], { stdin: sealed });
      assert.equal(opened.code, 0, opened.stderr);
      const secret = yaml.load(opened.stdout) as { metadata: Record<string, unknown>; data: Record<string, string>; type: string };
      assert.deepEqual(secret.data, EXPECTED_DATA);
      assert.equal(secret.type, 'Opaque');
      assert.deepEqual((secret.metadata as { labels?: unknown }).labels, { app: 'db' });
    });
  }

  it('kubeseal refuses a value seal bound to another scope', async () => {
    const sealed = await runSeal(['--cert', CERT, '--api', 'bitnami', '--scope', 'strict'], { stdin: SECRET });
    const moved = sealed.stdout.replace(/name: db/g, 'name: other');
    const file = join(tempDir(), 'moved.yaml');
    writeFileSync(file, moved);
    assert.throws(
      () => execFileSync(binaryPath('kubeseal', 'kubeseal'), ['--recovery-unseal', '--recovery-private-key', KEY, '-f', file], { encoding: 'utf8', stdio: 'pipe', env: { HOME: tempDir(), PATH: process.env.PATH } }),
      (err: { status: number; stderr: string }) => err.status !== 0 && /decrypt|no key could decrypt/i.test(err.stderr),
    );
  });
});
