/**
 * The value format, checked three ways: golden vectors with pinned randomness (AES parts computed once with
 * Python's `cryptography` AESGCM, the golden value made once by the independent implementation and checked to
 * open with Go's crypto/rsa + crypto/cipher as in Sealed Secrets' crypto.go); round trips against
 * test/independent in both directions; and exact OpenError messages for every way a value can be wrong.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPrivateKey, createPublicKey, publicEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { OPEN_FAILURES, OpenError, hybridDecrypt, hybridEncrypt, openBody, openSessionKey, splitValue } from './hybrid.js';
import type { RandomSource } from './hybrid.js';
import { scopeLabel } from './scope.js';
import type { Scope } from './scope.js';
import { keyFixture } from '../../test/fixtures/keys/index.js';
import { independentOpen, independentSeal } from '../../test/independent/sealed-secrets-format.js';

const pem = {
  cert2048: keyFixture('sealing-2048.crt'),
  key2048: keyFixture('sealing-2048.key'),
  cert4096: keyFixture('sealing-4096.crt'),
  key4096: keyFixture('sealing-4096.key'),
};
const pub2048 = createPublicKey(pem.cert2048);
const pub4096 = createPublicKey(pem.cert4096);
const key2048 = createPrivateKey(pem.key2048);
const key2048pkcs8 = createPrivateKey(keyFixture('sealing-2048.pkcs8.key'));
const key4096 = createPrivateKey(pem.key4096);
const otherKey = createPrivateKey(keyFixture('other-2048.key'));

const PROPERTY_RUNS = { numRuns: 100, seed: 20250101 } as const;
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Asserts `fn` throws an OpenError whose message is exactly OPEN_FAILURES[failure]. */
function assertOpenError(fn: () => unknown, failure: keyof typeof OPEN_FAILURES): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OpenError, `expected OpenError, got ${String(err)}`);
    assert.equal(err.name, 'OpenError');
    assert.equal(err.message, OPEN_FAILURES[failure]);
    return true;
  });
}

/** A copy of `value` with bit `bit` (0 = least significant) of byte `at` flipped. */
function flipBit(value: Buffer, at: number, bit: number): Buffer {
  const copy = Buffer.from(value);
  copy[at]! ^= 1 << bit;
  return copy;
}

/** Session key 00 01 02 … 1f, whatever the caller asks for (it must ask for 32). */
const SESSION_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const pinnedRandom: RandomSource = (n) => {
  assert.equal(n, 32);
  return Buffer.from(SESSION_KEY);
};

/**
 * Made once with `independentSeal(sealing-2048.crt, 'prod/db', …)`; opens with Go's HybridDecrypt too.
 * Layout: 2-byte prefix (256) ‖ 256-byte RSA part ‖ 19-byte GCM ciphertext ‖ 16-byte tag = 293 bytes.
 */
const GOLDEN = {
  label: scopeLabel('strict', 'prod', 'db'),
  plaintext: utf8('golden: s3cr3t-✓\n'),
  value: Buffer.from(
    'AQDRmdAmcaV058KAxaLtZ9Coqz2RME9K+pcfmxjaszIpZfzQUlTwfZRJmlHjibo4A8np4/+KJwwT8xzRcm3LWpibYF4NUQQVxGAzaGOuCvFkS1Lp' +
      'm3Ak+SlD5fyw58+Qq6skB9ZScCgkIwdpNV+IqL5Cx3ir7FBG4ZESUxTZZyjakS7kDvhdxLIp2CLBy7WS5dZHzfi0vwVUflimT41Y329TU9T1dmo3' +
      'yaSs82GX6jY7pOZ7bG6wUEFlvErtE3zr80QLZfnLLcfYPQRf5pQg+TRHbf0BliSe8NdLYRiAZWcejLGbP2gF9ptwonPbuhe1iy8xI7RBhvZJBVzQ' +
      'Ets9WfJx+V+7pl9a1k4Dw2B5fILmDcyWCDSqsXo+YnC4VJNzegmOHGw=',
    'base64',
  ),
};
const GOLDEN_BODY_START = 2 + 256;
const GOLDEN_TAG_START = GOLDEN.value.length - 16;

