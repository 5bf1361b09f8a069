/**
 * Certificates and private keys: parsing the committed fixtures (test/fixtures/keys), the exact error for each
 * way an input is wrong, validity windows, and that a generated sealing key is well formed and seals.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import yaml from 'js-yaml';
import { assertCertificateValid, parseCertificate, parsePrivateKeys } from './certificate.js';
import { SEALING_CERT_CN, generateSealingKey, serialNumber } from './generate-key.js';
import type { GeneratedKey } from './generate-key.js';
import { hybridDecrypt, hybridEncrypt } from './hybrid.js';
import { scopeLabel } from './scope.js';
import { keyFixture } from '../../test/fixtures/keys/index.js';
import { independentOpen } from '../../test/independent/sealed-secrets-format.js';

/** `openssl x509 -in sealing-2048.crt -noout -fingerprint -sha256`, lowercased, colons removed. */
const SEALING_2048_FINGERPRINT = '74dd54a6eeaf932be8d6d42299756d79331ad64dc379c1a60695b30c526a0c92';

const cert2048 = keyFixture('sealing-2048.crt');
const key2048 = keyFixture('sealing-2048.key');
const otherKeyPem = keyFixture('other-2048.key');

/** The same key? Compared by public modulus and exponent. */
function assertSameRsaKey(actual: KeyObject, expected: KeyObject): void {
  const jwk = (k: KeyObject) => {
    const { n, e } = (k.type === 'public' ? k : createPublicKey(k)).export({ format: 'jwk' });
    return { n, e };
  };
  assert.deepEqual(jwk(actual), jwk(expected));
}

describe('parseCertificate', () => {
  it('parses the 2048 fixture: key, validity, fingerprint, pem', () => {
    const cert = parseCertificate(cert2048);
    assert.equal(cert.fingerprint, SEALING_2048_FINGERPRINT);
    assert.equal(cert.notBefore.toISOString(), '2025-01-01T00:00:00.000Z');
    assert.equal(cert.notAfter.toISOString(), '2125-01-01T00:00:00.000Z');
    assert.equal(cert.pem, cert2048);
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assertSameRsaKey(cert.publicKey, createPrivateKey(key2048));
  });

  it('takes the first certificate of a text with a key and several certificates', () => {
    const text = `${key2048}# a comment\n${cert2048}${keyFixture('sealing-4096.crt')}`;
    const cert = parseCertificate(text);
    assert.equal(cert.fingerprint, SEALING_2048_FINGERPRINT);
    assert.equal(cert.pem, cert2048);
  });

  it('parses CRLF line endings to the same fingerprint', () => {
    assert.equal(parseCertificate(cert2048.replace(/\n/g, '\r\n')).fingerprint, SEALING_2048_FINGERPRINT);
  });

  const rejections: { name: string; text: string; message: string }[] = [
    { name: 'garbage', text: 'hello, not a certificate', message: 'not a PEM certificate (no BEGIN CERTIFICATE block)' },
    { name: 'empty text', text: '', message: 'not a PEM certificate (no BEGIN CERTIFICATE block)' },
    { name: 'a private key only', text: key2048, message: 'not a PEM certificate (no BEGIN CERTIFICATE block)' },
    {
      name: 'a BEGIN CERTIFICATE block of garbage',
      text: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
      message: 'not a valid X.509 certificate',
    },
    {
      name: 'a certificate cut in half',
      text: cert2048.slice(0, 500) + '\n-----END CERTIFICATE-----\n',
      message: 'not a valid X.509 certificate',
    },
    { name: 'an EC certificate', text: keyFixture('ec.crt'), message: 'the certificate does not hold an RSA public key' },
  ];
  for (const { name, text, message } of rejections) {
    it(`rejects ${name}`, () => assert.throws(() => parseCertificate(text), { name: 'Error', message }));
  }
});

