// Secret → SealedSecret → Secret through the shared sealing code, including awkward key names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCertificate, parsePrivateKeys } from '../crypto/certificate.js';
import { SCOPES } from '../crypto/scope.js';
import type { PlainSecret } from '../manifest/secret.js';
import { keyFixture } from '../../test/fixtures/keys/index.js';
import { sealSecret } from './seal-secret.js';
import { unsealSecret } from './unseal-secret.js';

const cert = parseCertificate(keyFixture('sealing-2048.crt'));
const keys = parsePrivateKeys(keyFixture('sealing-2048.key'));
const other = parsePrivateKeys(keyFixture('other-2048.key'));

function plain(data: Map<string, Buffer>, namespace = 'prod'): PlainSecret {
  return { name: 'db', namespace, labels: { app: 'db' }, annotations: {}, type: 'Opaque', data, where: 'test' };
}

describe('sealSecret → unsealSecret', () => {
  it('round-trips every scope and reports which key opened each value', () => {
    for (const scope of SCOPES) {
      const data = new Map([['__proto__', Buffer.from('p')], ['b', Buffer.alloc(0)], ['a', Buffer.from([0, 255])]]);
      const sealed = sealSecret(plain(data), { publicKey: cert.publicKey, scope, api: 'sigil', defaultNamespace: 'default' });
      assert.deepEqual([...sealed.encryptedData.keys()], ['__proto__', 'a', 'b']);
      const { secret, keyIndexes } = unsealSecret(sealed, [...other, ...keys]);
      assert.deepEqual(Object.entries(secret.data), [['__proto__', 'cA=='], ['a', 'AP8='], ['b', '']]);
      assert.deepEqual([...keyIndexes.values()], [1, 1, 1]);
      assert.deepEqual(secret.metadata, { name: 'db', namespace: 'prod', labels: { app: 'db' } });
    }
  });

  it('uses the default namespace when the Secret names none, and refuses none at all', () => {
    const data = new Map([['k', Buffer.from('v')]]);
    const noNamespace = { ...plain(data), namespace: undefined };
    const sealed = sealSecret(noNamespace, { publicKey: cert.publicKey, scope: 'strict', api: 'sigil', defaultNamespace: 'team' });
    assert.equal(sealed.namespace, 'team');
    assert.throws(
      () => sealSecret(noNamespace, { publicKey: cert.publicKey, scope: 'strict', api: 'sigil', defaultNamespace: '' }),
      { name: 'StalledError', reason: 'InvalidManifest', message: 'test: no namespace; give one with -n or in metadata' },
    );
  });

  it('refuses a Vault-sealed object and names a value that no key opens', () => {
    const sealed = sealSecret(plain(new Map([['password', Buffer.from('hunter2')]])), { publicKey: cert.publicKey, scope: 'strict', api: 'sigil', defaultNamespace: '' });
    assert.throws(() => unsealSecret(sealed, other), {
      name: 'StalledError',
      reason: 'DecryptFailed',
      message: 'SealedSecret prod/db: key password: no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)',
    });
    assert.throws(() => unsealSecret({ ...sealed, vault: { mount: 'transit', key: 'k' } }, keys), {
      reason: 'VaultSealed',
      message: 'SealedSecret prod/db is sealed with Vault transit key k, not a cluster key',
    });
  });

  it('opens any data map it sealed (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[-._a-zA-Z0-9]{1,20}$/), fc.uint8Array({ maxLength: 64 }), { maxKeys: 5 }), (dict) => {
        const data = new Map(Object.entries(dict).map(([k, v]) => [k, Buffer.from(v)]));
        const sealed = sealSecret(plain(data), { publicKey: cert.publicKey, scope: 'namespace-wide', api: 'bitnami', defaultNamespace: '' });
        const opened = unsealSecret(sealed, keys).secret.data;
        assert.deepEqual(new Map(Object.entries(opened)), new Map([...data].map(([k, v]) => [k, v.toString('base64')])));
      }),
      { numRuns: 30, seed: 7 },
    );
  });
});
