// withoutValues as a table of exact messages; kubeRest(kc).request against a small local HTTP server that
// records what it received and answers per path: the request sent, each kind of failure, the timeout.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRestError, kubeRest, restFailure, withoutValues, type KubeRest } from './kube-rest.js';

describe('withoutValues', () => {
  const cases: { name: string; message: string; want: string }[] = [
    {
      name: 'a number',
      message: 'spec.replicas: Invalid value: -3: must be greater than or equal to 0',
      want: 'spec.replicas: Invalid value: must be greater than or equal to 0',
    },
    {
      name: 'a quoted string',
      message: 'metadata.name: Invalid value: "Hunter2": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
      want: 'metadata.name: Invalid value: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
    },
    {
      name: 'a quoted string with escaped quotes, spaces and colons',
      message: 'data[x]: Invalid value: "pa\\"ss: w\\\\o\\"rd": a valid config key must consist of alphanumeric characters',
      want: 'data[x]: Invalid value: a valid config key must consist of alphanumeric characters',
    },
    {
      name: 'several in one message',
      message: 'Secret "db" is invalid: [data[a b]: Invalid value: "a b": bad key, spec.replicas: Invalid value: 1.5: must be an integer, x: Invalid value: true: no]',
      want: 'Secret "db" is invalid: [data[a b]: Invalid value: bad key, spec.replicas: Invalid value: must be an integer, x: Invalid value: no]',
    },
    { name: 'a quoted value ending the message (no detail)', message: 'stringData.password: Invalid value: "hunter2"', want: 'stringData.password: Invalid value:' },
    { name: 'a quoted value with a colon ending the message', message: 'spec.token: Invalid value: "user:hunter2"', want: 'spec.token: Invalid value:' },
    {
      name: 'quoted values ending list items',
      message: '[spec.a: Invalid value: "s3cr3t", spec.b: Invalid value: "t0ken"]',
      want: '[spec.a: Invalid value:, spec.b: Invalid value:]',
    },
    { name: 'no value: Required', message: 'metadata.name: Required value: name or generateName is required', want: 'metadata.name: Required value: name or generateName is required' },
    { name: 'no value: Not found', message: 'configmaps "settings" not found', want: 'configmaps "settings" not found' },
    { name: 'no value: Unsupported value names the allowed ones', message: 'spec.type: Unsupported value: "Foo": supported values: "ClusterIP"', want: 'spec.type: Unsupported value: "Foo": supported values: "ClusterIP"' },
    { name: 'an empty message', message: '', want: '' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(withoutValues(c.message), c.want));
  }

  it('no quoted value survives, whatever it holds (property)', () => {
    const secret = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `S3CR3T${s}`);
    fc.assert(
      fc.property(secret, fc.constantFrom(': must be valid', '', ', other: x', ']'), (value, tail) => {
        const message = `data.x: Invalid value: ${JSON.stringify(value)}${tail}`;
        assert.ok(!withoutValues(message).includes('S3CR3T'), withoutValues(message));
      }),
    );
  });
});

/** What the server received. */
interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  accept: string | undefined;
  body: string;
}