describe('assertCertificateValid', () => {
  const valid = parseCertificate(cert2048);
  const expired = parseCertificate(keyFixture('expired.crt'));
  const cases: { name: string; cert: typeof valid; now: string; message?: string }[] = [
    { name: 'inside the window', cert: valid, now: '2026-06-01T00:00:00.000Z' },
    { name: 'at notBefore exactly', cert: valid, now: '2025-01-01T00:00:00.000Z' },
    { name: 'at notAfter exactly', cert: valid, now: '2125-01-01T00:00:00.000Z' },
    {
      name: 'one ms after notAfter',
      cert: valid,
      now: '2125-01-01T00:00:00.001Z',
      message: 'the certificate expired on 2125-01-01T00:00:00.000Z',
    },
    {
      name: 'one ms before notBefore',
      cert: valid,
      now: '2024-12-31T23:59:59.999Z',
      message: 'the certificate is not valid before 2025-01-01T00:00:00.000Z',
    },
    { name: 'expired fixture today', cert: expired, now: '2026-06-01T00:00:00.000Z', message: 'the certificate expired on 2020-01-01T00:00:00.000Z' },
    { name: 'expired fixture, inside its window', cert: expired, now: '2019-06-01T00:00:00.000Z' },
  ];
  for (const { name, cert, now, message } of cases) {
    it(`${name} → ${message ?? 'valid'}`, () => {
      if (message === undefined) assert.equal(assertCertificateValid(cert, new Date(now)), undefined);
      else assert.throws(() => assertCertificateValid(cert, new Date(now)), { name: 'Error', message });
    });
  }
});

describe('parsePrivateKeys', () => {
  const expected2048 = createPrivateKey(key2048);
  const expectedOther = createPrivateKey(otherKeyPem);

  const accepted: { name: string; text: string; keys: KeyObject[] }[] = [
    { name: 'PKCS#1', text: key2048, keys: [expected2048] },
    { name: 'PKCS#8', text: keyFixture('sealing-2048.pkcs8.key'), keys: [expected2048] },
    { name: 'two keys, in order', text: key2048 + otherKeyPem, keys: [expected2048, expectedOther] },
    { name: 'PKCS#8 then PKCS#1', text: keyFixture('sealing-2048.pkcs8.key') + otherKeyPem, keys: [expected2048, expectedOther] },
    { name: 'a key among certificates', text: cert2048 + key2048 + cert2048, keys: [expected2048] },
    { name: 'a 4096-bit key', text: keyFixture('sealing-4096.key'), keys: [createPrivateKey(keyFixture('sealing-4096.key'))] },
  ];
  for (const { name, text, keys } of accepted) {
    it(`reads ${name}`, () => {
      const actual = parsePrivateKeys(text);
      assert.equal(actual.length, keys.length);
      actual.forEach((key, i) => {
        assert.equal(key.type, 'private');
        assertSameRsaKey(key, keys[i]!);
      });
    });
  }

  const corrupt = '-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n';
  const rejections: { name: string; text: string; message: string }[] = [
    { name: 'empty text', text: '', message: 'no PEM private key (PKCS#1 or PKCS#8) found' },
    { name: 'a certificate only', text: cert2048, message: 'no PEM private key (PKCS#1 or PKCS#8) found' },
    { name: 'a corrupt block', text: corrupt, message: 'private key 1 does not parse as PEM PKCS#1 or PKCS#8' },
    { name: 'a good key then a corrupt block', text: key2048 + corrupt, message: 'private key 2 does not parse as PEM PKCS#1 or PKCS#8' },
    { name: 'an EC key (PKCS#8)', text: keyFixture('ec.key'), message: 'private key 1 is not an RSA key' },
    { name: 'an RSA key then an EC key', text: key2048 + keyFixture('ec.key'), message: 'private key 2 is not an RSA key' },
  ];
  for (const { name, text, message } of rejections) {
    it(`rejects ${name}`, () => assert.throws(() => parsePrivateKeys(text), { name: 'Error', message }));
  }
});

