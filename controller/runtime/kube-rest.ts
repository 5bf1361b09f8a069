/**
 * A plain JSON REST client on a KubeConfig, for the sync engine, which handles objects of any kind: the
 * bodies stay as the API server sent them (client-node's typed serializer drops the fields its models do
 * not know and turns times into Dates, and a diff needs neither), and server-side apply, dry-run and
 * discovery are one request each. Credentials and the keep-alive agent come from the KubeConfig
 * (`applyToHTTPSOptions`), so requests share the controller's connections.
 *
 * A failure rejects with a `KubeRestError` carrying `code` (the HTTP status, as client-node's ApiException
 * does, so api-errors.ts reads both) and `body` (the Status object); its message is one line.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A failed request: the HTTP status as `code` (client-node's convention), the API server's Status as `body`. */
export class KubeRestError extends Error {
  readonly code: number;
  readonly body: { message?: string; reason?: string; details?: unknown } | undefined;
  /** The answer without the request line: `HTTP 422 Invalid: …` (values removed, first line only). */
  readonly detail: string;

  constructor(code: number, body: KubeRestError['body'], what: string) {
    const message = body?.message ? `: ${withoutValues(body.message.split('\n')[0]!)}` : '';
    const detail = `HTTP ${code}${body?.reason ? ` ${body.reason}` : ''}${message}`;
    super(`${what}: ${detail}`);
    this.name = 'KubeRestError';
    this.code = code;
    this.body = body;
    this.detail = detail;
  }
}

/** Why a request failed, for messages that already name the object: the API server's answer, or why it was not reached. */
export function restFailure(err: unknown): string {
  if (err instanceof KubeRestError) return err.detail;
  const e = err as { code?: unknown; message?: unknown } | null;
  return `cannot reach the API server: ${String(e?.code ?? e?.message ?? err)}`;
}

/**
 * The API server quotes the offending value in validation errors (`Invalid value: "…": reason`); for a
 * Secret or a SealedSecret that value is plaintext or ciphertext, so it never reaches a message.
 */
export function withoutValues(message: string): string {
  // A quoted value may also end the message or a list item (no detail after it): it goes too, whole.
  return message.replace(/Invalid value: (?:"(?:[^"\\]|\\.)*"(?::|(?=[,\]]|$))|[^:\s]+:)/g, 'Invalid value:');
}

/** One request's parts. */
export interface RestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. `/api/v1/namespaces/x/configmaps/y`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Default `application/json` (for PATCH: `application/apply-patch+yaml` is server-side apply). */
  contentType?: string;
  /** Abort after this long (default 30 s). */
  timeoutMs?: number;
}

/** Sends JSON requests to the cluster of a KubeConfig. */
export interface KubeRest {
  /** Resolves with the parsed JSON body of a 2xx answer; rejects with KubeRestError otherwise, or the network error. */
  request<T = unknown>(req: RestRequest): Promise<T>;
  /** The server URL, for messages. */
  server: string;
}

/** A KubeRest for the current context of `kc`. */
export function kubeRest(kc: KubeConfig): KubeRest {
  const server = kc.getCurrentCluster()?.server ?? '';
  return {
    server,
    async request<T>(req: RestRequest): Promise<T> {
      const url = new URL(server.replace(/\/$/, '') + req.path);
      for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
      const options: RequestOptions = { method: req.method, headers: { Accept: 'application/json' } };
      await kc.applyToHTTPSOptions(options);
      const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
      if (payload) Object.assign(options.headers!, { 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': payload.length });
      const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
      const what = `${req.method} ${req.path}`;
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const r = send(url, options, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        r.setTimeout(req.timeoutMs ?? 30_000, () => r.destroy(Object.assign(new Error(`${what}: no answer within ${(req.timeoutMs ?? 30_000) / 1000} s`), { code: 'ETIMEDOUT' })));
        r.on('error', reject);
        r.end(payload);
      });
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (status < 200 || status > 299) throw new KubeRestError(status, body as KubeRestError['body'], what);
      return body as T;
    },
  };
}
