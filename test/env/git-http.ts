/**
 * Git's smart HTTP protocol on loopback: a node:http server that requires Basic auth and runs the real
 * `git http-backend` as a CGI program per request (RFC 3875 variables in, `Status:` + headers + body out).
 * In-process on purpose: it is node, and the CGI children live only as long as their request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { exec, PROBE_REPO } from './git-exec.js';
import { descendantsOf, killDescendants } from './git-procs.js';
import { waitUntil } from './processes.js';

/** The running smart HTTP server. */
export interface GitHttpServer {
  port: number;
  /** Pids of the `git http-backend` children serving requests right now, and of what they run. */
  children(): number[];
  /** Closes the listener and every connection, and kills the CGI children still running. */
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (a free port) for the bare repositories under `root`; resolves once a `git ls-remote` through it gets http-backend's answer. */
export async function startGitHttp(options: {
  /** Path of the git-http-backend program. */
  backend: string;
  root: string;
  credentials: { username: string; password: string };
  env: NodeJS.ProcessEnv;
  logDir: string;
}): Promise<GitHttpServer> {
  const log = createWriteStream(join(options.logDir, 'git-http.log'), { flags: 'a' });
  const live = new Set<ChildProcess>();
  const expected = Buffer.from(`${options.credentials.username}:${options.credentials.password}`);

  function authorized(req: IncomingMessage): boolean {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1]!, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const length = req.headers['content-length'] ?? (req.headers['transfer-encoding'] ? `(${req.headers['transfer-encoding']})` : '-');
    log.write(`${new Date().toISOString()} ${req.method} ${url.pathname}${url.search} ${length}\n`);
    if (!authorized(req)) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="sigil-test"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...options.env,
      GIT_PROJECT_ROOT: options.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REMOTE_USER: options.credentials.username,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
    };
    // Absent, not empty, when the request has no length (chunked): http-backend then reads to EOF.
    if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['git-protocol'] !== undefined) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];

    // Its own process group: what it runs (upload-pack, receive-pack) is ended with it (see `end`).
    const child = spawn(options.backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    live.add(child);
    child.on('close', () => live.delete(child));
    child.on('error', (err) => log.write(`spawn git http-backend: ${err.message}\n`));
    child.stderr.on('data', (c: Buffer) => log.write(c));
    child.stdin.on('error', () => undefined); // the backend may answer (and exit) before reading everything
    req.pipe(child.stdin);
    res.on('close', () => {
      if (!res.writableFinished && child.exitCode === null) void end(child); // the client went away
    });
    void relay(child, res).catch((err: Error) => {
      log.write(`relay: ${err.message}\n`);
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end('bad gateway\n');
      else res.destroy(err);
    });
  }

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const stop = async (): Promise<void> => {
    await Promise.all([...live].map(end));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await new Promise<void>((resolve) => log.end(() => resolve()));
  };
  const probe = new URL(`http://127.0.0.1:${port}/${PROBE_REPO}.git`);
  [probe.username, probe.password] = [options.credentials.username, options.credentials.password];
  try {
    await waitUntil(
      'git http-backend answers',
      async () => /not found/.test((await exec('git', ['ls-remote', probe.href], { env: options.env })).stderr),
      { timeoutMs: 10_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    port,
    children: () =>
      [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid, ...descendantsOf(c.pid).map((d) => d.pid)])),
    stop,
  };
}

/**
 * Ends a backend. First its request body ends (a backend still copying it closes the pipe to what it runs,
 * which then exits and is reaped), then, whatever still runs, deepest first; resolves once it is reaped.
 */
async function end(child: ChildProcess): Promise<void> {
  const closed = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('close', r)));
  child.stdin?.destroy();
  await Promise.race([closed, new Promise((r) => setTimeout(r, 200))]);
  if (child.pid !== undefined) await killDescendants(child.pid);
  child.kill('SIGKILL');
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); // anything that left the tree but not the group
  } catch {
    // the group is gone
  }
  await closed;
}

/** Reads the CGI header block from the child's stdout, answers with its status and headers, streams the rest. */
async function relay(child: ChildProcess, res: ServerResponse): Promise<void> {
  let head = Buffer.alloc(0);
  let headersDone = false;
  for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
    if (headersDone) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (!end) continue;
    writeCgiHead(res, head.subarray(0, end.at).toString('latin1'));
    headersDone = true;
    const rest = head.subarray(end.at + end.length);
    if (rest.length && !res.write(rest)) await new Promise((r) => res.once('drain', r));
  }
  if (!headersDone) throw new Error(`git http-backend ended without CGI headers (${head.length} bytes)`);
  res.end();
}

function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

function writeCgiHead(res: ServerResponse, head: string): void {
  let status = 200;
  let reason: string | undefined;
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const m = /^(\d{3})\s*(.*)$/.exec(value);
      if (m) [status, reason] = [Number(m[1]), m[2] || undefined];
    } else {
      res.appendHeader(name, value);
    }
  }
  res.statusCode = status;
  if (reason) res.statusMessage = reason;
  res.flushHeaders();
}
