/**
 * The cluster-key value format, byte-for-byte the one Sealed Secrets uses, so values sealed by either tool
 * open with the other's keys. One value is sealed as:
 *
 * ```
 * sessionKey = 32 random bytes
 * rsaPart    = RSA-OAEP(publicKey, sessionKey, hash = SHA-256, MGF1 = SHA-256, label = scope label)
 * aesPart    = AES-256-GCM(sessionKey, plaintext, nonce = 12 zero bytes, no AAD) ‖ 16-byte tag
 * value      = uint16 big-endian len(rsaPart) ‖ rsaPart ‖ aesPart        (standard padded base64 on the wire)
 * ```
 *
 * The zero nonce is safe because every session key is fresh and used once. The length prefix carries the
 * RSA size, so any key size opens. This module does no I/O; randomness is a parameter so tests can pin it.
 */
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const SESSION_KEY_BYTES = 32;
const TAG_BYTES = 16;
const NONCE = Buffer.alloc(12);

/** Supplies `n` random bytes; `crypto.randomBytes` unless a test pins it. */
export type RandomSource = (n: number) => Buffer;

/** Why a value did not open; the caller names the object and key around it. */
export const OPEN_FAILURES = {
  truncated: 'the value is truncated',
  noKey: 'no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)',
  tampered: 'the value was altered after sealing (integrity check failed)',
} as const;

/** A value that could not be opened; `message` is one of OPEN_FAILURES and never contains key material. */
export class OpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenError';
  }
}

/** Seals `plaintext` for the holder of `publicKey`, bound to `label`. */
export function hybridEncrypt(
  publicKey: KeyObject,
  label: Buffer,
  plaintext: Buffer,
  random: RandomSource = randomBytes,
): Buffer {
  const sessionKey = random(SESSION_KEY_BYTES);
  const rsaPart = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label },
    sessionKey,
  );
  const cipher = createCipheriv('aes-256-gcm', sessionKey, NONCE);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(rsaPart.length);
  return Buffer.concat([prefix, rsaPart, body]);
}

/** The RSA part and the AES part of a sealed value; throws OpenError when the framing is short. */
export function splitValue(value: Buffer): { rsaPart: Buffer; aesPart: Buffer } {
  if (value.length < 2) throw new OpenError(OPEN_FAILURES.truncated);
  const rsaLength = value.readUInt16BE(0);
  if (value.length < 2 + rsaLength + TAG_BYTES) throw new OpenError(OPEN_FAILURES.truncated);
  return { rsaPart: value.subarray(2, 2 + rsaLength), aesPart: value.subarray(2 + rsaLength) };
}

/**
 * Recovers the session key with one private key, or returns undefined when that key (or label) does not fit.
 * Cheap enough to try several keys in turn: only the RSA step runs per key.
 */
export function openSessionKey(privateKey: KeyObject, label: Buffer, rsaPart: Buffer): Buffer | undefined {
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (Math.ceil(bits / 8) !== rsaPart.length) return undefined;
  try {
    const key = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label },
      rsaPart,
    );
    return key.length === SESSION_KEY_BYTES ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Decrypts and authenticates the AES part; throws OpenError when it was altered. */
export function openBody(sessionKey: Buffer, aesPart: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', sessionKey, NONCE);
  decipher.setAuthTag(aesPart.subarray(aesPart.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(aesPart.subarray(0, aesPart.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new OpenError(OPEN_FAILURES.tampered);
  }
}

/**
 * Opens a sealed value with the first of `privateKeys` that fits, and says which one did.
 * Throws OpenError: truncated framing, no key fits (wrong key or wrong label), or altered ciphertext.
 */
export function hybridDecrypt(
  privateKeys: readonly KeyObject[],
  label: Buffer,
  value: Buffer,
): { plaintext: Buffer; keyIndex: number } {
  const { rsaPart, aesPart } = splitValue(value);
  for (let i = 0; i < privateKeys.length; i++) {
    const sessionKey = openSessionKey(privateKeys[i]!, label, rsaPart);
    if (sessionKey) return { plaintext: openBody(sessionKey, aesPart), keyIndex: i };
  }
  throw new OpenError(OPEN_FAILURES.noKey);
}
