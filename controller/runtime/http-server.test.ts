import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';
import { HttpError, parseListen, readJsonBody, sendText, startHttpServer, type RunningHttpServer } from './http-server.js';

/** A raw request, so that bodies can be sent chunked and without Content-Length. */
function send(port: number, method: string, path: string, chunks: string[] = [], headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('startHttpServer', () => {
  let server: RunningHttpServer;
  const logLines: string[] = [];
  before(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        logLines.push(chunk.toString('utf8').trim());
        done();
      },
    });
    server = await startHttpServer({
      listen: '127.0.0.1:0',
      maxBodyBytes: 64,
      log: createLogger({ level: 'info', format: 'json', stream, clock: () => new Date(0) }),
      routes: {
        'GET /healthz': (_req, res) => sendText(res, 200, 'ok'),
        'POST /v1/verify': async (req, res) => {
          const body = await readJsonBody(req);
          sendText(res, 200, JSON.stringify({ got: body }), 'application/json');
        },
        'PUT /v1/verify': async (req, res) => sendText(res, 200, JSON.stringify(await readJsonBody(req, 8))),
        'GET /boom': async () => {
          throw new Error('token=abc leaked detail');
        },
        'GET /conflict': () => {
          throw new HttpError(409, 'rotation in progress');
        },
      },
    });
  });
  after(() => server.close());

  it('serves a route, ignoring the query string', async () => {
    const res = await send(server.port, 'GET', '/healthz?verbose=1');
    assert.deepEqual([res.status, res.body, res.headers['content-type']], [200, 'ok', 'text/plain; charset=utf-8']);
  });

  it('answers 404 for an unknown path', async () => {
    const res = await send(server.port, 'GET', '/nope');
    assert.deepEqual([res.status, res.body], [404, 'not found']);
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    const res = await send(server.port, 'DELETE', '/v1/verify');
    assert.deepEqual([res.status, res.body, res.headers.allow], [405, 'method not allowed', 'POST, PUT']);
  });

  it('reads a JSON body', async () => {
    const res = await send(server.port, 'POST', '/v1/verify', ['{"a":', '[1,2]}'], { 'content-type': 'application/json' });
    assert.deepEqual([res.status, res.body, res.headers['content-type']], [200, '{"got":{"a":[1,2]}}', 'application/json']);
  });

  it('answers 400 invalid JSON body for malformed and empty bodies', async () => {
    assert.deepEqual(await send(server.port, 'POST', '/v1/verify', ['{"a":'], {}).then((r) => [r.status, r.body]), [400, 'invalid JSON body']);
    assert.deepEqual(await send(server.port, 'POST', '/v1/verify').then((r) => [r.status, r.body]), [400, 'invalid JSON body']);
  });

  it('answers 413 for a declared length over the limit, before the handler reads', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(80) });
    const res = await send(server.port, 'POST', '/v1/verify', [body], { 'content-length': String(Buffer.byteLength(body)) });
    assert.deepEqual([res.status, res.body, res.headers.connection], [413, 'request body too large', 'close']);
  });

  it('answers 413 for a chunked body that grows past the limit, and for a handler-given limit', async () => {
    const res = await send(server.port, 'POST', '/v1/verify', ['{"pad":"', 'x'.repeat(40), 'x'.repeat(40), '"}']);
    assert.deepEqual([res.status, res.body], [413, 'request body too large']);
    const small = await send(server.port, 'PUT', '/v1/verify', ['{"a":"123456"}']);
    assert.deepEqual([small.status, small.body], [413, 'request body too large']);
    const fits = await send(server.port, 'PUT', '/v1/verify', ['[1,2,3]']);
    assert.deepEqual([fits.status, fits.body], [200, '[1,2,3]']);
  });

  it('answers 500 with a generic message and logs the error', async () => {
    logLines.length = 0;
    const res = await send(server.port, 'GET', '/boom');
    assert.deepEqual([res.status, res.body], [500, 'internal server error']);
    assert.deepEqual(
      logLines.map((l) => JSON.parse(l)),
      [
        {
          level: 'error',
          time: '1970-01-01T00:00:00.000Z',
          msg: 'http handler failed',
          method: 'GET',
          path: '/boom',
          err: { name: 'Error', message: 'token=abc leaked detail' },
        },
      ],
    );
  });

  it('answers an HttpError with its status and message, without logging it', async () => {
    logLines.length = 0;
    const res = await send(server.port, 'GET', '/conflict');
    assert.deepEqual([res.status, res.body], [409, 'rotation in progress']);
    assert.deepEqual(logLines, []);
  });
});

describe('startHttpServer lifecycle', () => {
  const log = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, d) => d() }) });

  it('close() stops listening', async () => {
    const s = await startHttpServer({ listen: '127.0.0.1:0', routes: { 'GET /': (_q, r) => sendText(r, 200, 'x') }, log });
    assert.equal((await send(s.port, 'GET', '/')).body, 'x');
    await s.close();
    await s.close();
    await assert.rejects(send(s.port, 'GET', '/'), { code: 'ECONNREFUSED' });
  });

  it('rejects when the port is taken, and on malformed route keys', async () => {
    const s = await startHttpServer({ listen: '127.0.0.1:0', routes: {}, log });
    await assert.rejects(startHttpServer({ listen: `127.0.0.1:${s.port}`, routes: {}, log }), { code: 'EADDRINUSE' });
    await s.close();
    await assert.rejects(startHttpServer({ listen: '127.0.0.1:0', routes: { 'get /x': () => undefined }, log }), {
      name: 'RangeError',
      message: 'route must be "METHOD /path", got "get /x"',
    });
  });
});

describe('parseListen', () => {
  const cases: Array<[string, { host: string | undefined; port: number }]> = [
    [':8080', { host: undefined, port: 8080 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['[::1]:9090', { host: '::1', port: 9090 }],
  ];
  for (const [input, expected] of cases) it(`parses ${input}`, () => assert.deepEqual(parseListen(input), expected));
  for (const bad of ['8080', 'host:99999', 'a b:1', 'host:', '']) {
    it(`rejects ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseListen(bad), { name: 'RangeError', message: `listen address must be host:port or :port, got ${JSON.stringify(bad)}` }));
  }
});
