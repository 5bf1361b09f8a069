// The key ring: which key is newest, the order keys are tried in, how many RSA operations an unseal costs
// (counted exactly through the ring's injectable openSessionKey), and errors word for word as unsealSecret's.
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { before, describe, it } from 'node:test';
import { parseCertificate, parsePrivateKeys } from '../../shared/crypto/certificate.js';
import { generateSealingKey } from '../../shared/crypto/generate-key.js';
import { openSessionKey } from '../../shared/crypto/hybrid.js';
import type { SealedSecret } from '../../shared/manifest/sealed-secret.js';
import type { PlainSecret } from '../../shared/manifest/secret.js';
import { sealSecret } from '../../shared/sealing/seal-secret.js';
import { unsealSecret } from '../../shared/sealing/unseal-secret.js';
import { KeyRing, type SealingKey, type SessionKeyOpener } from './key-ring.js';

const T0 = Date.UTC(2026, 0, 1);
const NO_KEY = 'no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)';

/** 120 distinct RSA 2048 keys, `k0` (oldest, notBefore T0) … `k119` (newest, T0 + 119 s). */
let pool: SealingKey[] = [];

before(async () => {
  const made = await Promise.all(Array.from({ length: 120 }, (_, i) => generateSealingKey(2048, new Date(T0 + i * 1000))));
  pool = made.map(({ keyPem, certPem }, i) => ({
    name: `k${i}`,
    namespace: 'sigil-system',
    privateKey: parsePrivateKeys(keyPem)[0]!,
    cert: parseCertificate(certPem),
    source: 'sigil',
    compromised: false,
  }));
});

/** Key `i` of the pool, with changes. */
function key(i: number, changes: Partial<SealingKey> = {}): SealingKey {
  return { ...pool[i]!, ...changes };
}

/** A ring whose RSA attempts are recorded by key name, in order. */
function countingRing(keys: SealingKey[]): { ring: KeyRing; tried: string[] } {
  const names = new Map<KeyObject, string>(keys.map((k) => [k.privateKey, k.name]));
  const tried: string[] = [];
  const counting: SessionKeyOpener = (privateKey, label, rsaPart) => {
    tried.push(names.get(privateKey) ?? '?');
    return openSessionKey(privateKey, label, rsaPart);
  };
  const ring = new KeyRing({ openSessionKey: counting });
  for (const k of keys) ring.upsert(k);
  return { ring, tried };
}

