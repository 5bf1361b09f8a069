// POST /v1/verify and /v1/rotate over a real HTTP server: exact statuses and bodies, rate limiting, and a
// rotation that changes only the ciphertexts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parseCertificate, parsePrivateKeys } from '../../shared/crypto/certificate.js';
import { sealedSecretObject } from '../../shared/manifest/sealed-secret.js';
import { sealSecret } from '../../shared/sealing/seal-secret.js';
import { unsealSecret } from '../../shared/sealing/unseal-secret.js';
import { readSealedSecret } from '../../shared/manifest/sealed-secret.js';
import { keyFixture } from '../../test/fixtures/keys/index.js';
import { createLogger } from '../runtime/logger.js';
import { startHttpServer, type RunningHttpServer } from '../runtime/http-server.js';
import { KeyRing, type SealingKey } from './key-ring.js';
import { rateLimiter, sealingRoutes } from './http-routes.js';

const key = (name: string, file: 'sealing-2048' | 'other-2048', notBefore: string): SealingKey => ({
  name,
  namespace: 'sigil-system',
  privateKey: parsePrivateKeys(keyFixture(`${file}.key`))[0]!,
  cert: { ...parseCertificate(keyFixture(`${file}.crt`)), notBefore: new Date(notBefore) },
  source: 'sigil',
  compromised: false,
});
const OLD = key('old', 'sealing-2048', '2025-01-01T00:00:00Z');
const NEW = key('new', 'other-2048', '2026-01-01T00:00:00Z');

function sealedFor(k: SealingKey, api: 'sigil' | 'bitnami' = 'sigil'): Record<string, unknown> {
  const data = new Map([['password', Buffer.from('hunter2')], ['user', Buffer.from('admin')]]);
  const ss = sealSecret(
    { name: 'db', namespace: 'prod', labels: { app: 'db' }, annotations: {}, type: 'Opaque', data, where: 'test' },
    { publicKey: k.cert.publicKey, scope: 'strict', api, defaultNamespace: 'prod' },
  );
  return sealedSecretObject(ss);
}

describe('sealing routes', () => {
  let server: RunningHttpServer;
  let allowed = true;
  const post = async (path: string, body: string): Promise<{ status: number; text: string }> => {
    const r = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: r.status, text: await r.text() };
  };

  before(async () => {
    const ring = new KeyRing();
    ring.upsert(OLD);
    ring.upsert(NEW);
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    server = await startHttpServer({
      listen: '127.0.0.1:0',
      routes: sealingRoutes({ ring: () => ring }, () => allowed),
      log: createLogger({ level: 'error', format: 'json', stream: quiet }),
    });
  });
  after(async () => server?.close());

  it('verify: 200 for a value this controller opens, in either API shape', async () => {
    assert.deepEqual(await post('/v1/verify', JSON.stringify(sealedFor(OLD))), { status: 200, text: 'OK\n' });
    assert.deepEqual(await post('/v1/verify', JSON.stringify(sealedFor(NEW, 'bitnami'))), { status: 200, text: 'OK\n' });
  });

  it('verify: 409 naming the key for a tampered value; 400 for a body that is not a SealedSecret', async () => {
    const ss = sealedFor(OLD) as { spec: { encryptedData: Record<string, string> } };
    const bytes = Buffer.from(ss.spec.encryptedData.password!, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    ss.spec.encryptedData.password = bytes.toString('base64');
    assert.deepEqual(await post('/v1/verify', JSON.stringify(ss)), {
      status: 409,
      text: 'SealedSecret prod/db: key password: the value was altered after sealing (integrity check failed)',
    });
    assert.deepEqual(await post('/v1/verify', '{not json'), { status: 400, text: 'invalid JSON body' });
    assert.deepEqual(await post('/v1/verify', '[]'), { status: 400, text: 'the body must be one SealedSecret object' });
    const noName = await post('/v1/verify', JSON.stringify({ apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', metadata: {}, spec: { encryptedData: {} } }));
    assert.equal(noName.status, 400);
    assert.match(noName.text, /^request body.*metadata\.name/);
  });

  it('rotate: re-seals with the newest key and changes nothing but the ciphertexts', async () => {
    const before = sealedFor(OLD) as { spec: { encryptedData: Record<string, string> } };
    const r = await post('/v1/rotate', JSON.stringify(before));
    assert.equal(r.status, 200);
    const after = JSON.parse(r.text) as typeof before;
    assert.deepEqual({ ...after, spec: { ...after.spec, encryptedData: {} } }, { ...before, spec: { ...before.spec, encryptedData: {} } });
    assert.deepEqual(Object.keys(after.spec.encryptedData), ['password', 'user']);
    const opened = unsealSecret(readSealedSecret(after as unknown as Record<string, unknown>, 'rotated'), [NEW.privateKey]).secret.data;
    assert.deepEqual(opened, { password: Buffer.from('hunter2').toString('base64'), user: Buffer.from('admin').toString('base64') });
    assert.throws(() => unsealSecret(readSealedSecret(after as unknown as Record<string, unknown>, 'rotated'), [OLD.privateKey]));
  });

  it('answers 429 when the rate limit is spent', async () => {
    allowed = false;
    try {
      assert.deepEqual(await post('/v1/verify', JSON.stringify(sealedFor(OLD))), { status: 429, text: 'too many requests' });
    } finally {
      allowed = true;
    }
  });

  it('rateLimiter allows a burst, then the rate', () => {
    let t = 0;
    const allow = rateLimiter(2, 2, () => t);
    assert.deepEqual([allow(), allow(), allow()], [true, true, false]);
    t = 499;
    assert.equal(allow(), false);
    t = 500;
    assert.equal(allow(), true);
  });
});
