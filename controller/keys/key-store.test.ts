// keyFromSecret: what a key Secret must hold, and the exact reason for each way it can be wrong (never an
// exception, never key material). listKeys, createKey and publishCert run against a real API server in
// key-manager.integration.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { parseCertificate } from '../../shared/crypto/certificate.js';
import { keyFixture, type KeyFixture } from '../../test/fixtures/keys/index.js';
import type { KeySource } from './key-names.js';
import { keyFromSecret } from './key-store.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const fixture = (name: KeyFixture): string => b64(keyFixture(name));
const CERT = parseCertificate(keyFixture('sealing-2048.crt'));

function secret(changes: { labels?: Record<string, string>; data?: Record<string, string> } = {}): V1Secret {
  return {
    metadata: { name: 'sigil-sealing-key-abcde', namespace: 'sigil-system', labels: changes.labels ?? { 'sigil.dev/sealing-key': 'active' } },
    type: 'kubernetes.io/tls',
    data: changes.data ?? { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': fixture('sealing-2048.key') },
  };
}

/** keyFromSecret's answer: the key's public fields, or the reason it was left out. */
function read(s: V1Secret, source: KeySource = 'sigil'): unknown {
  const reasons: string[] = [];
  const key = keyFromSecret(s, source, (reason) => reasons.push(reason));
  if (!key) return { reasons };
  assert.deepEqual(reasons, []);
  return { name: key.name, namespace: key.namespace, source: key.source, compromised: key.compromised, fingerprint: key.cert.fingerprint, rsaBits: key.privateKey.asymmetricKeyDetails?.modulusLength };
}

describe('keyFromSecret', () => {
  it('reads an active and a compromised Sigil key', () => {
    const expected = { name: 'sigil-sealing-key-abcde', namespace: 'sigil-system', source: 'sigil', fingerprint: CERT.fingerprint, rsaBits: 2048 };
    assert.deepEqual(read(secret()), { ...expected, compromised: false });
    assert.deepEqual(read(secret({ labels: { 'sigil.dev/sealing-key': 'compromised' } })), { ...expected, compromised: true });
  });

  it("reads Sealed Secrets' key as its backup holds it", () => {
    const backup = yaml.load(keyFixture('backup.yaml')) as { items: V1Secret[] };
    assert.deepEqual(read(backup.items[0]!, 'bitnami'), {
      name: 'sealed-secrets-keyx7k2p',
      namespace: 'kube-system',
      source: 'bitnami',
      compromised: false,
      fingerprint: CERT.fingerprint,
      rsaBits: 2048,
    });
  });

  it('accepts a PKCS#8 key and stringData', () => {
    const pkcs8 = secret({ data: { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': fixture('sealing-2048.pkcs8.key') } });
    assert.equal((read(pkcs8) as { fingerprint: string }).fingerprint, CERT.fingerprint);
    const text: V1Secret = { ...secret({ data: {} }), stringData: { 'tls.crt': keyFixture('sealing-2048.crt'), 'tls.key': keyFixture('sealing-2048.key') } };
    assert.equal((read(text) as { fingerprint: string }).fingerprint, CERT.fingerprint);
  });

  const cases: [string, V1Secret, KeySource, string][] = [
    ['no name', { ...secret(), metadata: { namespace: 'sigil-system' } }, 'sigil', 'the Secret has no name or namespace'],
    ['the other source’s label only', secret({ labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } }), 'sigil', 'no label sigil.dev/sealing-key'],
    ['a Sigil label read as a bitnami key', secret(), 'bitnami', 'no label sealedsecrets.bitnami.com/sealed-secrets-key'],
    ['an unknown state', secret({ labels: { 'sigil.dev/sealing-key': 'retired' } }), 'sigil', 'label sigil.dev/sealing-key is not one of active, compromised'],
    ['no tls.crt', secret({ data: { 'tls.key': fixture('sealing-2048.key') } }), 'sigil', 'no tls.crt'],
    ['an empty tls.key', secret({ data: { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': '' } }), 'sigil', 'no tls.key'],
    ['tls.crt not a certificate', secret({ data: { 'tls.crt': b64('hello'), 'tls.key': fixture('sealing-2048.key') } }), 'sigil', 'tls.crt: not a PEM certificate (no BEGIN CERTIFICATE block)'],
    ['tls.crt not RSA', secret({ data: { 'tls.crt': fixture('ec.crt'), 'tls.key': fixture('ec.key') } }), 'sigil', 'tls.crt: the certificate does not hold an RSA public key'],
    ['tls.key not a key', secret({ data: { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': fixture('sealing-2048.crt') } }), 'sigil', 'tls.key: no PEM private key (PKCS#1 or PKCS#8) found'],
    ['tls.key not RSA', secret({ data: { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': fixture('ec.key') } }), 'sigil', 'tls.key: private key 1 is not an RSA key'],
    ['tls.key of another certificate', secret({ data: { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': fixture('other-2048.key') } }), 'sigil', 'tls.key does not match tls.crt'],
    [
      'two keys in tls.key',
      secret({ data: { 'tls.crt': fixture('sealing-2048.crt'), 'tls.key': b64(keyFixture('sealing-2048.key') + keyFixture('other-2048.key')) } }),
      'sigil',
      'tls.key holds 2 keys, expected 1',
    ],
  ];
  for (const [name, s, source, reason] of cases) {
    it(`leaves out a Secret with ${name}: "${reason}"`, () => {
      assert.deepEqual(read(s, source), { reasons: [reason] });
    });
  }

  it('returns undefined without a callback', () => {
    assert.equal(keyFromSecret(secret({ labels: {} }), 'sigil'), undefined);
  });
});
