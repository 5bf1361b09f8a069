// sigil-controller against a real kube-apiserver, run as its own ServiceAccount under the shipped RBAC:
// SealedSecrets sealed with the published certificate become the right Secrets; tampered or moved ones
// get Ready=False with a reason, no Secret, and a Warning event; the ownership rules hold; nothing secret
// appears in logs, events or status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/processes.js';
import {
  installController,
  kubectlFor,
  readyCondition,
  secretData as secretDataOf,
  startControllerProcess,
  type ControllerProcess,
  type Kubectl,
} from '../helpers/controller-process.js';
import { runSeal, tempDir } from '../helpers/run-seal.js';

const PLAINTEXT = 'hunter2-do-not-log';

describe('sigil-controller', () => {
  let cp: ControlPlane;
  let controller: ControllerProcess;
  let adminEnv: Record<string, string>;
  const ciphertexts: string[] = [];
  let kubectl: Kubectl;
  const apply = (yamlText: string): void => kubectl.apply(yamlText);
  const secretData = (name: string): Record<string, string> | undefined => secretDataOf(kubectl, 'prod', name);
  const ready = (name: string): { status?: string; reason?: string; message?: string } => readyCondition(kubectl, 'prod', name);
  const seal = async (name: string, stringData: Record<string, string>, extra = ''): Promise<string> => {
    const body = Object.entries(stringData).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n');
    const r = await runSeal([], { stdin: `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: prod\n${extra}stringData:\n${body}\n`, env: adminEnv });
    assert.equal(r.code, 0, r.stderr);
    for (const m of r.stdout.matchAll(/^ {4}\S+: (\S{40,})$/gm)) ciphertexts.push(m[1]!);
    return r.stdout;
  };

  before(async () => {
    const dir = tempDir('sigil-controller-');
    cp = await startControlPlane({ dir });
    kubectl = kubectlFor(cp.kubeconfig);
    adminEnv = { KUBECONFIG: cp.kubeconfig };
    const kubeconfig = await installController(cp, dir);
    kubectl('create', 'namespace', 'prod');
    controller = await startControllerProcess({ name: 'sigil-controller', kubeconfig, dir });
  });
  after(async () => {
    await controller?.stop();
    await cp?.stop();
  });

  it('publishes its certificate in the ConfigMap and at /v1/cert.pem', async () => {
    const fromMap = kubectl('-n', 'sigil-system', 'get', 'configmap', 'sigil-sealing-cert', '-o', 'jsonpath={.data.cert\\.pem}');
    assert.match(fromMap, /^-----BEGIN CERTIFICATE-----\n/);
    assert.equal(await (await fetch(`${controller.http}/v1/cert.pem`)).text(), fromMap);
    assert.equal(kubectl('-n', 'sigil-system', 'get', 'secret', '-l', 'sigil.dev/sealing-key=active', '-o', 'jsonpath={.items[*].type}'), 'kubernetes.io/tls');
  });

  it('unseals a SealedSecret into the right Secret, owned, with Ready=True', async () => {
    apply(await seal('db', { password: PLAINTEXT, user: 'admin' }, '  labels: {app: db}\n'));
    await waitUntil('Secret prod/db', async () => secretData('db') !== undefined, { timeoutMs: 20_000 });
    assert.deepEqual(secretData('db'), { password: Buffer.from(PLAINTEXT).toString('base64'), user: Buffer.from('admin').toString('base64') });
    assert.equal(kubectl('-n', 'prod', 'get', 'secret', 'db', '-o', 'jsonpath={.metadata.labels.app} {.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].controller}'), 'db SealedSecret true');
    await waitUntil('Ready=True', async () => ready('db').status === 'True', { timeoutMs: 10_000 });
    assert.equal(ready('db').reason, 'Unsealed');
  });

  it('restores a hand-edited Secret and recreates a deleted one', async () => {
    kubectl('-n', 'prod', 'patch', 'secret', 'db', '--type=merge', '-p', '{"data":{"password":"ZWRpdGVk"}}');
    await waitUntil('drift restored', async () => secretData('db')?.password === Buffer.from(PLAINTEXT).toString('base64'), { timeoutMs: 20_000 });
    kubectl('-n', 'prod', 'delete', 'secret', 'db');
    await waitUntil('Secret recreated', async () => secretData('db')?.user === Buffer.from('admin').toString('base64'), { timeoutMs: 20_000 });
  });

  it('refuses a tampered value and a value moved to another name: Ready=False, no Secret, a Warning event', async () => {
    const sealed = await seal('tampered', { password: PLAINTEXT });
    const value = /password: (\S+)/.exec(sealed)![1]!;
    const bytes = Buffer.from(value, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    apply(sealed.replace(value, bytes.toString('base64')));
    apply((await seal('original', { password: PLAINTEXT })).replace(/name: original/, 'name: moved'));
    for (const [name, why] of [
      ['tampered', 'the value was altered after sealing (integrity check failed)'],
      ['moved', 'no sealing key opens it (wrong key, sealed for another name, namespace or scope, or altered)'],
    ] as const) {
      await waitUntil(`Ready=False on ${name}`, async () => ready(name).status === 'False', { timeoutMs: 20_000 });
      assert.deepEqual(ready(name), { ...ready(name), status: 'False', reason: 'DecryptFailed', message: `SealedSecret prod/${name}: key password: ${why}` });
      assert.equal(secretData(name), undefined);
      const events = kubectl('-n', 'prod', 'get', 'events', '--field-selector', `involvedObject.name=${name},reason=DecryptFailed`, '-o', 'jsonpath={.items[*].type}');
      assert.equal(events, 'Warning');
    }
  });

  it('never overwrites a Secret it does not own, until it is annotated managed', async () => {
    kubectl('-n', 'prod', 'create', 'secret', 'generic', 'theirs', '--from-literal=password=theirs');
    apply(await seal('theirs', { password: PLAINTEXT }));
    await waitUntil('NotOwned', async () => ready('theirs').reason === 'NotOwned', { timeoutMs: 20_000 });
    assert.equal(secretData('theirs')?.password, Buffer.from('theirs').toString('base64'));
    kubectl('-n', 'prod', 'annotate', 'secret', 'theirs', 'sigil.dev/managed=true');
    kubectl('-n', 'prod', 'annotate', 'sealedsecret', 'theirs', 'retry=1');
    await waitUntil('taken over', async () => secretData('theirs')?.password === Buffer.from(PLAINTEXT).toString('base64'), { timeoutMs: 20_000 });
    assert.equal(kubectl('-n', 'prod', 'get', 'secret', 'theirs', '-o', 'jsonpath={.metadata.ownerReferences[0].kind}'), 'SealedSecret');
  });

  it('merges into a Secret annotated patch, without taking it over', async () => {
    kubectl('-n', 'prod', 'create', 'secret', 'generic', 'shared', '--from-literal=other=keep');
    kubectl('-n', 'prod', 'annotate', 'secret', 'shared', 'sigil.dev/patch=true');
    apply(await seal('shared', { password: PLAINTEXT }));
    await waitUntil('patched', async () => secretData('shared')?.password !== undefined, { timeoutMs: 20_000 });
    assert.deepEqual(secretData('shared'), { other: Buffer.from('keep').toString('base64'), password: Buffer.from(PLAINTEXT).toString('base64') });
    assert.equal(kubectl('-n', 'prod', 'get', 'secret', 'shared', '-o', 'jsonpath={.metadata.ownerReferences}'), '');
  });

  it('shows each outcome as a metric', async () => {
    const text = await (await fetch(`${controller.metrics}/metrics`)).text();
    assert.match(text, /^sigil_unseal_total\{result="success",reason="Unsealed"\} \d+$/m);
    assert.match(text, /^sigil_unseal_total\{result="failure",reason="DecryptFailed"\} \d+$/m);
    assert.match(text, /^sigil_unseal_total\{result="failure",reason="NotOwned"\} \d+$/m);
    assert.match(text, /^sigil_sealing_keys\{state="usable"\} 1$/m);
  });

  it('never writes plaintext or ciphertext to logs, events or status', () => {
    const written = [
      controller.logs(),
      kubectl('get', 'events', '-A', '-o', 'json'),
      kubectl('-n', 'prod', 'get', 'sealedsecrets', '-o', 'jsonpath={.items[*].status}'),
    ].join('\n');
    assert.ok(ciphertexts.length >= 5);
    assert.equal(written.includes(PLAINTEXT), false, 'plaintext leaked');
    assert.equal(written.includes(Buffer.from(PLAINTEXT).toString('base64')), false, 'base64 plaintext leaked');
    for (const c of ciphertexts) assert.equal(written.includes(c.slice(0, 40)), false, 'ciphertext leaked');
    assert.match(controller.logs(), /"msg":"Secret written"/);
  });
});
