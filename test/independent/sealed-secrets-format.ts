/**
 * A second, independent implementation of Sealed Secrets' value format, for tests only.
 *
 * Why it exists: the project's tests cross-check `shared/crypto/hybrid.ts` against it, in both directions,
 * until the real kubeseal / controller is available to the test suite. It is written from the format alone
 * (Sealed Secrets' `pkg/crypto/crypto.go`, HybridEncrypt / HybridDecrypt) directly on node:crypto, and
 * deliberately imports nothing from `shared/`, so that a mistake there cannot cancel out here. Keep it that
 * way: short enough to check by eye against the layout below, and no shared code.
 *
 *   value = uint16 BE len(rsa) ‖ rsa ‖ gcm
 *   rsa   = RSA-OAEP(SHA-256 for hash and MGF1, label)(sessionKey)      sessionKey = 32 random bytes
 *   gcm   = AES-256-GCM(sessionKey, nonce = 12 zero bytes, no AAD)(plaintext) ‖ 16-byte tag
 *   on the wire: standard padded base64 (Go's base64.StdEncoding)
 *
 * `label` is the OAEP label as text: `<namespace>/<name>`, `<namespace>` or `` by scope.
 */
import { constants, createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';

const oaep = (label: string) =>
  ({ padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(label, 'utf8') }) as const;

/** Seals `plaintext` for the certificate's RSA key under `label`; returns standard base64. */
export function independentSeal(certPem: string, label: string, plaintext: Buffer): string {
  const sessionKey = randomBytes(32);
  const rsa = publicEncrypt({ key: createPublicKey(certPem), ...oaep(label) }, sessionKey);
  const gcm = createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12), { authTagLength: 16 });
  const sealed = Buffer.concat([gcm.update(plaintext), gcm.final(), gcm.getAuthTag()]);
  const length = Buffer.from([rsa.length >> 8, rsa.length & 0xff]);
  return Buffer.concat([length, rsa, sealed]).toString('base64');
}

/** Opens a standard-base64 value with the PEM private key under `label`; throws Error when it does not open. */
export function independentOpen(keyPem: string, label: string, base64: string): Buffer {
  const value = Buffer.from(base64, 'base64');
  if (value.toString('base64') !== base64) throw new Error('not standard padded base64');
  if (value.length < 2) throw new Error('too short');
  const rsaLength = (value[0]! << 8) | value[1]!;
  if (value.length < 2 + rsaLength + 16) throw new Error('too short');
  const rsa = value.subarray(2, 2 + rsaLength);
  const sealed = value.subarray(2 + rsaLength);
  const sessionKey = privateDecrypt({ key: createPrivateKey(keyPem), ...oaep(label) }, rsa);
  if (sessionKey.length !== 32) throw new Error('session key is not 32 bytes');
  const gcm = createDecipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12), { authTagLength: 16 });
  gcm.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([gcm.update(sealed.subarray(0, sealed.length - 16)), gcm.final()]);
}
