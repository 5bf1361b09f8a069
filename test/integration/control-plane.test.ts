// The test control plane (test/env/control-plane.ts) is a real etcd + kube-apiserver (+ controller-manager):
// kubectl and client-node talk to it, RBAC is enforced, ServiceAccount tokens and client certificates
// authenticate, and with the controller-manager owner references are garbage-collected.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { binaryPath } from '../env/build.js';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil, isAlive } from '../env/processes.js';

const run = promisify(execFile);

function clientFor(kubeconfigText: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  return kc.makeApiClient(CoreV1Api);
}

function adminKubeConfig(cp: ControlPlane): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  return kc;
}

async function kubectl(cp: ControlPlane, args: string[], kubeconfig = cp.kubeconfig): Promise<string> {
  const { stdout } = await run(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: cp.dir },
    encoding: 'utf8',
  });
  return stdout;
}


/** What a failed client-node call carries: the HTTP status and the Status object's message. */
async function failure(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await call;
  } catch (err) {
    const { code, body } = err as { code: number; body: unknown };
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { reason: string; message: string };
    return { code, reason: status.reason, message: status.message };
  }
  throw new Error('the call succeeded');
}

describe('control plane (etcd + kube-apiserver)', () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-cp-'));
    cp = await startControlPlane({ dir });
  });
  after(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports its versions and startup time', (t) => {
    t.diagnostic(`kubernetes ${cp.versions.kubernetes}, etcd ${cp.versions.etcd}, etcd+apiserver ready in ${cp.startupMs} ms`);
    assert.match(cp.versions.kubernetes, /^v1\.\d+\.\d+$/);
    assert.match(cp.versions.etcd, /^3\.\d+\.\d+$/);
    assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(cp.etcdUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(cp.caPem, /^-----BEGIN CERTIFICATE-----\n/);
  });

  it('writes a self-contained admin kubeconfig readable by its owner only', () => {
    assert.equal(statSync(cp.kubeconfig).mode & 0o777, 0o600);
    const kc = adminKubeConfig(cp);
    assert.equal(kc.getCurrentCluster()?.server, cp.server);
    assert.equal(Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString(), cp.caPem);
    assert.equal(kc.getCurrentUser()?.name, 'admin');
  });

  it('kubectl gets the default namespace', async () => {
    assert.equal(await kubectl(cp, ['get', 'ns', 'default', '-o', 'jsonpath={.metadata.name}']), 'default');
  });

  it('stores a Secret and reads it back (client-node)', async () => {
    const core = adminKubeConfig(cp).makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'db' }, type: 'Opaque', stringData: { password: 'hunter2' } },
    });
    const secret = await core.readNamespacedSecret({ name: 'db', namespace: 'default' });
    assert.deepEqual(secret.data, { password: Buffer.from('hunter2').toString('base64') });
    assert.equal(secret.type, 'Opaque');
  });

  it('server-side applies a ConfigMap as field manager sigil', async () => {
    const core = adminKubeConfig(cp).makeApiClient(CoreV1Api);
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: 'default' }, data: { a: '1' } };
    const applied = await core.patchNamespacedConfigMap(
      { name: 'applied', namespace: 'default', body, fieldManager: 'sigil', force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    assert.deepEqual(applied.data, { a: '1' });
    assert.deepEqual(
      applied.metadata?.managedFields?.map((f) => [f.manager, f.operation, f.fieldsV1]),
      [['sigil', 'Apply', { 'f:data': { 'f:a': {} } }]],
    );
  });

  it('a ServiceAccount is forbidden to list secrets until a RoleBinding allows it', async () => {
    const text = await cp.kubeconfigForServiceAccount('team', 'reader', { expirationSeconds: 600 });
    const sa = clientFor(text);
    assert.deepEqual(await failure(sa.listNamespacedSecret({ namespace: 'team' })), {
      code: 403,
      reason: 'Forbidden',
      message: 'secrets is forbidden: User "system:serviceaccount:team:reader" cannot list resource "secrets" in API group "" in the namespace "team"',
    });

    const rbac = adminKubeConfig(cp).makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: 'team',
      body: { metadata: { name: 'secret-lister' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'team',
      body: {
        metadata: { name: 'reader-lists-secrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-lister' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'team' }],
      },
    });
    // The RBAC authorizer reads from an informer: the binding is effective a moment after it is stored.
    await waitUntil('the RoleBinding takes effect', async () => (await sa.listNamespacedSecret({ namespace: 'team' })).items.length === 0, {
      timeoutMs: 10_000,
    });
  });

  it('a client certificate authenticates user alice in group devs', async () => {
    const file = join(dir, 'alice.kubeconfig');
    writeFileSync(file, await cp.kubeconfigForUser('alice', ['devs']), { mode: 0o600 });
    const out = await kubectl(cp, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}'], file);
    assert.equal(out, 'alice ["devs","system:authenticated"]');
  });
});

describe('control plane with kube-controller-manager', () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-cp-cm-'));
    cp = await startControlPlane({ dir, controllerManager: true });
  });
  after(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('garbage-collects a ConfigMap whose owner is deleted', async (t) => {
    t.diagnostic(`etcd+apiserver ready in ${cp.startupMs} ms`);
    const core = adminKubeConfig(cp).makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: {
          name: 'child',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: 'default', propagationPolicy: 'Background' });
    await waitUntil('the child is garbage-collected', async () => (await failure(core.readNamespacedConfigMap({ name: 'child', namespace: 'default' }))).code === 404, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  });

  it('gives a new namespace its default ServiceAccount and deletes the namespace with its contents', async () => {
    const core = adminKubeConfig(cp).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'inside' } } });
    await waitUntil('the default ServiceAccount exists', async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: 'doomed' })).metadata?.name === 'default', {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await core.deleteNamespace({ name: 'doomed' });
    await waitUntil('the namespace is deleted', async () => (await failure(core.readNamespace({ name: 'doomed' }))).code === 404, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  });

  it('stop() leaves no process', async () => {
    const pids = [cp.pids.etcd, cp.pids.apiserver, cp.pids.controllerManager!];
    assert.deepEqual(pids.map(isAlive), [true, true, true]);
    await cp.stop();
    assert.deepEqual(pids.map(isAlive), [false, false, false]);
  });
});
