// createTargets against a small local HTTP server that records who asked what (path, Impersonate-User,
// Authorization): the identity of each Application's reads and writes in the controller's cluster and in a
// remote one, the reachability check, the reuse and replacement of remote clusters; kubeConfigFromSecret
// as a table of exact results and exact refusals.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { SigilError, StalledError, TransientError, WaitingError } from '../../shared/errors.js';
import { createLogger } from '../runtime/logger.js';
import type { ApplicationSpec } from './application.js';
import type { ObjectId } from './cluster.js';
import { createTargets, impersonating, kubeConfigFromSecret, type Targets, type TargetsOptions } from './targets.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const ENGINE = 'system:serviceaccount:sigil-system:sigil-sync';

/** What the server received. */
interface Seen {
  method: string;
  path: string;
  impersonate: string | undefined;
  authorization: string | undefined;
}

/** The error `promise` rejects with, checked to be of `type` with `reason` and `message`. */
async function rejects(promise: Promise<unknown>, type: new (...args: never[]) => SigilError, reason: string, message: string): Promise<SigilError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof type, `${String(err)} is not a ${type.name}`);
  assert.deepEqual([err.reason, err.message], [reason, message]);
  return err;
}

/** The error `fn` throws, checked to be of `type` with `reason` and `message`. */
function throws(fn: () => unknown, type: new (...args: never[]) => SigilError, reason: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `${String(err)} is not a ${type.name}`);
    assert.deepEqual([err.reason, err.message], [reason, message]);
    return true;
  });
}

/** A kubeconfig (YAML) with one cluster at `server` and one user. */
function kubeconfigYaml(server: string, user: string, cluster = 'insecure-skip-tls-verify: true'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: edge',
    '  cluster:',
    `    server: ${server}`,
    `    ${cluster}`,
    'users:',
    '- name: edge-admin',
    '  user:',
    ...user.split('\n').map((l) => `    ${l}`),
    'contexts:',
    '- name: edge',
    '  context: {cluster: edge, user: edge-admin}',
    'current-context: edge',
    '',
  ].join('\n');
}

/** An Application's spec; `secret` names a remote cluster's Secret in team-a. */
function spec(options: { serviceAccountName?: string; secret?: string } = {}): ApplicationSpec {
  return {
    source: { repoURL: 'https://git.example/team-a.git', targetRevision: 'main', path: '.' },
    destination: { namespace: 'team-a', ...(options.secret ? { cluster: { secretRef: { namespace: 'team-a', name: options.secret } } } : {}) },
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    intervalMs: 180_000,
    retry: { limit: 5, durationMs: 5_000, factor: 2, maxDurationMs: 180_000 },
    allowPlaintextSecrets: false,
    suspend: false,
  };
}

const SETTINGS: ObjectId = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'settings' };
const CREDS: ObjectId = { apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: 'app-creds' };