describe('kubeRest(kc).request', () => {
  let server: Server;
  let rest: KubeRest;
  let port: number;
  const received: Received[] = [];
  /** Answers per path; a path not listed is never answered. */
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/api/v1/namespaces/prod/configmaps/settings': (res) => json(res, 200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } }),
    '/api/v1/namespaces/prod/configmaps/missing': (res) =>
      json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'configmaps "missing" not found', reason: 'NotFound', code: 404 }),
    '/api/v1/namespaces/prod/secrets/db': (res) =>
      json(res, 422, {
        kind: 'Status',
        status: 'Failure',
        message: 'Secret "db" is invalid: data[pass word]: Invalid value: "pass word": a valid config key must consist of alphanumeric characters\nmore lines',
        reason: 'Invalid',
        code: 422,
      }),
    '/broken': (res) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('upstream connect error or disconnect/reset before headers');
    },
    '/empty': (res) => {
      res.writeHead(200);
      res.end();
    },
  };

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], accept: req.headers.accept, body: Buffer.concat(chunks).toString('utf8') });
        routes[new URL(req.url ?? '/', 'http://x').pathname]?.(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node refuses http:// unless TLS verification is off.
      clusters: [{ name: 'local', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'nobody' }],
      currentContext: 'local',
    });
    rest = kubeRest(kc);
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** The requests received since `from`. */
  const since = (from: number): Received[] => received.slice(from);

  it('names its server', () => {
    assert.equal(rest.server, `http://127.0.0.1:${port}`);
  });

  it('a GET: no body, no content type, the parsed answer', async () => {
    const from = received.length;
    assert.deepEqual(await rest.request({ method: 'GET', path: '/api/v1/namespaces/prod/configmaps/settings' }), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
    });
    assert.deepEqual(since(from), [{ method: 'GET', url: '/api/v1/namespaces/prod/configmaps/settings', contentType: undefined, accept: 'application/json', body: '' }]);
  });

  it('a server-side apply: the JSON body with the given content type, the query string without undefined values', async () => {
    const from = received.length;
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'prod' }, data: { mode: 'fast' } };
    await rest.request({
      method: 'PATCH',
      path: '/api/v1/namespaces/prod/configmaps/settings',
      query: { fieldManager: 'sigil', force: 'true', dryRun: 'All', skipped: undefined },
      body,
      contentType: 'application/apply-patch+yaml',
    });
    assert.deepEqual(since(from), [
      {
        method: 'PATCH',
        url: '/api/v1/namespaces/prod/configmaps/settings?fieldManager=sigil&force=true&dryRun=All',
        contentType: 'application/apply-patch+yaml',
        accept: 'application/json',
        body: JSON.stringify(body),
      },
    ]);
  });

  it('a body without a content type is application/json; query values are encoded', async () => {
    const from = received.length;
    await rest.request({ method: 'DELETE', path: '/api/v1/namespaces/prod/configmaps/settings', query: { labelSelector: 'sigil.dev/app=team-a.web' }, body: { propagationPolicy: 'Background' } });
    assert.deepEqual(since(from), [
      {
        method: 'DELETE',
        url: '/api/v1/namespaces/prod/configmaps/settings?labelSelector=sigil.dev%2Fapp%3Dteam-a.web',
        contentType: 'application/json',
        accept: 'application/json',
        body: '{"propagationPolicy":"Background"}',
      },
    ]);
  });

  it('an empty 2xx answer resolves undefined', async () => {
    assert.equal(await rest.request({ method: 'GET', path: '/empty' }), undefined);
  });

  const failures: { name: string; path: string; code: number; body: unknown; message: string }[] = [
    {
      name: 'a 404 Status',
      path: '/api/v1/namespaces/prod/configmaps/missing',
      code: 404,
      body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'configmaps "missing" not found', reason: 'NotFound', code: 404 },
      message: 'GET /api/v1/namespaces/prod/configmaps/missing: HTTP 404 NotFound: configmaps "missing" not found',
    },
    {
      name: 'a 422 Status: first line only, without the value',
      path: '/api/v1/namespaces/prod/secrets/db',
      code: 422,
      body: {
        kind: 'Status',
        status: 'Failure',
        message: 'Secret "db" is invalid: data[pass word]: Invalid value: "pass word": a valid config key must consist of alphanumeric characters\nmore lines',
        reason: 'Invalid',
        code: 422,
      },
      message: 'GET /api/v1/namespaces/prod/secrets/db: HTTP 422 Invalid: Secret "db" is invalid: data[pass word]: Invalid value: a valid config key must consist of alphanumeric characters',
    },
    { name: 'a 500 that is not JSON', path: '/broken', code: 500, body: undefined, message: 'GET /broken: HTTP 500' },
  ];
  for (const c of failures) {
    it(`${c.name}: rejects with KubeRestError`, async () => {
      await assert.rejects(rest.request({ method: 'GET', path: c.path }), (err: unknown) => {
        assert.ok(err instanceof KubeRestError, `not a KubeRestError: ${String(err)}`);
        assert.deepEqual([err.name, err.code, err.body, err.message], ['KubeRestError', c.code, c.body, c.message]);
        return true;
      });
    });
  }

  it('no answer within timeoutMs: rejects with code ETIMEDOUT', async () => {
    const started = Date.now();
    await assert.rejects(rest.request({ method: 'GET', path: '/never', timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(!(err instanceof KubeRestError));
      assert.deepEqual([(err as { code?: unknown }).code, err.message], ['ETIMEDOUT', 'GET /never: no answer within 0.1 s']);
      return true;
    });
    assert.ok(Date.now() - started < 5_000);
  });

  it('a refused connection rejects with the network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: `http://127.0.0.1:${closedPort}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'gone', cluster: 'gone', user: 'nobody' }],
      currentContext: 'gone',
    });
    await assert.rejects(kubeRest(kc).request({ method: 'GET', path: '/api' }), { code: 'ECONNREFUSED' });
  });
});

describe('restFailure', () => {
  it('is the answer without the request line, values removed', () => {
    const err = new KubeRestError(422, { reason: 'Invalid', message: 'Secret "db" is invalid: data[a]: Invalid value: "c2VjcmV0": bad' }, 'PATCH /api/v1/namespaces/p/secrets/db');
    assert.equal(restFailure(err), 'HTTP 422 Invalid: Secret "db" is invalid: data[a]: Invalid value: bad');
    assert.equal(err.message, 'PATCH /api/v1/namespaces/p/secrets/db: HTTP 422 Invalid: Secret "db" is invalid: data[a]: Invalid value: bad');
  });
  it('says why the API server was not reached', () => {
    assert.equal(restFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })), 'cannot reach the API server: ECONNREFUSED');
  });
});