describe('golden vectors', () => {
  it('the golden value has the layout its comment claims', () => {
    assert.equal(GOLDEN.value.length, 293);
    assert.equal(GOLDEN.value.readUInt16BE(0), 256);
    const { rsaPart, aesPart } = splitValue(GOLDEN.value);
    assert.equal(rsaPart.length, 256);
    assert.equal(aesPart.length, GOLDEN.plaintext.length + 16);
  });

  it('hybridDecrypt opens the golden value to the exact plaintext', () => {
    assert.deepEqual(hybridDecrypt([key2048], GOLDEN.label, GOLDEN.value), { plaintext: GOLDEN.plaintext, keyIndex: 0 });
  });

  // AES parts: Python `AESGCM(bytes(range(32))).encrypt(bytes(12), plaintext, None).hex()`.
  const aesVectors = [
    { name: 'empty', plaintext: Buffer.alloc(0), aesHex: 'f05d76ae4ab99fe5a6f69b3148c2363d' },
    {
      name: 'ascii',
      plaintext: utf8('postgres://app:hunter2@db:5432/app'),
      aesHex:
        '7ed3c6aad25ee6ce32878654685cabf1a72d22365ab3204be2a486b7f6cd72373e2f0dfc221eaa217a94fb7c18c9e50e0dab',
    },
    {
      name: 'binary',
      plaintext: Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0xc3, 0x28]),
      aesHex: '0e4335a1bf214095e71db31e0ff56d81951507b0b50e1698',
    },
  ];
  const keySizes = [
    { bits: 2048, publicKey: pub2048, privateKey: key2048, rsaBytes: 256 },
    { bits: 4096, publicKey: pub4096, privateKey: key4096, rsaBytes: 512 },
  ];
  for (const { name, plaintext, aesHex } of aesVectors) {
    for (const { bits, publicKey, privateKey, rsaBytes } of keySizes) {
      it(`${name} plaintext, ${bits}-bit key: prefix ${rsaBytes}, exact AES part, opens`, () => {
        const label = scopeLabel('strict', 'prod', 'db');
        const value = hybridEncrypt(publicKey, label, plaintext, pinnedRandom);
        assert.equal(value.readUInt16BE(0), rsaBytes);
        assert.equal(value.length, 2 + rsaBytes + plaintext.length + 16);
        assert.equal(value.subarray(2 + rsaBytes).toString('hex'), aesHex);
        const { rsaPart } = splitValue(value);
        assert.deepEqual(openSessionKey(privateKey, label, rsaPart), SESSION_KEY);
        assert.deepEqual(hybridDecrypt([privateKey], label, value), { plaintext, keyIndex: 0 });
      });
    }
  }
});

describe('round trips against the independent implementation', () => {
  const scopes: { scope: Scope; label: string }[] = [
    { scope: 'strict', label: 'prod/db' },
    { scope: 'namespace-wide', label: 'prod' },
    { scope: 'cluster-wide', label: '' },
  ];
  const plaintext = utf8('user=app\npassword=hunter2 ✓\n');
  for (const { scope, label } of scopes) {
    it(`${scope}: scopeLabel is '${label}'`, () => {
      assert.deepEqual(scopeLabel(scope, 'prod', 'db'), utf8(label));
    });
    for (const { bits, cert, keyPem, publicKey, privateKey } of [
      { bits: 2048, cert: pem.cert2048, keyPem: pem.key2048, publicKey: pub2048, privateKey: key2048 },
      { bits: 4096, cert: pem.cert4096, keyPem: pem.key4096, publicKey: pub4096, privateKey: key4096 },
    ]) {
      it(`${scope}, ${bits}-bit: hybridEncrypt → independentOpen`, () => {
        const value = hybridEncrypt(publicKey, scopeLabel(scope, 'prod', 'db'), plaintext);
        assert.deepEqual(independentOpen(keyPem, label, value.toString('base64')), plaintext);
      });
      it(`${scope}, ${bits}-bit: independentSeal → hybridDecrypt`, () => {
        const value = Buffer.from(independentSeal(cert, label, plaintext), 'base64');
        assert.deepEqual(hybridDecrypt([privateKey], scopeLabel(scope, 'prod', 'db'), value), { plaintext, keyIndex: 0 });
      });
    }
  }
});

