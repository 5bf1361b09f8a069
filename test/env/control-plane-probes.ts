/**
 * Readiness probes of the control plane's servers: one HTTP(S) GET, answering the status code and body.
 * Each request has its own connection (no agent), so a probe never keeps the test process alive.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** TLS material for an https probe; without `ca` the server's certificate is not verified. */
export interface ProbeTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** GETs `url`; rejects on a connection error or after `timeoutMs`. */
export function probe(url: string, tls: ProbeTls = {}, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const options = { method: 'GET', agent: false as const, timeout: timeoutMs };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ...options, ...tls, rejectUnauthorized: tls.ca !== undefined }, onResponse)
        : httpRequest(u, options, onResponse);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
