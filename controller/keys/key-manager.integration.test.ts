// The key manager against a real etcd + kube-apiserver: key Secrets made, reused, renewed, compromised,
// deleted and restored, Sealed Secrets' keys adopted, the certificate ConfigMap kept on the newest key, and
// only the leader writing. Each case has its own namespace. Keys are RSA 2048 here for speed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { parseCertificate } from '../../shared/crypto/certificate.js';
import type { SealedSecret } from '../../shared/manifest/sealed-secret.js';
import { sealSecret } from '../../shared/sealing/seal-secret.js';
import { startControlPlane, type ControlPlane } from '../../test/env/control-plane.js';
import { waitUntil } from '../../test/env/processes.js';
import { keyFixture } from '../../test/fixtures/keys/index.js';
import { KeyManager, RETRY_MS, type KeyManagerOptions, type KeyTimers } from './key-manager.js';
import type { SealingKey } from './key-ring.js';
import { MAX_TIMER_MS } from './renewal.js';

const NO_KEY = 'no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)';
const T0 = new Date('2026-03-01T10:00:00.000Z');
const HOUR = 3_600_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);

let cp: ControlPlane;
let dir: string;
let core: k8s.CoreV1Api;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-keys-'));
  cp = await startControlPlane({ dir });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
});

after(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh namespace for one case. */
async function namespace(name: string): Promise<string> {
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Timers that fire only when the test says so. */
function manualTimers(): KeyTimers & { delays(): number[]; fire(): void } {
  const armed = new Map<number, { fn: () => void; ms: number }>();
  let seq = 0;
  return {
    setTimeout(fn, ms) {
      armed.set(++seq, { fn, ms });
      return seq;
    },
    clearTimeout(handle) {
      armed.delete(handle as number);
    },
    delays: () => [...armed.values()].map((t) => t.ms),
    fire() {
      const [entry] = armed;
      assert.ok(entry, 'no timer is armed');
      armed.delete(entry[0]);
      entry[1].fn();
    },
  };
}

interface Harness {
  manager: KeyManager;
  created: string[];
  logs: { msg: string; fields: Record<string, unknown> }[];
}

/** A KeyManager on the test cluster, stopped when the test ends; it records the keys it makes and its logs. */
function keyManager(t: TestContext, options: Partial<KeyManagerOptions> & { namespace: string }): Harness {
  const created: string[] = [];
  const logs: Harness['logs'] = [];
  const manager = new KeyManager({
    core,
    bits: 2048,
    renewPeriodMs: 0,
    clock: () => T0,
    onNewKey: (key) => created.push(key.name),
    log: (msg, fields) => logs.push({ msg, fields }),
    ...options,
  });
  t.after(() => manager.stop());
  return { manager, created, logs };
}

const certOf = (s: k8s.V1Secret): string => Buffer.from(s.data!['tls.crt']!, 'base64').toString('utf8');

/** Sigil's key Secrets in `ns`, oldest certificate first (creationTimestamp has whole seconds only). */
async function keySecrets(ns: string): Promise<k8s.V1Secret[]> {
  const list = await core.listNamespacedSecret({ namespace: ns, labelSelector: 'sigil.dev/sealing-key' });
  const notBefore = (s: k8s.V1Secret): number => parseCertificate(certOf(s)).notBefore.getTime();
  return list.items.sort((a, b) => notBefore(a) - notBefore(b));
}

async function publishedCert(ns: string): Promise<{ pem: string | undefined; resourceVersion: string | undefined } | undefined> {
  try {
    const cm = await core.readNamespacedConfigMap({ name: 'sigil-sealing-cert', namespace: ns });
    return { pem: cm.data?.['cert.pem'], resourceVersion: cm.metadata?.resourceVersion };
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** A SealedSecret prod/db with one value, `password`, sealed for the certificate `certPem` only. */
function sealedFor(certPem: string): SealedSecret {
  const data = new Map([['password', Buffer.from('hunter2')]]);
  return sealSecret(
    { name: 'db', namespace: 'prod', labels: {}, annotations: {}, type: 'Opaque', data, where: 'test' },
    { publicKey: parseCertificate(certPem).publicKey, scope: 'strict', api: 'sigil', defaultNamespace: '' },
  );
}

const opensAs = (m: KeyManager, ss: SealedSecret): { keyName: string; password: string | undefined } => {
  const { secret, keyName } = m.ring().unseal(ss);
  return { keyName, password: Buffer.from(secret.data.password ?? '', 'base64').toString() };
};

const DECRYPT_FAILED = { name: 'StalledError', reason: 'DecryptFailed', message: `SealedSecret prod/db: key password: ${NO_KEY}` };

/** Relabels a key Secret in the cluster and returns it as the informer would report it. */
async function relabel(s: k8s.V1Secret, label: string, value: string): Promise<k8s.V1Secret> {
  const current = await core.readNamespacedSecret({ name: s.metadata!.name!, namespace: s.metadata!.namespace! });
  current.metadata!.labels = { ...current.metadata!.labels, [label]: value };
  return core.replaceNamespacedSecret({ name: s.metadata!.name!, namespace: s.metadata!.namespace!, body: current });
}

const names = (keys: SealingKey[]): string[] => keys.map((k) => k.name);

describe('KeyManager (etcd + kube-apiserver)', () => {
  it('first start: one key Secret, labelled and typed, its certificate published; a second start reuses it', async (t) => {
    const ns = await namespace('keys-first');
    const first = keyManager(t, { namespace: ns });
    assert.equal(first.manager.ready(), false);
    await first.manager.start();

    const secrets = await keySecrets(ns);
    assert.equal(secrets.length, 1);
    const [secret] = secrets as [k8s.V1Secret];
    assert.match(secret.metadata!.name!, /^sigil-sealing-key-[a-z0-9]{5}$/);
    assert.equal(secret.metadata!.generateName, 'sigil-sealing-key-');
    assert.deepEqual(secret.metadata!.labels, { 'sigil.dev/sealing-key': 'active' });
    assert.deepEqual(secret.metadata!.annotations, { 'sigil.dev/created-at': '2026-03-01T10:00:00.000Z' });
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(secret.data!).sort(), ['tls.crt', 'tls.key']);
    const cert = parseCertificate(certOf(secret));
    assert.deepEqual([cert.notBefore, cert.publicKey.asymmetricKeyDetails?.modulusLength], [T0, 2048]);

    const published = await publishedCert(ns);
    assert.equal(published?.pem, certOf(secret));
    assert.equal(first.manager.certPem(), certOf(secret));
    assert.equal(first.manager.ready(), true);
    assert.deepEqual(first.created, [secret.metadata!.name]);
    assert.deepEqual(opensAs(first.manager, sealedFor(certOf(secret))), { keyName: secret.metadata!.name, password: 'hunter2' });

    // Nothing secret in the log lines.
    const logged = JSON.stringify(first.logs);
    assert.equal(logged.includes('PRIVATE KEY') || logged.includes(secret.data!['tls.key']!.slice(0, 40)), false);
    assert.deepEqual(first.logs.map((l) => l.msg), ['sealing keys loaded', 'sealing key created', 'sealing certificate published']);

    const second = keyManager(t, { namespace: ns, clock: () => at(HOUR) });
    await second.manager.start();
    assert.deepEqual((await keySecrets(ns)).map((s) => s.metadata!.name), [secret.metadata!.name]);
    assert.deepEqual(second.created, []);
    assert.deepEqual(await publishedCert(ns), published, 'the ConfigMap is not written again');
    assert.equal(second.manager.certPem(), certOf(secret));
  });

  it('cutoff time after the newest key: a new key, published; the old one still opens', async (t) => {
    const ns = await namespace('keys-cutoff');
    const old = keyManager(t, { namespace: ns });
    await old.manager.start();
    const [oldSecret] = (await keySecrets(ns)) as [k8s.V1Secret];

    const later = keyManager(t, { namespace: ns, cutoffTime: at(HOUR), clock: () => at(2 * HOUR) });
    await later.manager.start();
    const secrets = await keySecrets(ns);
    assert.equal(secrets.length, 2);
    const newSecret = secrets[1]!;
    assert.deepEqual(later.created, [newSecret.metadata!.name]);
    assert.deepEqual(parseCertificate(certOf(newSecret)).notBefore, at(2 * HOUR));
    assert.equal((await publishedCert(ns))?.pem, certOf(newSecret));
    assert.deepEqual(names(later.manager.ring().usable()), [newSecret.metadata!.name, oldSecret.metadata!.name]);
    assert.deepEqual(opensAs(later.manager, sealedFor(certOf(oldSecret))), { keyName: oldSecret.metadata!.name, password: 'hunter2' });

    // A cutoff the newest key already passes makes nothing.
    const again = keyManager(t, { namespace: ns, cutoffTime: at(HOUR), clock: () => at(3 * HOUR) });
    await again.manager.start();
    assert.deepEqual(again.created, []);
    assert.equal((await keySecrets(ns)).length, 2);
  });

  it('renewal: the timer waits (in steps setTimeout can hold) until the newest key is one period old', async (t) => {
    const ns = await namespace('keys-renew');
    const period = 720 * HOUR; // longer than setTimeout's limit: two steps
    let now = T0;
    const timers = manualTimers();
    const h = keyManager(t, { namespace: ns, renewPeriodMs: period, clock: () => now, timers });
    await h.manager.start();
    const [firstSecret] = (await keySecrets(ns)) as [k8s.V1Secret];
    assert.deepEqual(timers.delays(), [MAX_TIMER_MS]);

    now = at(MAX_TIMER_MS);
    timers.fire();
    await h.manager.idle();
    assert.deepEqual(h.created, [firstSecret.metadata!.name], 'not due yet: no key');
    assert.deepEqual(timers.delays(), [period - MAX_TIMER_MS]);

    now = at(period);
    timers.fire();
    await h.manager.idle();
    const secrets = await keySecrets(ns);
    assert.equal(secrets.length, 2);
    const renewed = secrets[1]!;
    assert.deepEqual(h.created, [firstSecret.metadata!.name, renewed.metadata!.name]);
    assert.deepEqual(parseCertificate(certOf(renewed)).notBefore, at(period));
    assert.equal((await publishedCert(ns))?.pem, certOf(renewed));
    assert.equal(h.manager.certPem(), certOf(renewed));
    assert.deepEqual(timers.delays(), [MAX_TIMER_MS], 're-armed for the new key');

    await h.manager.stop();
    assert.deepEqual(timers.delays(), []);
  });

  it('a restart after the period renews at once', async (t) => {
    const ns = await namespace('keys-renew-late');
    await keyManager(t, { namespace: ns }).manager.start();
    const late = keyManager(t, { namespace: ns, renewPeriodMs: HOUR, clock: () => at(HOUR), timers: manualTimers() });
    await late.manager.start();
    assert.equal(late.created.length, 1);
    assert.equal((await keySecrets(ns)).length, 2);
    assert.deepEqual(parseCertificate(late.manager.certPem()).notBefore, at(HOUR));
  });

  it('a key relabelled compromised: never used to open again, never published; none left → a new one', async (t) => {
    const ns = await namespace('keys-compromised');
    await keyManager(t, { namespace: ns }).manager.start();
    await keyManager(t, { namespace: ns, cutoffTime: at(HOUR), clock: () => at(HOUR) }).manager.start();
    const [older, newer] = (await keySecrets(ns)) as [k8s.V1Secret, k8s.V1Secret];
    const h = keyManager(t, { namespace: ns, clock: () => at(2 * HOUR) });
    await h.manager.start();
    const sealedForNewer = sealedFor(certOf(newer));
    assert.equal(opensAs(h.manager, sealedForNewer).keyName, newer.metadata!.name);
    assert.equal((await publishedCert(ns))?.pem, certOf(newer));

    h.manager.applySecret('MODIFIED', await relabel(newer, 'sigil.dev/sealing-key', 'compromised'));
    await h.manager.idle();
    assert.throws(() => h.manager.ring().unseal(sealedForNewer, newer.metadata!.name), DECRYPT_FAILED);
    assert.equal(h.manager.certPem(), certOf(older));
    assert.equal((await publishedCert(ns))?.pem, certOf(older));
    assert.deepEqual(h.created, []);
    assert.deepEqual(names(h.manager.ring().usable()), [older.metadata!.name]);

    // A restart reads the label too.
    const restarted = keyManager(t, { namespace: ns, clock: () => at(2 * HOUR) });
    await restarted.manager.start();
    assert.throws(() => restarted.manager.ring().unseal(sealedForNewer), DECRYPT_FAILED);
    assert.equal(restarted.manager.ring().get(newer.metadata!.name!)?.compromised, true);

    // The last usable key compromised as well: the leader makes and publishes a new one.
    h.manager.applySecret('MODIFIED', await relabel(older, 'sigil.dev/sealing-key', 'compromised'));
    await h.manager.idle();
    assert.equal(h.created.length, 1);
    const fresh = (await keySecrets(ns)).find((s) => s.metadata!.name === h.created[0])!;
    assert.equal((await publishedCert(ns))?.pem, certOf(fresh));
    assert.deepEqual(names(h.manager.ring().usable()), [h.created[0]]);
  });

  it('a key deleted, then restored: opens again without a restart', async (t) => {
    const ns = await namespace('keys-restore');
    const h = keyManager(t, { namespace: ns, leader: false });
    await keyManager(t, { namespace: ns }).manager.start();
    await h.manager.start();
    const [secret] = (await keySecrets(ns)) as [k8s.V1Secret];
    const ss = sealedFor(certOf(secret));
    assert.equal(opensAs(h.manager, ss).password, 'hunter2');

    await core.deleteNamespacedSecret({ name: secret.metadata!.name!, namespace: ns });
    h.manager.applySecret('DELETED', secret);
    assert.throws(() => h.manager.ring().unseal(ss), DECRYPT_FAILED);
    assert.equal(h.manager.ready(), false);

    const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, managedFields: _mf, ...metadata } = secret.metadata!;
    const restored = await core.createNamespacedSecret({ namespace: ns, body: { ...secret, metadata } });
    h.manager.applySecret('ADDED', restored);
    assert.deepEqual(opensAs(h.manager, ss), { keyName: secret.metadata!.name, password: 'hunter2' });
    assert.equal(h.manager.certPem(), certOf(secret));
  });

  it('the leader replaces a deleted last key at once', async (t) => {
    const ns = await namespace('keys-deleted-leader');
    const h = keyManager(t, { namespace: ns, clock: () => at(HOUR) });
    await h.manager.start();
    const [secret] = (await keySecrets(ns)) as [k8s.V1Secret];
    await core.deleteNamespacedSecret({ name: secret.metadata!.name!, namespace: ns });
    h.manager.applySecret('DELETED', secret);
    await h.manager.idle();
    assert.equal(h.created.length, 2);
    const [replacement] = (await keySecrets(ns)) as [k8s.V1Secret];
    assert.equal(replacement.metadata!.name, h.created[1]);
    assert.equal((await publishedCert(ns))?.pem, certOf(replacement));
  });

  it("imports Sealed Secrets' key from kube-system: it opens values sealed for it and is published", async (t) => {
    const ns = await namespace('keys-bitnami');
    const backup = yaml.load(keyFixture('backup.yaml')) as { items: k8s.V1Secret[] };
    const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...metadata } = backup.items[0]!.metadata!;
    const bitnami = await core.createNamespacedSecret({ namespace: 'kube-system', body: { ...backup.items[0]!, metadata } });

    const h = keyManager(t, { namespace: ns, importBitnami: { namespace: 'kube-system' } });
    await h.manager.start();
    const fixtureCert = keyFixture('sealing-2048.crt');
    assert.deepEqual(opensAs(h.manager, sealedFor(fixtureCert)), { keyName: 'sealed-secrets-keyx7k2p', password: 'hunter2' });
    assert.equal(h.manager.ring().get('sealed-secrets-keyx7k2p')?.source, 'bitnami');
    // The adopted key is usable, so no key is made; its certificate is the one `seal` keeps using.
    assert.deepEqual(h.created, []);
    assert.equal((await keySecrets(ns)).length, 0);
    assert.equal(parseCertificate((await publishedCert(ns))!.pem!).fingerprint, parseCertificate(fixtureCert).fingerprint);

    // Without importBitnami, the same Secret is nothing to the manager.
    const plain = keyManager(t, { namespace: await namespace('keys-no-bitnami'), leader: false });
    await plain.manager.start();
    plain.manager.applySecret('ADDED', bitnami);
    assert.equal(plain.manager.ring().size(), 0);

    // Sealed Secrets' own `compromised` label is honoured too.
    h.manager.applySecret('MODIFIED', await relabel(bitnami, 'sealedsecrets.bitnami.com/sealed-secrets-key', 'compromised'));
    await h.manager.idle();
    assert.throws(() => h.manager.ring().unseal(sealedFor(fixtureCert)), DECRYPT_FAILED);
    assert.equal(h.created.length, 1, 'no usable key left: a Sigil key is made');
    assert.equal((await publishedCert(ns))?.pem, h.manager.certPem());
    await core.deleteNamespacedSecret({ name: 'sealed-secrets-keyx7k2p', namespace: 'kube-system' });
  });

  it('a non-leader makes no key and writes nothing; once leader, it does', async (t) => {
    const ns = await namespace('keys-follower');
    const timers = manualTimers();
    const h = keyManager(t, { namespace: ns, leader: false, renewPeriodMs: HOUR, cutoffTime: at(HOUR), timers });
    await h.manager.start();
    assert.deepEqual(await keySecrets(ns), []);
    assert.equal(await publishedCert(ns), undefined);
    assert.equal(h.manager.ready(), false);
    assert.throws(() => h.manager.certPem(), { name: 'TransientError', reason: 'NoSealingKey', message: 'no usable sealing key is loaded yet' });
    assert.deepEqual(timers.delays(), []);

    await h.manager.setLeader(true);
    const [secret] = (await keySecrets(ns)) as [k8s.V1Secret];
    assert.deepEqual(h.created, [secret.metadata!.name]);
    assert.equal((await publishedCert(ns))?.pem, certOf(secret));
    assert.deepEqual(timers.delays(), [HOUR]);

    await h.manager.setLeader(false);
    assert.deepEqual(timers.delays(), []);
  });

  it('a failed write is logged and retried by the leader; nothing secret in the message', async (t) => {
    const ns = await namespace('keys-rbac');
    const kc = new k8s.KubeConfig();
    kc.loadFromString(await cp.kubeconfigForServiceAccount(ns, 'controller'));
    const asController = kc.makeApiClient(k8s.CoreV1Api);
    await grant(ns, 'secrets', ['get', 'list', 'watch', 'create', 'update', 'delete']);
    await waitUntil('the secrets Role takes effect', async () => (await asController.listNamespacedSecret({ namespace: ns })).items.length === 0, {
      timeoutMs: 10_000,
    });

    const timers = manualTimers();
    const h = keyManager(t, { namespace: ns, core: asController, leader: false, timers });
    await h.manager.start();
    await h.manager.setLeader(true);
    const [secret] = (await keySecrets(ns)) as [k8s.V1Secret];
    assert.deepEqual(h.created, [secret.metadata!.name]);
    assert.equal(await publishedCert(ns), undefined);
    assert.deepEqual(h.logs.at(-1), {
      msg: 'sealing key work failed; retrying',
      fields: {
        reason: 'CertPublishFailed',
        error: `cannot publish the sealing certificate in ConfigMap ${ns}/sigil-sealing-cert: HTTP 403 Forbidden`,
        retryInMs: RETRY_MS,
      },
    });
    assert.deepEqual(timers.delays(), [RETRY_MS]);

    await grant(ns, 'configmaps', ['get', 'create', 'update']);
    await waitUntil('the configmaps Role takes effect', async () => {
      try {
        await asController.readNamespacedConfigMap({ name: 'sigil-sealing-cert', namespace: ns });
        return true;
      } catch (err) {
        return (err as { code?: number }).code === 404;
      }
    }, { timeoutMs: 10_000 });
    timers.fire();
    await h.manager.idle();
    assert.equal((await publishedCert(ns))?.pem, certOf(secret));
    assert.deepEqual(h.created, [secret.metadata!.name], 'the retry makes no second key');
    assert.deepEqual(timers.delays(), [], 'renewal is off: nothing more to wait for');
  });
});

/** Lets ServiceAccount `ns/controller` use `verbs` on `resource` in `ns`. */
async function grant(ns: string, resource: string, verbs: string[]): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = `controller-${resource}`;
  await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name }, rules: [{ apiGroups: [''], resources: [resource], verbs }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: 'controller', namespace: ns }],
    },
  });
}