describe('backup.yaml fixture', () => {
  it('is a v1 List of one active kubernetes.io/tls Secret holding the 2048 pair', () => {
    const list = yaml.load(keyFixture('backup.yaml')) as {
      apiVersion: string;
      kind: string;
      items: { kind: string; type: string; metadata: { labels: Record<string, string> }; data: Record<string, string> }[];
    };
    assert.equal(list.apiVersion, 'v1');
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 1);
    const [secret] = list.items;
    assert.equal(secret!.kind, 'Secret');
    assert.equal(secret!.type, 'kubernetes.io/tls');
    assert.deepEqual(secret!.metadata.labels, { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' });
    assert.deepEqual(Object.keys(secret!.data).sort(), ['tls.crt', 'tls.key']);
    const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
    assert.equal(parseCertificate(decode(secret!.data['tls.crt'])).fingerprint, SEALING_2048_FINGERPRINT);
    assert.equal(decode(secret!.data['tls.key']), key2048);
  });
});

describe('generateSealingKey', () => {
  const now = new Date('2030-05-06T07:08:09.000Z');
  let generated: GeneratedKey;
  before(async () => {
    generated = await generateSealingKey(2048, now, 10);
  });

  it('makes a PKCS#1 2048-bit RSA key', () => {
    assert.match(generated.keyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const [key, ...rest] = parsePrivateKeys(generated.keyPem);
    assert.equal(rest.length, 0);
    assert.equal(key!.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('makes a certificate parseCertificate accepts, valid from now for exactly 10 days', () => {
    const cert = parseCertificate(generated.certPem);
    assert.equal(cert.notBefore.toISOString(), '2030-05-06T07:08:09.000Z');
    assert.equal(cert.notAfter.toISOString(), '2030-05-16T07:08:09.000Z');
    assert.equal(assertCertificateValid(cert, now), undefined);
    assertSameRsaKey(cert.publicKey, createPrivateKey(generated.keyPem));
  });

  it('shapes the certificate like Sealed Secrets: CN=sealed-secret, self-issued, not a CA, serverAuth', () => {
    const x509 = new X509Certificate(generated.certPem);
    assert.equal(SEALING_CERT_CN, 'sealed-secret');
    assert.equal(x509.subject, 'CN=sealed-secret');
    assert.equal(x509.issuer, 'CN=sealed-secret');
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(x509.checkPrivateKey(createPrivateKey(generated.keyPem)), true);
  });

  it('self-signs: the signature verifies with its own key and not with another', () => {
    const x509 = new X509Certificate(generated.certPem);
    assert.equal(x509.verify(x509.publicKey), true);
    assert.equal(x509.verify(createPublicKey(cert2048)), false);
  });

  it('seals and opens with the generated pair (and the independent implementation agrees)', () => {
    const label = scopeLabel('strict', 'prod', 'db');
    const plaintext = Buffer.from('generated ✓', 'utf8');
    const value = hybridEncrypt(parseCertificate(generated.certPem).publicKey, label, plaintext);
    assert.deepEqual(hybridDecrypt(parsePrivateKeys(generated.keyPem), label, value), { plaintext, keyIndex: 0 });
    assert.deepEqual(independentOpen(generated.keyPem, 'prod/db', value.toString('base64')), plaintext);
  });
});

describe('serialNumber', () => {
  it('keeps DER minimal and positive even when the random bytes start with zeros', async () => {
    const zeros = (n: number): Buffer => Buffer.alloc(n);
    assert.equal(serialNumber(zeros), '01' + '00'.repeat(15));
    assert.equal(serialNumber(() => Buffer.from('ff'.repeat(16), 'hex')), '7f' + 'ff'.repeat(15));
    const { certPem } = await generateSealingKey(2048, new Date('2030-01-01T00:00:00Z'), 1, zeros);
    assert.equal(new X509Certificate(certPem).serialNumber, '01' + '00'.repeat(15));
  });
});