describe('rejections', () => {
  describe('wrong label → noKey', () => {
    const cases: { name: string; sealedFor: Buffer; openedAs: Buffer }[] = [
      { name: 'other name', sealedFor: GOLDEN.label, openedAs: scopeLabel('strict', 'prod', 'cache') },
      { name: 'other namespace', sealedFor: GOLDEN.label, openedAs: scopeLabel('strict', 'staging', 'db') },
      { name: 'strict opened namespace-wide', sealedFor: GOLDEN.label, openedAs: scopeLabel('namespace-wide', 'prod', 'db') },
      { name: 'strict opened cluster-wide', sealedFor: GOLDEN.label, openedAs: scopeLabel('cluster-wide', 'prod', 'db') },
      { name: 'namespace-wide opened strict', sealedFor: utf8('prod'), openedAs: GOLDEN.label },
      { name: 'namespace-wide, other namespace', sealedFor: utf8('prod'), openedAs: utf8('staging') },
      { name: 'cluster-wide opened namespace-wide', sealedFor: Buffer.alloc(0), openedAs: utf8('prod') },
      { name: 'label differs only in case', sealedFor: GOLDEN.label, openedAs: utf8('Prod/db') },
    ];
    for (const { name, sealedFor, openedAs } of cases) {
      it(name, () => {
        const value = sealedFor === GOLDEN.label ? GOLDEN.value : hybridEncrypt(pub2048, sealedFor, GOLDEN.plaintext);
        assertOpenError(() => hybridDecrypt([key2048], openedAs, value), 'noKey');
      });
    }
  });

  describe('wrong key → noKey', () => {
    const cases: { name: string; keys: KeyObject[] }[] = [
      { name: 'an unrelated 2048-bit key', keys: [otherKey] },
      { name: 'a 4096-bit key', keys: [key4096] },
      { name: 'no keys at all', keys: [] },
    ];
    for (const { name, keys } of cases) {
      it(name, () => assertOpenError(() => hybridDecrypt(keys, GOLDEN.label, GOLDEN.value), 'noKey'));
    }
  });

  describe('a flipped bit in the length prefix', () => {
    // The golden value is 293 bytes, so a prefix L frames correctly while 2 + L + 16 <= 293 (L <= 275); then
    // the RSA part is not 256 bytes and no 2048-bit key fits it.
    const cases: { at: 0 | 1; bit: number; length: number; expect: keyof typeof OPEN_FAILURES }[] = [
      { at: 0, bit: 0, length: 0, expect: 'noKey' },
      { at: 0, bit: 1, length: 768, expect: 'truncated' },
      { at: 0, bit: 2, length: 1280, expect: 'truncated' },
      { at: 0, bit: 3, length: 2304, expect: 'truncated' },
      { at: 0, bit: 4, length: 4352, expect: 'truncated' },
      { at: 0, bit: 5, length: 8448, expect: 'truncated' },
      { at: 0, bit: 6, length: 16640, expect: 'truncated' },
      { at: 0, bit: 7, length: 33024, expect: 'truncated' },
      { at: 1, bit: 0, length: 257, expect: 'noKey' },
      { at: 1, bit: 1, length: 258, expect: 'noKey' },
      { at: 1, bit: 2, length: 260, expect: 'noKey' },
      { at: 1, bit: 3, length: 264, expect: 'noKey' },
      { at: 1, bit: 4, length: 272, expect: 'noKey' },
      { at: 1, bit: 5, length: 288, expect: 'truncated' },
      { at: 1, bit: 6, length: 320, expect: 'truncated' },
      { at: 1, bit: 7, length: 384, expect: 'truncated' },
    ];
    for (const { at, bit, length, expect } of cases) {
      it(`byte ${at} bit ${bit} (length ${length}) → ${expect}`, () => {
        const value = flipBit(GOLDEN.value, at, bit);
        assert.equal(value.readUInt16BE(0), length);
        assertOpenError(() => hybridDecrypt([key2048, otherKey, key4096], GOLDEN.label, value), expect);
      });
    }
  });

  it('a flipped bit in every byte of the RSA part → noKey', () => {
    for (let at = 2; at < GOLDEN_BODY_START; at++) {
      const value = flipBit(GOLDEN.value, at, at % 8);
      assertOpenError(() => hybridDecrypt([key2048], GOLDEN.label, value), 'noKey');
    }
  });

  it('every single-bit flip in the GCM ciphertext → tampered', () => {
    for (let at = GOLDEN_BODY_START; at < GOLDEN_TAG_START; at++) {
      for (let bit = 0; bit < 8; bit++) {
        assertOpenError(() => hybridDecrypt([key2048], GOLDEN.label, flipBit(GOLDEN.value, at, bit)), 'tampered');
      }
    }
  });

  it('every single-bit flip in the tag → tampered', () => {
    for (let at = GOLDEN_TAG_START; at < GOLDEN.value.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        assertOpenError(() => hybridDecrypt([key2048], GOLDEN.label, flipBit(GOLDEN.value, at, bit)), 'tampered');
      }
    }
  });

  describe('truncation', () => {
    // Shorter than prefix + 256-byte RSA part + tag (274) cannot even be framed; from 274 on the framing holds,
    // the session key opens, and GCM refuses the shortened body.
    const cases: { length: number; expect: keyof typeof OPEN_FAILURES }[] = [];
    for (let length = 0; length < 2 + 256 + 16; length += 7) cases.push({ length, expect: 'truncated' });
    cases.push(
      { length: 1, expect: 'truncated' },
      { length: 2, expect: 'truncated' },
      { length: 258, expect: 'truncated' },
      { length: 273, expect: 'truncated' },
      { length: 274, expect: 'tampered' },
      { length: 275, expect: 'tampered' },
      { length: GOLDEN.value.length - 16, expect: 'tampered' },
      { length: GOLDEN.value.length - 1, expect: 'tampered' },
    );
    for (const { length, expect } of cases) {
      it(`first ${length} bytes → ${expect}`, () => {
        assertOpenError(() => hybridDecrypt([key2048], GOLDEN.label, GOLDEN.value.subarray(0, length)), expect);
      });
    }
    it('one byte appended → tampered', () => {
      const value = Buffer.concat([GOLDEN.value, Buffer.from([0])]);
      assertOpenError(() => hybridDecrypt([key2048], GOLDEN.label, value), 'tampered');
    });
  });

  describe('an RSA part that opens to a session key of the wrong size → noKey', () => {
    for (const size of [0, 16, 31, 33]) {
      it(`${size} bytes`, () => {
        const rsaPart = publicEncrypt(
          { key: pub2048, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: GOLDEN.label },
          Buffer.alloc(size, 1),
        );
        const value = Buffer.concat([Buffer.from([0x01, 0x00]), rsaPart, Buffer.alloc(16 + 5)]);
        assert.equal(openSessionKey(key2048, GOLDEN.label, rsaPart), undefined);
        assertOpenError(() => hybridDecrypt([key2048], GOLDEN.label, value), 'noKey');
      });
    }
  });

  it('openBody with another session key → tampered', () => {
    const { aesPart } = splitValue(GOLDEN.value);
    assertOpenError(() => openBody(Buffer.alloc(32, 7), aesPart), 'tampered');
  });
});

