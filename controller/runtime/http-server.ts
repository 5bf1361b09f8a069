/**
 * The controller's HTTP server on node:http: a fixed table of `METHOD /path` routes, with the plain answers
 * every route shares (404, 405, 413, 400 for a malformed JSON body, and a generic 500 whose cause goes to
 * the log, never to the client).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

/** Answers one request; what it throws becomes a 500 (or the status of an HttpError). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** How `startHttpServer` listens and what it serves. */
export interface HttpServerOptions {
  /** `host:port`, `[v6]:port`, or `:port` for every interface; port 0 picks a free one. */
  listen: string;
  /** By `'GET /path'`; the path is matched exactly, the query string ignored. */
  routes: Record<string, RouteHandler>;
  /** Largest request body accepted (default 1 MiB). */
  maxBodyBytes?: number;
  log: Logger;
}

/** A listening server. */
export interface RunningHttpServer {
  port: number;
  /** Stops accepting connections, closes idle ones, and resolves once in-flight requests are answered. */
  close(): Promise<void>;
}

/** A failure with the HTTP status and the short message the client gets. */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** The default body limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const bodyLimits = new WeakMap<IncomingMessage, number>();

/**
 * Starts serving `routes` on `listen` and resolves once listening. Unknown path → 404 `not found`; known path,
 * other method → 405 with `Allow`; a Content-Length over the limit → 413 before the handler runs. Throws a
 * RangeError on a malformed `listen` or route key, and the listen error (EADDRINUSE, …) when binding fails.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { host, port } = parseListen(options.listen);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const table = routeTable(options.routes);
  const { log } = options;

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const methods = table.get(path);
    if (!methods) return sendText(res, 404, 'not found');
    const handler = methods.get(req.method ?? '');
    if (!handler) {
      res.setHeader('Allow', [...methods.keys()].sort().join(', '));
      return sendText(res, 405, 'method not allowed');
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return refuse(req, res, new HttpError(413, 'request body too large'));
    bodyLimits.set(req, maxBodyBytes);
    void (async () => {
      try {
        await handler(req, res);
      } catch (err) {
        if (err instanceof HttpError) return refuse(req, res, err);
        log.error('http handler failed', { method: req.method, path, err });
        if (res.headersSent) res.destroy();
        else sendText(res, 500, 'internal server error');
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error('http server error', { err }));
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * The raw request body. Throws HttpError 413 `request body too large` past `maxBytes` (default: the server's
 * limit), before buffering more than that, and the request's own error when the connection fails.
 */
export async function readBody(req: IncomingMessage, maxBytes: number = bodyLimits.get(req) ?? DEFAULT_MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = new HttpError(413, 'request body too large');
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.resume(); // discard the rest; the 413 closes the connection
        reject(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * The request body parsed as JSON. Throws HttpError 413 `request body too large` past `maxBytes` (default:
 * the server's limit) and HttpError 400 `invalid JSON body` when the body is not JSON.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number = bodyLimits.get(req) ?? DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const body = await readBody(req, maxBytes);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'invalid JSON body');
  }
}

/** Answers with `status` and `text` (Content-Type default `text/plain; charset=utf-8`). Never throws. */
export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(body);
}

/** `host:port`, `[v6]:port` or `:port` (host undefined = every interface). Throws a RangeError otherwise. */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([\w.-]*)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new RangeError(`listen address must be host:port or :port, got ${JSON.stringify(listen)}`);
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

function routeTable(routes: Record<string, RouteHandler>): Map<string, Map<string, RouteHandler>> {
  const table = new Map<string, Map<string, RouteHandler>>();
  for (const [route, handler] of Object.entries(routes)) {
    const match = /^([A-Z]+) (\/\S*)$/.exec(route);
    if (!match) throw new RangeError(`route must be "METHOD /path", got ${JSON.stringify(route)}`);
    const [, method, path] = match as unknown as [string, string, string];
    if (!table.has(path)) table.set(path, new Map());
    table.get(path)!.set(method, handler);
  }
  return table;
}

/** Answers an HttpError; after a 413 the connection is closed so the unread body is not parsed as a request. */
function refuse(req: IncomingMessage, res: ServerResponse, err: HttpError): void {
  if (err.status === 413) {
    res.setHeader('Connection', 'close');
    res.on('finish', () => req.socket.destroySoon());
  }
  if (res.headersSent) res.destroy();
  else sendText(res, err.status, err.message);
}
