// Two sigil-controller processes, one Lease: exactly one leads (reconciles, makes keys), both serve the same
// certificate; when the leader dies without a word (SIGKILL), the other takes over within the lease time and
// unseals what arrived meanwhile.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/processes.js';
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

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('sigil-controller leader election between two processes', () => {
  let cp: ControlPlane;
  let kubectl: Kubectl;
  let replicas: ControllerProcess[] = [];
  let leader: ControllerProcess;
  let follower: ControllerProcess;

  const identity = (c: ControllerProcess): string => `${hostname()}_${c.server.pid}`;
  const lease = (): { holder: string; transitions: string } => {
    const [holder = '', transitions = ''] = kubectl('get', 'lease', '-n', 'sigil-system', 'sigil-controller', '-o', 'jsonpath={.spec.holderIdentity} {.spec.leaseTransitions}').split(' ');
    return { holder, transitions };
  };
  const publishedCert = (): string => kubectl('-n', 'sigil-system', 'get', 'configmap', 'sigil-sealing-cert', '-o', 'jsonpath={.data.cert\\.pem}');
  const keySecretNames = (): string[] => kubectl('-n', 'sigil-system', 'get', 'secret', '-l', 'sigil.dev/sealing-key', '-o', 'jsonpath={.items[*].metadata.name}').split(' ').filter(Boolean);
  const sealAndApply = async (name: string, value: string): Promise<void> => {
    const r = await runSeal([], { stdin: `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: ${value}}\n`, env: { KUBECONFIG: cp.kubeconfig } });
    assert.equal(r.code, 0, r.stderr);
    kubectl.apply(r.stdout);
  };
  const unsealedBy = async (name: string, value: string, by: ControllerProcess, timeoutMs: number): Promise<void> => {
    await waitUntil(`Secret prod/${name}`, async () => secretData(kubectl, 'prod', name)?.password === b64(value), { timeoutMs, server: by.server });
    assert.deepEqual(secretData(kubectl, 'prod', name), { password: b64(value) });
    await waitUntil(`Ready=True on ${name}`, async () => readyCondition(kubectl, 'prod', name).status === 'True', { timeoutMs: 10_000 });
  };

  before(async () => {
    const dir = tempDir('sigil-controller-failover-');
    cp = await startControlPlane({ dir });
    kubectl = kubectlFor(cp.kubeconfig);
    const kubeconfig = await installController(cp, dir);
    kubectl('create', 'namespace', 'prod');
    // Started together, with no key yet: both race for the Lease, and for making the first key.
    replicas = await Promise.all(['replica-a', 'replica-b'].map((name) => startControllerProcess({ name, kubeconfig, dir })));
  });
  after(async () => {
    for (const r of replicas) await r.stop();
    await cp?.stop();
  });

  it('exactly one process holds the Lease', async () => {
    await waitUntil('Lease held', async () => lease().holder !== '', { timeoutMs: 10_000 });
    const holders = replicas.filter((r) => identity(r) === lease().holder);
    assert.equal(holders.length, 1, `holder ${lease().holder}, replicas ${replicas.map(identity).join(', ')}`);
    leader = holders[0]!;
    follower = replicas.find((r) => r !== leader)!;
    assert.equal(lease().transitions, '0');
    assert.match(leader.logs(), /"msg":"became leader"/);
    assert.doesNotMatch(follower.logs(), /"msg":"became leader"/);
  });

  it('both serve the published certificate; only one key Secret exists (the follower makes none)', async () => {
    const cert = publishedCert();
    assert.match(cert, /^-----BEGIN CERTIFICATE-----\n/);
    for (const r of replicas) {
      const response = await fetch(`${r.http}/v1/cert.pem`);
      assert.deepEqual([response.status, await response.text()], [200, cert], r.server.name);
    }
    assert.equal(keySecretNames().length, 1);
    assert.doesNotMatch(follower.logs(), /"msg":"sealing key created"/);
  });

  it('the leader unseals', async () => {
    await sealAndApply('before-failover', 'first');
    await unsealedBy('before-failover', 'first', leader, 20_000);
  });

  it('after SIGKILL of the leader the other takes the Lease within 10 s and unseals what was applied after the kill', async () => {
    const keys = keySecretNames();
    const killedAt = Date.now();
    process.kill(leader.server.pid, 'SIGKILL');
    const keepAlive = setInterval(() => undefined, 1000); // the child is unref'd: keep the loop alive until its exit is seen
    assert.equal(await leader.server.exited, undefined, 'killed by a signal');
    clearInterval(keepAlive);
    await sealAndApply('after-failover', 'second');
    await waitUntil('the follower holds the Lease', async () => lease().holder === identity(follower), { timeoutMs: 10_000, server: follower.server, intervalMs: 200 });
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs < 10_000, `took over after ${tookMs} ms`);
    assert.equal(lease().transitions, '1');
    await unsealedBy('after-failover', 'second', follower, 10_000);
    assert.deepEqual(keySecretNames(), keys, 'the new leader keeps the key; it makes none');
    const response = await fetch(`${follower.http}/v1/cert.pem`);
    assert.deepEqual([response.status, await response.text()], [200, publishedCert()]);
  });
});