describe('several keys', () => {
  const value2048 = GOLDEN.value;
  const value4096 = hybridEncrypt(pub4096, GOLDEN.label, GOLDEN.plaintext);
  const cases: { name: string; keys: KeyObject[]; value: Buffer; keyIndex: number }[] = [
    { name: '[other, right] → 1', keys: [otherKey, key2048], value: value2048, keyIndex: 1 },
    { name: '[right, other] → 0', keys: [key2048, otherKey], value: value2048, keyIndex: 0 },
    { name: '[4096, right] with a 2048 value → 1', keys: [key4096, key2048], value: value2048, keyIndex: 1 },
    { name: '[other, 4096, right] → 2', keys: [otherKey, key4096, key2048], value: value2048, keyIndex: 2 },
    { name: '[2048, other, 4096] with a 4096 value → 2', keys: [key2048, otherKey, key4096], value: value4096, keyIndex: 2 },
    { name: 'the PKCS#8 copy of the right key → 0', keys: [key2048pkcs8], value: value2048, keyIndex: 0 },
    { name: 'the right key twice → the first', keys: [otherKey, key2048, key2048pkcs8], value: value2048, keyIndex: 1 },
  ];
  for (const { name, keys, value, keyIndex } of cases) {
    it(name, () => {
      assert.deepEqual(hybridDecrypt(keys, GOLDEN.label, value), { plaintext: GOLDEN.plaintext, keyIndex });
    });
  }

  it('openSessionKey skips a key whose size does not match the RSA part', () => {
    assert.equal(openSessionKey(key4096, GOLDEN.label, splitValue(value2048).rsaPart), undefined);
    assert.equal(openSessionKey(key2048, GOLDEN.label, splitValue(value4096).rsaPart), undefined);
    assert.equal(openSessionKey(otherKey, GOLDEN.label, splitValue(value2048).rsaPart), undefined);
  });
});

