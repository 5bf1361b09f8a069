/**
 * Parsing sealing certificates and private keys, on node:crypto. No I/O here: callers read the PEM text.
 */
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** What `seal` needs from a sealing certificate. */
export interface SealingCert {
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER certificate, hex: names a key without showing it. */
  fingerprint: string;
  pem: string;
}

/**
 * Parses the first certificate of a PEM text with node:crypto (no forge on the sealing path: it loads in a
 * fraction of the time). Throws Error('not a PEM certificate …') for anything else.
 */
export function parseCertificate(pem: string): SealingCert {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error('not a PEM certificate (no BEGIN CERTIFICATE block)');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(match[0]);
  } catch {
    throw new Error('not a valid X.509 certificate');
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') throw new Error('the certificate does not hold an RSA public key');
  return {
    publicKey: cert.publicKey,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    pem: match[0] + '\n',
  };
}

/** Throws Error naming the expiry when `now` is outside the certificate's validity. */
export function assertCertificateValid(cert: SealingCert, now: Date): void {
  if (now > cert.notAfter) throw new Error(`the certificate expired on ${cert.notAfter.toISOString()}`);
  if (now < cert.notBefore) throw new Error(`the certificate is not valid before ${cert.notBefore.toISOString()}`);
}

/**
 * Every RSA private key in a PEM text (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY` blocks).
 * Throws Error when a block does not parse or the text holds none.
 */
export function parsePrivateKeys(pem: string): KeyObject[] {
  const blocks = pem.match(/-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END (RSA )?PRIVATE KEY-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM private key (PKCS#1 or PKCS#8) found');
  return blocks.map((block, i) => {
    let key: KeyObject;
    try {
      key = createPrivateKey(block);
    } catch {
      throw new Error(`private key ${i + 1} does not parse as PEM PKCS#1 or PKCS#8`);
    }
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`private key ${i + 1} is not an RSA key`);
    return key;
  });
}