function plain(data: Record<string, string>): PlainSecret {
  return {
    name: 'db',
    namespace: 'prod',
    labels: { app: 'db' },
    annotations: { team: 'data' },
    type: 'kubernetes.io/basic-auth',
    immutable: true,
    data: new Map(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
    where: 'test',
  };
}

/** A SealedSecret whose values are sealed for the given keys, one key per value. */
function sealedFor(values: Record<string, SealingKey>): SealedSecret {
  const encryptedData = new Map<string, string>();
  let first: SealedSecret | undefined;
  for (const [name, k] of Object.entries(values)) {
    const one = sealSecret(plain({ [name]: `${name}-secret` }), { publicKey: k.cert.publicKey, scope: 'strict', api: 'sigil', defaultNamespace: '' });
    first ??= one;
    encryptedData.set(name, one.encryptedData.get(name)!);
  }
  return { ...first!, encryptedData };
}

const THREE = (k: SealingKey): SealedSecret => sealedFor({ user: k, password: k, host: k });
const base64 = (s: string): string => Buffer.from(s).toString('base64');

describe('KeyRing: newest and usable', () => {
  it('an empty ring has no newest key', () => {
    const ring = new KeyRing();
    assert.equal(ring.newest(), undefined);
    assert.deepEqual(ring.usable(), []);
    assert.equal(ring.size(), 0);
  });

  it('picks the latest notBefore among sigil and bitnami keys, never a compromised one', () => {
    const ring = new KeyRing();
    ring.upsert(key(1));
    ring.upsert(key(3, { name: 'bitnami-3', namespace: 'kube-system', source: 'bitnami' }));
    ring.upsert(key(4, { compromised: true }));
    assert.equal(ring.newest()?.name, 'bitnami-3');
    assert.deepEqual(ring.usable().map((k) => k.name), ['bitnami-3', 'k1']);
    assert.equal(ring.size(), 3);

    // Same notBefore as the bitnami key: Sigil's wins the tie.
    ring.upsert(key(3, { name: 'sigil-3' }));
    assert.deepEqual(ring.usable().map((k) => k.name), ['sigil-3', 'bitnami-3', 'k1']);

    // k4 relabelled active again, then removed.
    ring.upsert(key(4));
    assert.equal(ring.newest()?.name, 'k4');
    assert.equal(ring.remove('k4'), true);
    assert.equal(ring.remove('k4'), false);
    assert.equal(ring.newest()?.name, 'sigil-3');
    assert.equal(ring.size(), 3);
  });

  it('usable() is a copy: changing it does not change the ring', () => {
    const ring = new KeyRing();
    ring.upsert(key(1));
    ring.usable().pop();
    assert.deepEqual(ring.usable().map((k) => k.name), ['k1']);
  });
});

describe('KeyRing.unseal: the order keys are tried in', () => {
  const five = (): SealingKey[] => [0, 1, 2, 3, 4].map((i) => key(i));

  it('the right hint: one RSA operation per value', () => {
    const { ring, tried } = countingRing(five());
    const { secret, keyName, keyNames } = ring.unseal(THREE(key(1)), 'k1');
    assert.deepEqual(tried, ['k1', 'k1', 'k1']);
    assert.equal(keyName, 'k1');
    assert.deepEqual([...keyNames], [['user', 'k1'], ['password', 'k1'], ['host', 'k1']]);
    assert.deepEqual(secret.data, { user: base64('user-secret'), password: base64('password-secret'), host: base64('host-secret') });
  });

  it('no hint: newest first for the first value only, then the key that opened it', () => {
    const { ring, tried } = countingRing(five());
    assert.equal(ring.unseal(THREE(key(1))).keyName, 'k1');
    assert.deepEqual(tried, ['k4', 'k3', 'k2', 'k1', 'k1', 'k1']);
  });

  it('a wrong hint: the hinted key, then newest first', () => {
    const { ring, tried } = countingRing(five());
    ring.unseal(THREE(key(1)), 'k2');
    assert.deepEqual(tried, ['k2', 'k4', 'k3', 'k1', 'k1', 'k1']);
  });

  it('ignores a hint naming a compromised or unknown key', () => {
    const keys = five();
    keys[3] = key(3, { compromised: true });
    const { ring, tried } = countingRing(keys);
    ring.unseal(THREE(key(1)), 'k3');
    ring.unseal(THREE(key(1)), 'nope');
    assert.deepEqual(tried, ['k4', 'k2', 'k1', 'k1', 'k1', 'k4', 'k2', 'k1', 'k1', 'k1']);
  });

  it('values sealed with different keys: the previous value’s key first, then the full search', () => {
    const { ring, tried } = countingRing(five());
    const { keyName, keyNames } = ring.unseal(sealedFor({ a: key(1), b: key(3), c: key(3) }));
    assert.deepEqual(tried, ['k4', 'k3', 'k2', 'k1', 'k1', 'k4', 'k3', 'k3']);
    assert.equal(keyName, 'k1');
    assert.deepEqual([...keyNames], [['a', 'k1'], ['b', 'k3'], ['c', 'k3']]);
  });

  it('makes the Secret unsealSecret makes, for a SealedSecret with no values too', () => {
    const ring = new KeyRing();
    ring.upsert(key(2));
    const ss = THREE(key(2));
    assert.deepEqual(ring.unseal(ss).secret, unsealSecret(ss, [key(2).privateKey]).secret);
    assert.deepEqual(ring.unseal({ ...ss, encryptedData: new Map() }), {
      secret: unsealSecret({ ...ss, encryptedData: new Map() }, []).secret,
      keyName: '',
      keyNames: new Map(),
    });
  });
});

describe('KeyRing.unseal: failures, word for word as unsealSecret', () => {
  const refused = (ss: SealedSecret, ringKeys: SealingKey[], dataKey: string, why: string): void => {
    const { ring } = countingRing(ringKeys);
    const expected = { name: 'StalledError', reason: 'DecryptFailed', message: `SealedSecret prod/db: key ${dataKey}: ${why}` };
    assert.throws(() => ring.unseal(ss), expected);
    assert.throws(() => unsealSecret(ss, ringKeys.filter((k) => !k.compromised).map((k) => k.privateKey)), expected);
  };

  it('no key of the ring opens it', () => {
    refused(THREE(key(9)), [key(0), key(1), key(2)], 'user', NO_KEY);
    refused(THREE(key(9)), [], 'user', NO_KEY);
  });

  it('only a compromised key would open it', () => {
    refused(THREE(key(1)), [key(0), key(1, { compromised: true })], 'user', NO_KEY);
  });

  it('the second value opens with no key', () => {
    refused(sealedFor({ a: key(1), b: key(9) }), [key(0), key(1)], 'b', NO_KEY);
  });

  it('altered, truncated, not base64', () => {
    const ss = THREE(key(1));
    const bytes = Buffer.from(ss.encryptedData.get('password')!, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    const altered = new Map(ss.encryptedData).set('password', bytes.toString('base64'));
    refused({ ...ss, encryptedData: altered }, [key(1)], 'password', 'the value was altered after sealing (integrity check failed)');
    refused({ ...ss, encryptedData: new Map([['user', 'AAE=']]) }, [key(1)], 'user', 'the value is truncated');
    refused({ ...ss, encryptedData: new Map([['user', 'not base64!']]) }, [key(1)], 'user', 'the value is not valid base64');
  });

  it('refuses a Vault-sealed object before trying any key', () => {
    const { ring, tried } = countingRing([key(1)]);
    assert.throws(() => ring.unseal({ ...THREE(key(1)), vault: { mount: 'transit', key: 'app' } }), {
      name: 'StalledError',
      reason: 'VaultSealed',
      message: 'SealedSecret prod/db is sealed with Vault transit key app, not a cluster key',
    });
    assert.deepEqual(tried, []);
  });
});

describe('KeyRing.unseal: cost with 1, 10 and 120 keys (3 values)', () => {
  for (const n of [1, 10, 120]) {
    it(`${n} keys`, (t) => {
      const { ring, tried } = countingRing(pool.slice(0, n));
      const ss = THREE(key(0));
      const cost = (sealed: SealedSecret, hint: string | undefined): { rsa: number; ms: number } => {
        tried.length = 0;
        ring.unseal(sealed, hint);
        const rsa = tried.length;
        const rounds = 20;
        const started = performance.now();
        for (let i = 0; i < rounds; i++) ring.unseal(sealed, hint);
        return { rsa, ms: (performance.now() - started) / rounds };
      };
      const hinted = cost(ss, 'k0');
      const unhinted = cost(ss, undefined);
      const newest = cost(THREE(key(n - 1)), undefined);
      t.diagnostic(
        `${n} keys: hinted ${hinted.rsa} RSA ops, ${hinted.ms.toFixed(2)} ms; unhinted ${unhinted.rsa} RSA ops, ${unhinted.ms.toFixed(2)} ms; ` +
          `unhinted, sealed for the newest ${newest.rsa} RSA ops, ${newest.ms.toFixed(2)} ms`,
      );
      assert.equal(hinted.rsa, 3);
      assert.equal(unhinted.rsa, n + 2);
      assert.equal(newest.rsa, 3);
      assert.equal(ring.unseal(ss).keyName, 'k0');
    });
  }
});
