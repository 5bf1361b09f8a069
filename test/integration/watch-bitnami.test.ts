// sigil-controller --watch-bitnami replaces a Sealed Secrets controller in place: bitnami.com/v1alpha1
// SealedSecrets become Secrets owned by them, with Sealed Secrets' own annotations and Synced condition.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/processes.js';
import { crdPath } from '../env/sealed-secrets.js';
import {
  installController,
  kubectlFor,
  secretData as secretDataOf,
  startControllerProcess,
  type ControllerProcess,
  type Kubectl,
} from '../helpers/controller-process.js';
import { ROOT, runSeal, tempDir } from '../helpers/run-seal.js';

describe('sigil-controller --watch-bitnami', () => {
  let cp: ControlPlane;
  let controller: ControllerProcess;
  let kubectl: Kubectl;
  const secretData = (name: string): Record<string, string> | undefined => secretDataOf(kubectl, 'prod', name);
  const sealBitnami = async (name: string, value: string): Promise<void> => {
    const sealed = await runSeal(['--api', 'bitnami'], {
      stdin: `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: ${value}}\n`,
      env: { KUBECONFIG: cp.kubeconfig },
    });
    assert.equal(sealed.code, 0, sealed.stderr);
    kubectl.apply(sealed.stdout);
  };

  before(async () => {
    const dir = tempDir('sigil-watch-bitnami-');
    cp = await startControlPlane({ dir });
    kubectl = kubectlFor(cp.kubeconfig);
    const kubeconfig = await installController(cp, dir);
    kubectl('apply', '-f', join(ROOT, 'controller/deploy/rbac-bitnami.yaml'));
    kubectl('apply', '--server-side', '-f', await crdPath());
    kubectl('wait', '--for=condition=established', '--timeout=30s', 'crd/sealedsecrets.bitnami.com');
    kubectl('create', 'namespace', 'prod');
    controller = await startControllerProcess({ name: 'sigil-controller', kubeconfig, dir, args: ['--watch-bitnami'] });
  });
  after(async () => {
    await controller?.stop();
    await cp?.stop();
  });

  it('unseals a bitnami.com SealedSecret into a Secret it owns, and reports Synced', async () => {
    await sealBitnami('legacy', 'hunter2');
    await waitUntil('Secret prod/legacy', async () => secretData('legacy') !== undefined, { timeoutMs: 20_000 });
    assert.deepEqual(secretData('legacy'), { password: Buffer.from('hunter2').toString('base64') });
    assert.equal(
      kubectl('-n', 'prod', 'get', 'secret', 'legacy', '-o', 'jsonpath={.metadata.ownerReferences[0].apiVersion} {.metadata.ownerReferences[0].kind}'),
      'bitnami.com/v1alpha1 SealedSecret',
    );
    await waitUntil('Synced', async () => kubectl('-n', 'prod', 'get', 'sealedsecrets.bitnami.com', 'legacy', '-o', 'jsonpath={.status.conditions[?(@.type=="Synced")].status}') === 'True', { timeoutMs: 10_000 });
  });

  it("honours Sealed Secrets' managed annotation on an existing Secret", async () => {
    kubectl('-n', 'prod', 'create', 'secret', 'generic', 'adopted', '--from-literal=password=old');
    await sealBitnami('adopted', 'new');
    await waitUntil('NotOwned', async () =>
      kubectl('-n', 'prod', 'get', 'sealedsecrets.bitnami.com', 'adopted', '-o', 'jsonpath={.status.conditions[?(@.type=="Synced")].reason}') === 'NotOwned', { timeoutMs: 20_000 });
    assert.equal(secretData('adopted')?.password, Buffer.from('old').toString('base64'));
    kubectl('-n', 'prod', 'annotate', 'secret', 'adopted', 'sealedsecrets.bitnami.com/managed=true');
    kubectl('-n', 'prod', 'annotate', 'sealedsecrets.bitnami.com', 'adopted', 'retry=1');
    await waitUntil('taken over', async () => secretData('adopted')?.password === Buffer.from('new').toString('base64'), { timeoutMs: 20_000 });
  });
});
