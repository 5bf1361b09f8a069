/**
 * The sealing endpoints of the controller's HTTP API, shaped like Sealed Secrets' own so kubeseal-style
 * clients work: `POST /v1/verify` (can this SealedSecret be opened here? 200 / 409) and `POST /v1/rotate`
 * (the same SealedSecret re-sealed with the newest key, everything but the ciphertexts unchanged). Both
 * take the SealedSecret as JSON, in either API shape, and are rate limited: each one decrypts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SigilError } from '../../shared/errors.js';
import { readSealedSecret } from '../../shared/manifest/sealed-secret.js';
import { sealData } from '../../shared/sealing/seal-secret.js';
import { HttpError, readJsonBody, sendText, type RouteHandler } from '../runtime/http-server.js';
import type { KeyManager } from './key-manager.js';

/** A token bucket: `rate` requests a second on average, `burst` at once. */
export function rateLimiter(rate: number, burst: number, now: () => number = Date.now): () => boolean {
  let tokens = burst;
  let last = now();
  return () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
    last = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/** The `POST /v1/verify` and `POST /v1/rotate` routes over `keys`. */
export function sealingRoutes(keys: Pick<KeyManager, 'ring'>, allow: () => boolean = rateLimiter(2, 2)): Record<string, RouteHandler> {
  const read = async (req: IncomingMessage): Promise<{ body: Record<string, unknown>; ss: ReturnType<typeof readSealedSecret> }> => {
    if (!allow()) throw new HttpError(429, 'too many requests');
    const body = await readJsonBody(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be one SealedSecret object');
    try {
      return { body: body as Record<string, unknown>, ss: readSealedSecret(body as Record<string, unknown>, 'request body') };
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
  };
  const open = (ss: ReturnType<typeof readSealedSecret>): Map<string, Buffer> => {
    try {
      const { secret } = keys.ring().unseal(ss);
      return new Map(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    } catch (err) {
      throw new HttpError(409, err instanceof SigilError ? err.message : 'cannot be opened here');
    }
  };
  return {
    'POST /v1/verify': async (req: IncomingMessage, res: ServerResponse) => {
      open((await read(req)).ss);
      sendText(res, 200, 'OK\n');
    },
    'POST /v1/rotate': async (req: IncomingMessage, res: ServerResponse) => {
      const { body, ss } = await read(req);
      const newest = keys.ring().newest();
      if (!newest) throw new HttpError(503, 'no sealing key loaded');
      const resealed = sealData(newest.cert.publicKey, { name: ss.name, namespace: ss.namespace ?? '', scope: ss.scope }, open(ss));
      const spec = body.spec as { encryptedData: Record<string, string> };
      for (const key of Object.keys(spec.encryptedData)) spec.encryptedData[key] = resealed.get(key)!;
      sendText(res, 200, `${JSON.stringify(body, null, 2)}\n`, 'application/json');
    },
  };
}