describe('properties', () => {
  const label = fc.string({ unit: 'binary', maxLength: 80 }).map(utf8);

  it('binary plaintexts 0..4096 bytes, any label: open(seal(x)) = x', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), label, (bytes, l) => {
        const plaintext = Buffer.from(bytes);
        assert.deepEqual(hybridDecrypt([otherKey, key2048], l, hybridEncrypt(pub2048, l, plaintext)), { plaintext, keyIndex: 1 });
      }),
      { ...PROPERTY_RUNS, examples: [[new Uint8Array(0), Buffer.alloc(0)]] },
    );
  });

  it('unicode strings: open(seal(s)) decodes to s', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 1000 }), label, (s, l) => {
        assert.equal(hybridDecrypt([key2048], l, hybridEncrypt(pub2048, l, utf8(s))).plaintext.toString('utf8'), s);
      }),
      { ...PROPERTY_RUNS, examples: [['', Buffer.alloc(0)]] },
    );
  });

  it('sealed with label A never opens with label B ≠ A', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), label, label, (bytes, a, b) => {
        fc.pre(!a.equals(b));
        const value = hybridEncrypt(pub2048, a, Buffer.from(bytes));
        assertOpenError(() => hybridDecrypt([key2048], b, value), 'noKey');
      }),
      { ...PROPERTY_RUNS, examples: [[new Uint8Array(0), Buffer.alloc(0), utf8('prod')]] },
    );
  });

  it('agrees with the independent implementation both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.string({ unit: 'binary', maxLength: 80 }), (bytes, l) => {
        const plaintext = Buffer.from(bytes);
        assert.deepEqual(independentOpen(pem.key2048, l, hybridEncrypt(pub2048, utf8(l), plaintext).toString('base64')), plaintext);
        const sealed = Buffer.from(independentSeal(pem.cert2048, l, plaintext), 'base64');
        assert.deepEqual(hybridDecrypt([key2048], utf8(l), sealed).plaintext, plaintext);
      }),
      PROPERTY_RUNS,
    );
  });
});
