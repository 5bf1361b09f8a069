// sigil-controller's sealing keys over time, with the controller as a real process under the shipped RBAC:
// rotation, restore from a backup, a key marked compromised, and Sealed Secrets' keys imported. Each change
// takes effect without a restart, and files sealed before it still open (or, for a compromised key, no
// longer do).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { binaryPath } from '../env/build.js';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/processes.js';
import { startSealedSecretsController } from '../env/sealed-secrets.js';
import {
  installController,
  kubectlFor,
  readyCondition,
  secretData,
  startControllerProcess,
  type ControllerProcess,
  type Kubectl,
} from '../helpers/controller-process.js';
import { runSeal, tempDir } from '../helpers/run-seal.js';

const NO_KEY_OPENS = 'no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A key Secret of sigil-system as the API returns it. */
interface KeySecret {
  name: string;
  state: string | undefined;
  type: string | undefined;
  cert: string;
}

describe('sigil-controller keys: rotation, restore, compromise and import without restart', () => {
  let cp: ControlPlane;
  let dir: string;
  let kubectl: Kubectl;
  let saKubeconfig: string;
  let controller: ControllerProcess | undefined;

  const publishedCert = (): string => kubectl('-n', 'sigil-system', 'get', 'configmap', 'sigil-sealing-cert', '-o', 'jsonpath={.data.cert\\.pem}');
  const keySecrets = (): KeySecret[] => {
    const list = JSON.parse(kubectl('-n', 'sigil-system', 'get', 'secret', '-l', 'sigil.dev/sealing-key', '-o', 'json')) as {
      items: { metadata: { name: string; labels?: Record<string, string> }; type?: string; data: Record<string, string> }[];
    };
    return list.items.map((s) => ({
      name: s.metadata.name,
      state: s.metadata.labels?.['sigil.dev/sealing-key'],
      type: s.type,
      cert: Buffer.from(s.data['tls.crt']!, 'base64').toString('utf8'),
    }));
  };
  const usableKeysMetric = async (): Promise<string | undefined> =>
    /^sigil_sealing_keys\{state="usable"\} (\d+)$/m.exec(await (await fetch(`${controller!.metrics}/metrics`)).text())?.[1];
  const writeFile = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  /** `seal` output for Secret prod/`name` holding password=`value`; with `cert` (a file), else the cluster's. */
  const seal = async (name: string, value: string, cert?: string): Promise<string> => {
    const r = await runSeal(cert ? ['--cert', cert] : [], {
      stdin: `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: ${value}}\n`,
      env: { KUBECONFIG: cp.kubeconfig },
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const unsealed = async (name: string, value: string): Promise<void> => {
    await waitUntil(`Secret prod/${name}`, async () => secretData(kubectl, 'prod', name) !== undefined, { timeoutMs: 20_000, server: controller!.server });
    assert.deepEqual(secretData(kubectl, 'prod', name), { password: b64(value) });
    await waitUntil(`Ready=True on ${name}`, async () => readyCondition(kubectl, 'prod', name).status === 'True', { timeoutMs: 10_000 });
    assert.equal(readyCondition(kubectl, 'prod', name).reason, 'Unsealed');
  };
  const refused = async (name: string): Promise<void> => {
    await waitUntil(`Ready=False on ${name}`, async () => readyCondition(kubectl, 'prod', name).status === 'False', { timeoutMs: 20_000, server: controller!.server });
    const { status, reason, message } = readyCondition(kubectl, 'prod', name);
    assert.deepEqual({ status, reason, message }, { status: 'False', reason: 'DecryptFailed', message: `SealedSecret prod/${name}: key password: ${NO_KEY_OPENS}` });
    assert.equal(secretData(kubectl, 'prod', name), undefined);
  };
  const start = async (name: string, args: string[] = []): Promise<ControllerProcess> =>
    (controller = await startControllerProcess({ name, kubeconfig: saKubeconfig, dir, args }));
  const stop = async (): Promise<void> => {
    await controller?.stop();
    controller = undefined;
  };

  before(async () => {
    dir = tempDir('sigil-controller-keys-');
    cp = await startControlPlane({ dir });
    kubectl = kubectlFor(cp.kubeconfig);
    saKubeconfig = await installController(cp, dir);
    kubectl('create', 'namespace', 'prod');
  });
  after(async () => {
    await stop();
    await cp?.stop();
  });

  describe('rotation', () => {
    before(async () => {
      await start('rotating', ['--key-renew-period=3s']);
    });
    after(async () => {
      // The 3 s period keeps making keys: stop it, and leave no key behind for the next controller.
      await stop();
      kubectl('-n', 'sigil-system', 'delete', 'secret', '-l', 'sigil.dev/sealing-key');
    });

    it('publishes a new certificate once the period is over; values sealed with the old and the new one open', async () => {
      const first = publishedCert();
      assert.match(first, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
      await waitUntil('a new certificate published', async () => publishedCert() !== first, { timeoutMs: 15_000, server: controller!.server });
      const fetched = await runSeal(['cert'], { env: { KUBECONFIG: cp.kubeconfig } });
      assert.equal(fetched.code, 0, fetched.stderr);
      const second = fetched.stdout;
      assert.notEqual(second, first);

      kubectl.apply(await seal('sealed-before-rotation', 'old-value', writeFile('first.pem', first)));
      kubectl.apply(await seal('sealed-after-rotation', 'new-value', writeFile('second.pem', second)));
      await unsealed('sealed-before-rotation', 'old-value');
      await unsealed('sealed-after-rotation', 'new-value');

      const keys = keySecrets();
      for (const cert of [first, second]) {
        const holders = keys.filter((k) => k.cert === cert).map(({ state, type }) => ({ state, type }));
        assert.deepEqual(holders, [{ state: 'active', type: 'kubernetes.io/tls' }]);
      }
    });
  });

  describe('backup, restore and compromise', () => {
    let backupFile: string;
    let firstKey: KeySecret;
    let sealedForFirst: { lost: string; restored: string };

    before(async () => {
      await start('restoring');
    });
    after(stop);

    it('replaces a deleted last key at once; a restored backup opens old values, refused ones included, without a restart', async () => {
      const keys = keySecrets();
      assert.equal(keys.length, 1);
      firstKey = keys[0]!;
      assert.equal(publishedCert(), firstKey.cert);
      backupFile = writeFile('backup.yaml', kubectl('-n', 'sigil-system', 'get', 'secret', '-l', 'sigil.dev/sealing-key', '-o', 'yaml'));
      sealedForFirst = { lost: await seal('lost', 'lost-value'), restored: await seal('restored', 'restored-value') };

      kubectl('-n', 'sigil-system', 'delete', 'secret', '-l', 'sigil.dev/sealing-key');
      await waitUntil('a new key made and published', async () => {
        const now = keySecrets();
        return now.length === 1 && now[0]!.name !== firstKey.name && publishedCert() === now[0]!.cert;
      }, { timeoutMs: 20_000, server: controller!.server });
      const secondKey = keySecrets()[0]!;
      assert.equal(secondKey.state, 'active');
      kubectl.apply(sealedForFirst.lost);
      await refused('lost');

      const backup = yaml.load(readFileSync(backupFile, 'utf8')) as { items: { metadata: Record<string, unknown> }[] };
      for (const item of backup.items) for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields']) delete item.metadata[field];
      kubectl.apply(yaml.dump(backup));
      await waitUntil('the restored key loaded', async () => (await usableKeysMetric()) === '2', { timeoutMs: 20_000, server: controller!.server });
      assert.deepEqual(keySecrets().map((k) => k.name).sort(), [firstKey.name, secondKey.name].sort());
      assert.equal(publishedCert(), secondKey.cert, 'the restored key is older: the newest stays published');

      // Refused while its key was gone; tried again once the key is back, without anyone touching it.
      await unsealed('lost', 'lost-value');
      kubectl.apply(sealedForFirst.restored);
      await unsealed('restored', 'restored-value');
    });

    it('seal unseal --key with the backup opens the sealed file offline', async () => {
      const r = await runSeal(['unseal', '--key', backupFile], { stdin: sealedForFirst.restored });
      assert.equal(r.code, 0, r.stderr);
      const secret = yaml.load(r.stdout) as { kind: string; metadata: { name: string; namespace: string }; data: Record<string, string> };
      assert.deepEqual([secret.kind, secret.metadata.name, secret.metadata.namespace, secret.data], ['Secret', 'restored', 'prod', { password: b64('restored-value') }]);
    });

    it('a key relabelled compromised opens no new value and is no longer published; with none usable left a new key is', async () => {
      const newest = keySecrets().find((k) => k.cert === publishedCert())!;
      const sealedForNewest = await seal('for-compromised-key', 'value');
      kubectl('-n', 'sigil-system', 'label', 'secret', newest.name, 'sigil.dev/sealing-key=compromised', '--overwrite');
      await waitUntil('the older usable key published instead', async () => publishedCert() === firstKey.cert, { timeoutMs: 20_000, server: controller!.server });
      kubectl.apply(sealedForNewest);
      await refused('for-compromised-key');
      assert.deepEqual(keySecrets().map(({ name, state }) => ({ name, state })).sort(byName), [
        { name: firstKey.name, state: 'active' },
        { name: newest.name, state: 'compromised' },
      ].sort(byName));

      kubectl('-n', 'sigil-system', 'label', 'secret', firstKey.name, 'sigil.dev/sealing-key=compromised', '--overwrite');
      await waitUntil('a new key made and published', async () => keySecrets().some((k) => k.state === 'active' && k.cert === publishedCert()), {
        timeoutMs: 20_000,
        server: controller!.server,
      });
      const keys = keySecrets();
      assert.deepEqual(keys.filter((k) => k.state === 'compromised').map((k) => k.name).sort(), [firstKey.name, newest.name].sort());
      assert.equal(keys.filter((k) => k.state === 'active').length, 1);
      assert.equal(await usableKeysMetric(), '1');
      kubectl.apply(await seal('for-first-compromised-key', 'value', writeFile('first-key.pem', firstKey.cert)));
      await refused('for-first-compromised-key');
      kubectl.apply(await seal('for-new-key', 'new-key-value'));
      await unsealed('for-new-key', 'new-key-value');
    });
  });

  describe("import of Sealed Secrets' keys", () => {
    after(stop);

    it('opens what real kubeseal sealed for the real Sealed Secrets controller once started with --import-bitnami-keys', async () => {
      const ss = await startSealedSecretsController({ dir, controlPlane: cp });
      let bitnami: { spec: { encryptedData: Record<string, string> } };
      try {
        const out = execFileSync(binaryPath('kubeseal', 'kubeseal'), ['--cert', writeFile('bitnami.pem', ss.certPem), '--scope', 'strict', '-o', 'yaml'], {
          input: 'apiVersion: v1\nkind: Secret\nmetadata: {name: from-kubeseal, namespace: prod}\nstringData: {password: kubeseal-value}\n',
          env: { HOME: tempDir('sigil-kubeseal-home-'), PATH: process.env.PATH },
          encoding: 'utf8',
        });
        bitnami = yaml.load(out) as typeof bitnami;
      } finally {
        // Sigil does not touch bitnami.com objects here; stopped so that only Sigil can have made the Secret.
        await ss.stop();
      }
      const sealed = yaml.dump({
        apiVersion: 'sigil.dev/v1',
        kind: 'SealedSecret',
        metadata: { name: 'from-kubeseal', namespace: 'prod' },
        spec: { scope: 'strict', encryptedData: bitnami.spec.encryptedData },
      });

      await start('without-import');
      kubectl.apply(sealed);
      await refused('from-kubeseal');
      await stop();

      await start('with-import', ['--import-bitnami-keys']);
      await unsealed('from-kubeseal', 'kubeseal-value');
      assert.equal(publishedCert(), ss.certPem, "the adopted key is the newest: it stays the one to seal with");
      assert.equal(
        kubectl('-n', 'kube-system', 'get', 'secret', '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key', '-o', 'jsonpath={.items[*].metadata.labels.sealedsecrets\\.bitnami\\.com/sealed-secrets-key}'),
        'active',
      );
    });
  });
});

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