describe('createTargets', () => {
  let server: Server;
  let base: string;
  /** A port nothing listens on. */
  let closedPort: number;
  const seen: Seen[] = [];
  /** Secrets the server holds, by `namespace/name`. */
  const secrets = new Map<string, Record<string, unknown>>();
  /** What `GET /version` answers. */
  let versionStatus = 200;
  let controllerKc: KubeConfig;
  let engineKc: KubeConfig;
  const made: Targets[] = [];

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }
  const notFound = (res: ServerResponse, path: string): void =>
    json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `${path} not found`, reason: 'NotFound', code: 404 });

  /** Puts a Secret on the server. */
  function putSecret(namespace: string, name: string, resourceVersion: string, data: Record<string, string>): void {
    secrets.set(`${namespace}/${name}`, { apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name, resourceVersion }, type: 'Opaque', data });
  }

  /** A Secret of a remote cluster at `server` (default: this test server) whose user has `token`. */
  function putClusterSecret(name: string, resourceVersion: string, token: string, server = base): void {
    putSecret('team-a', name, resourceVersion, { kubeconfig: b64(kubeconfigYaml(server, `token: ${token}`)) });
  }

  function newTargets(extra: Partial<TargetsOptions> = {}): Targets {
    const log = createLogger({ level: 'debug', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) });
    const targets = createTargets({ controllerKc, engineKc, log, wake: () => {}, ...extra });
    made.push(targets);
    return targets;
  }

  /** The requests received since `from`. */
  const since = (from: number): Seen[] => seen.slice(from);
  const req = (path: string, impersonate: string | undefined, token: string): Seen => ({ method: 'GET', path, impersonate, authorization: `Bearer ${token}` });

  before(async () => {
    server = createServer((request: IncomingMessage, res: ServerResponse) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      const header = (name: string): string | undefined => request.headers[name] as string | undefined;
      seen.push({ method: request.method ?? '', path, impersonate: header('impersonate-user'), authorization: header('authorization') });
      request.resume();
      if (request.method !== 'GET') return notFound(res, path);
      if (path === '/api/v1') {
        return json(res, 200, {
          kind: 'APIResourceList',
          groupVersion: 'v1',
          resources: [
            { name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'list', 'watch', 'patch', 'delete'] },
            { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list', 'watch', 'patch', 'delete'] },
          ],
        });
      }
      if (path === '/version') {
        return versionStatus === 200
          ? json(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0' })
          : json(res, versionStatus, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'etcd is down', reason: 'InternalError', code: versionStatus });
      }
      const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
      const found = secret ? secrets.get(`${secret[1]}/${secret[2]}`) : undefined;
      return found ? json(res, 200, found) : notFound(res, path);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    controllerKc = new KubeConfig();
    controllerKc.loadFromOptions({
      // client-node refuses http:// unless TLS verification is off.
      clusters: [{ name: 'home', server: base, skipTLSVerify: true }],
      users: [{ name: 'controller', token: 'controller' }],
      contexts: [{ name: 'home', cluster: 'home', user: 'controller' }],
      currentContext: 'home',
    });
    engineKc = impersonating(controllerKc, ENGINE);
    putSecret('team-a', 'app-creds', '1', { password: b64('hunter2') });
  });

  after(async () => {
    for (const t of made) t.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('impersonating: a copy whose current user impersonates; the original is unchanged', () => {
    assert.deepEqual(
      [engineKc.getCurrentUser()?.impersonateUser, engineKc.getCurrentUser()?.token, engineKc.getCurrentCluster()?.server, controllerKc.getCurrentUser()?.impersonateUser],
      [ENGINE, 'controller', base, undefined],
    );
  });

  describe('in the controller\'s cluster: as whom', () => {
    const cases: { name: string; serviceAccountName?: string; defaultServiceAccount?: string; user: string }[] = [
      { name: 'no serviceAccountName, no default: the engine itself', user: ENGINE },
      { name: 'serviceAccountName deployer: the team\'s account, with the controller\'s token', serviceAccountName: 'deployer', user: 'system:serviceaccount:team-a:deployer' },
      { name: '--default-service-account tenant, no serviceAccountName', defaultServiceAccount: 'tenant', user: 'system:serviceaccount:team-a:tenant' },
      {
        name: 'an explicit serviceAccountName wins over the default',
        serviceAccountName: 'deployer',
        defaultServiceAccount: 'tenant',
        user: 'system:serviceaccount:team-a:deployer',
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.user}`, async () => {
        const targets = newTargets(c.defaultServiceAccount ? { defaultServiceAccount: c.defaultServiceAccount } : {});
        const from = seen.length;
        const target = await targets.forApp('team-a', spec(c.serviceAccountName ? { serviceAccountName: c.serviceAccountName } : {}));
        assert.deepEqual([target.name, target.cluster === target.home], ['in-cluster', true]);
        assert.deepEqual(since(from), [], 'forApp of the own cluster sends nothing');

        assert.equal(await target.cluster.get(SETTINGS), undefined);
        const creds = await target.home.get(CREDS);
        assert.deepEqual(creds?.data, { password: b64('hunter2') });
        await target.ping();
        assert.deepEqual(since(from), [
          req('/api/v1', c.user, 'controller'),
          req('/api/v1/namespaces/team-a/configmaps/settings', c.user, 'controller'),
          req('/api/v1/namespaces/team-a/secrets/app-creds', c.user, 'controller'),
        ]);
      });
    }

    it('targets.engine is the engine itself, whatever the default', async () => {
      const targets = newTargets({ defaultServiceAccount: 'tenant' });
      const from = seen.length;
      await targets.engine.get(CREDS);
      assert.deepEqual(since(from), [req('/api/v1', ENGINE, 'controller'), req('/api/v1/namespaces/team-a/secrets/app-creds', ENGINE, 'controller')]);
    });

    it('views of the same account are shared between Applications; other accounts get their own', async () => {
      const targets = newTargets();
      const a = await targets.forApp('team-a', spec({ serviceAccountName: 'deployer' }));
      const b = await targets.forApp('team-a', spec({ serviceAccountName: 'deployer' }));
      const other = await targets.forApp('team-b', spec({ serviceAccountName: 'deployer' }));
      const engine = await targets.forApp('team-a', spec());
      assert.deepEqual([a.cluster === b.cluster, a.cluster === other.cluster, engine.cluster === targets.engine], [true, false, true]);
    });
  });

  describe('a remote destination', () => {
    it('no account: the Secret read as the engine; the remote cluster with its own token, no impersonation; ping asks /version', async () => {
      putClusterSecret('edge', '10', 'remote');
      const targets = newTargets();
      const from = seen.length;
      const target = await targets.forApp('team-a', spec({ secret: 'edge' }));
      assert.deepEqual(since(from), [req('/api/v1', ENGINE, 'controller'), req('/api/v1/namespaces/team-a/secrets/edge', ENGINE, 'controller')]);
      assert.deepEqual([target.name, target.home === targets.engine, target.cluster === targets.engine], [base, true, false]);

      const at = seen.length;
      assert.equal(await target.cluster.get(SETTINGS), undefined);
      await target.ping();
      assert.deepEqual(since(at), [
        req('/api/v1', undefined, 'remote'),
        req('/api/v1/namespaces/team-a/configmaps/settings', undefined, 'remote'),
        req('/version', undefined, 'remote'),
      ]);
    });

    it('serviceAccountName: the Secret read as the account at home; the remote cluster with its token, as the account', async () => {
      putClusterSecret('edge', '10', 'remote');
      const targets = newTargets();
      const user = 'system:serviceaccount:team-a:deployer';
      const from = seen.length;
      const target = await targets.forApp('team-a', spec({ secret: 'edge', serviceAccountName: 'deployer' }));
      assert.equal(await target.cluster.get(SETTINGS), undefined);
      await target.ping();
      assert.equal(await target.home.get(CREDS).then((s) => s?.metadata.name), 'app-creds');
      assert.deepEqual(since(from), [
        req('/api/v1', user, 'controller'),
        req('/api/v1/namespaces/team-a/secrets/edge', user, 'controller'),
        req('/api/v1', user, 'remote'),
        req('/api/v1/namespaces/team-a/configmaps/settings', user, 'remote'),
        req('/version', user, 'remote'),
        req('/api/v1/namespaces/team-a/secrets/app-creds', user, 'controller'),
      ]);
    });

    const unreachable: { name: string; status: number; server: () => string; why: string; code: unknown }[] = [
      { name: 'the API server answers 500', status: 500, server: () => base, why: 'HTTP 500', code: 500 },
      { name: 'nothing listens on the port', status: 200, server: () => `http://127.0.0.1:${closedPort}`, why: 'ECONNREFUSED', code: 'ECONNREFUSED' },
    ];
    for (const c of unreachable) {
      it(`ping: ${c.name} → TransientError ClusterUnreachable`, async () => {
        putClusterSecret('flaky', '1', 'remote', c.server());
        const target = await newTargets().forApp('team-a', spec({ secret: 'flaky' }));
        versionStatus = c.status;
        try {
          const err = await rejects(target.ping(), TransientError, 'ClusterUnreachable', `cannot reach cluster ${c.server()}: ${c.why}`);
          assert.equal((err.cause as { code?: unknown }).code, c.code);
        } finally {
          versionStatus = 200;
        }
      });
    }

    it('a missing Secret: WaitingError SecretNotFound, retried after 30 s', async () => {
      const err = await rejects(
        newTargets().forApp('team-a', spec({ secret: 'nowhere' })),
        WaitingError,
        'SecretNotFound',
        'Secret team-a/nowhere (spec.destination.cluster.secretRef) does not exist',
      );
      assert.equal((err as WaitingError).after, 30_000);
    });

    it('an invalid Secret: StalledError InvalidClusterSecret', async () => {
      putSecret('team-a', 'broken', '1', { server: b64(base) });
      await rejects(
        newTargets().forApp('team-a', spec({ secret: 'broken' })),
        StalledError,
        'InvalidClusterSecret',
        'Secret team-a/broken: needs the key kubeconfig, or the keys server and token (and ca.crt unless a public CA signs the server certificate)',
      );
    });

    for (const serviceAccountName of [undefined, 'deployer']) {
      const user = serviceAccountName ? `system:serviceaccount:team-a:${serviceAccountName}` : undefined;
      it(`${serviceAccountName ? 'as an account' : 'as the engine'}: the same resourceVersion reuses the cluster; a new one replaces it, with the new token`, async () => {
        const targets = newTargets();
        const app = spec({ secret: 'rotating', ...(serviceAccountName ? { serviceAccountName } : {}) });
        putClusterSecret('rotating', '1', 'old-token');
        const first = await targets.forApp('team-a', app);
        const again = await targets.forApp('team-a', app);
        putClusterSecret('rotating', '2', 'new-token');
        const rotated = await targets.forApp('team-a', app);
        assert.deepEqual([first.cluster === again.cluster, rotated.cluster === first.cluster], [true, false]);

        const from = seen.length;
        await first.cluster.get(SETTINGS);
        await rotated.cluster.get(SETTINGS);
        assert.deepEqual(since(from), [
          req('/api/v1', user, 'old-token'),
          req('/api/v1/namespaces/team-a/configmaps/settings', user, 'old-token'),
          req('/api/v1', user, 'new-token'),
          req('/api/v1/namespaces/team-a/configmaps/settings', user, 'new-token'),
        ]);
      });
    }

    it('two Secrets naming the same server with different tokens: each Application uses its own', async () => {
      const targets = newTargets();
      putClusterSecret('edge-a', '1', 'token-a');
      putClusterSecret('edge-b', '1', 'token-b');
      const a = await targets.forApp('team-a', spec({ secret: 'edge-a', serviceAccountName: 'deployer' }));
      const b = await targets.forApp('team-a', spec({ secret: 'edge-b', serviceAccountName: 'deployer' }));
      const from = seen.length;
      await a.cluster.get(SETTINGS);
      await b.cluster.get(SETTINGS);
      assert.deepEqual(
        since(from).map((s) => `${s.path} ${s.authorization}`),
        ['/api/v1 Bearer token-a', '/api/v1/namespaces/team-a/configmaps/settings Bearer token-a', '/api/v1 Bearer token-b', '/api/v1/namespaces/team-a/configmaps/settings Bearer token-b'],
      );
    });
  });
});

describe('kubeConfigFromSecret', () => {
  let dir: string;
  /** An existing file holding a token: a kubeconfig naming it must be refused, not read. */
  let tokenFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-targets-'));
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'S3CR3T-from-a-file');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const SERVER = 'https://edge.example:6443';
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n';
  const tls = `certificate-authority-data: ${b64(CA)}`;

  /** What a KubeConfig says about its current cluster and user. */
  const summary = (kc: KubeConfig): Record<string, unknown> => {
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    return {
      server: cluster?.server,
      caData: cluster?.caData ?? undefined,
      skipTLSVerify: cluster?.skipTLSVerify,
      token: user?.token ?? undefined,
      certData: user?.certData ?? undefined,
      keyData: user?.keyData ?? undefined,
    };
  };

  const valid: { name: string; data: () => Record<string, string>; want: Record<string, unknown> }[] = [
    {
      name: 'a kubeconfig with a token (the trailing slash of the server dropped)',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(`${SERVER}/`, 'token: S3CR3T-token', tls)) }),
      want: { server: SERVER, caData: b64(CA), skipTLSVerify: false, token: 'S3CR3T-token', certData: undefined, keyData: undefined },
    },
    {
      name: 'a kubeconfig with an embedded client certificate',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, `client-certificate-data: ${b64('CERT')}\nclient-key-data: ${b64('KEY')}`, tls)) }),
      want: { server: SERVER, caData: b64(CA), skipTLSVerify: false, token: undefined, certData: b64('CERT'), keyData: b64('KEY') },
    },
    {
      name: 'the keys server, token and ca.crt (trimmed)',
      data: () => ({ server: b64(` ${SERVER}\n`), token: b64('S3CR3T-token\n'), 'ca.crt': b64(CA) }),
      want: { server: SERVER, caData: b64(CA), skipTLSVerify: false, token: 'S3CR3T-token', certData: undefined, keyData: undefined },
    },
    {
      name: 'the keys server and token without ca.crt: the system\'s CAs, TLS still verified',
      data: () => ({ server: b64(SERVER), token: b64('S3CR3T-token') }),
      want: { server: SERVER, caData: undefined, skipTLSVerify: false, token: 'S3CR3T-token', certData: undefined, keyData: undefined },
    },
  ];
  for (const c of valid) {
    it(`accepts ${c.name}`, () => {
      assert.deepEqual(summary(kubeConfigFromSecret(c.data(), 'team-a/edge')), c.want);
    });
  }

  const FILES = 'Secret team-a/edge: key kubeconfig refers to files; embed the data (certificate-authority-data, token)';
  const PLUGIN = 'Secret team-a/edge: key kubeconfig uses an exec or auth-provider plugin; use a token or a client certificate';
  const invalid: { name: string; data: () => Record<string, string>; message: string }[] = [
    { name: 'no key at all', data: () => ({}), message: 'Secret team-a/edge: needs the key kubeconfig, or the keys server and token (and ca.crt unless a public CA signs the server certificate)' },
    { name: 'server without token', data: () => ({ server: b64(SERVER), 'ca.crt': b64(CA) }), message: 'Secret team-a/edge: needs the key kubeconfig, or the keys server and token (and ca.crt unless a public CA signs the server certificate)' },
    { name: 'token without server', data: () => ({ token: b64('S3CR3T-token') }), message: 'Secret team-a/edge: needs the key kubeconfig, or the keys server and token (and ca.crt unless a public CA signs the server certificate)' },
    {
      name: 'an exec user',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, 'exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: /bin/sh\n  args: [-c, "cat /etc/shadow"]', tls)) }),
      message: PLUGIN,
    },
    {
      name: 'an auth-provider user',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, 'auth-provider:\n  name: oidc\n  config: {id-token: S3CR3T-token}', tls)) }),
      message: PLUGIN,
    },
    { name: 'certificate-authority: a file', data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, 'token: S3CR3T-token', 'certificate-authority: /etc/ssl/ca.pem')) }), message: FILES },
    {
      name: 'client-certificate and client-key: files',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, 'client-certificate: /etc/tls/tls.crt\nclient-key: /etc/tls/tls.key', tls)) }),
      message: FILES,
    },
    // client-node reads `token-file` while it loads a kubeconfig: a Secret naming the controller's own token
    // would send it to any server.
    { name: 'token-file (read by client-node)', data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, `token-file: ${tokenFile}`, tls)) }), message: FILES },
    { name: 'tokenFile (kubectl\'s spelling)', data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, `tokenFile: ${tokenFile}`, tls)) }), message: FILES },
    {
      name: 'token-file of a user that is not the current one',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, 'token: S3CR3T-token', tls).replace('users:\n', `users:\n- name: other\n  user: {token-file: ${tokenFile}}\n`)) }),
      message: FILES,
    },
    { name: 'not YAML', data: () => ({ kubeconfig: b64('clusters: [unclosed\n') }), message: 'Secret team-a/edge: key kubeconfig is not a kubeconfig: unexpected end of the stream within a flow collection (2:1)' },
    { name: 'a cluster without a server', data: () => ({ kubeconfig: b64(kubeconfigYaml('', 'token: S3CR3T-token', tls)) }), message: 'Secret team-a/edge: key kubeconfig is not a kubeconfig: clusters[0].cluster.server is missing' },
    {
      name: 'no current context',
      data: () => ({ kubeconfig: b64(kubeconfigYaml(SERVER, 'token: S3CR3T-token', tls).replace('current-context: edge\n', '')) }),
      message: 'Secret team-a/edge: key kubeconfig has no current cluster with a server',
    },
    { name: 'YAML that is not a mapping', data: () => ({ kubeconfig: b64('just some text\n') }), message: 'Secret team-a/edge: key kubeconfig has no current cluster with a server' },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}: StalledError InvalidClusterSecret`, () => {
      throws(() => kubeConfigFromSecret(c.data(), 'team-a/edge'), StalledError, 'InvalidClusterSecret', c.message);
    });
  }
});
