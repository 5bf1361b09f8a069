// Many clusters, many teams, against two real control planes and the real git daemon: an Application
// applying to a remote cluster (and healing drift there); the remote cluster unreachable (reported, nothing
// touched) and back; a team's Application impersonating its ServiceAccount, refused by RBAC when it writes
// into another team's namespace, with nothing applied; a cross-namespace Secret reference refused under
// --no-cross-namespace-refs; unsigned and wrongly signed commits refused, a correctly signed one applied.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { freePort } from '../env/processes.js';
import { kubectlFor, type Kubectl } from '../helpers/controller-process.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { applicationYaml, configMapYaml, readyOf, startSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

describe('sync engine: remote clusters, tenants, signed commits', () => {
  let env: SyncEnv;
  let remote: ControlPlane;
  let remoteKubectl: Kubectl;
  const secret = (namespace: string, name: string, data: Record<string, string>): void => {
    env.kubectl.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data }));
  };
  const cmIn = (kubectl: Kubectl, namespace: string, name: string): Record<string, string> | undefined => {
    const r = kubectl.result(['-n', namespace, 'get', 'configmap', name, '-o', 'jsonpath={.data}']);
    return r.code === 0 && r.stdout ? (JSON.parse(r.stdout) as Record<string, string>) : undefined;
  };

  before(async () => {
    env = await startSyncEnv('sync-clusters', ['--no-cross-namespace-refs']);
    remote = await startControlPlane({ dir: join(env.dir, 'remote') });
    remoteKubectl = kubectlFor(remote.kubeconfig);
    for (const ns of ['sigil-apps', 'team-a', 'team-b']) env.kubectl('create', 'namespace', ns);
    remoteKubectl('create', 'namespace', 'edge');
    await env.git.createRepo('fleet');
  });
  after(async () => {
    await remote?.stop();
    await env?.stop();
  });

  it('applies to a remote cluster named by a kubeconfig Secret, and heals drift there', async () => {
    secret('sigil-apps', 'edge-cluster', { kubeconfig: await remote.kubeconfigForUser('sigil-fleet', ['system:masters']) });
    const sha = await env.git.commitFiles('fleet', { 'edge/cm.yaml': configMapYaml('edge-config', { site: 'edge' }) }, 'edge');
    env.kubectl.apply(applicationYaml({ name: 'edge', repoURL: env.git.daemonUrl('fleet'), path: 'edge', destinationNamespace: 'edge', cluster: 'edge-cluster' }));
    const s = await env.waitForStatus('sigil-apps', 'edge', 'edge synced', (st) => st.lastAppliedRevision === sha && st.sync?.status === 'Synced');
    assert.equal(readyOf(s).status, 'True');
    assert.deepEqual(cmIn(remoteKubectl, 'edge', 'edge-config'), { site: 'edge' });
    assert.equal(env.kubectl.result(['get', 'namespace', 'edge']).code, 1, 'nothing in the controller\'s own cluster');
    remoteKubectl('-n', 'edge', 'patch', 'configmap', 'edge-config', '--type=merge', '-p', '{"data":{"site":"moved"}}');
    await env.waitForStatus('sigil-apps', 'edge', 'healed on the remote', () => cmIn(remoteKubectl, 'edge', 'edge-config')?.site === 'edge');
  });

  it('reports an unreachable remote cluster without touching anything, and recovers', async () => {
    const original = yaml.load(await remote.kubeconfigForUser('sigil-fleet', ['system:masters'])) as { clusters: Array<{ cluster: { server: string } }> };
    const apiPort = Number(new URL(original.clusters[0]!.cluster.server).port);
    const port = await freePort();
    const proxy = await tcpProxy(port, apiPort);
    try {
      original.clusters[0]!.cluster.server = `https://127.0.0.1:${port}`;
      secret('sigil-apps', 'flaky-cluster', { kubeconfig: yaml.dump(original) });
      const sha = await env.git.commitFiles('fleet', { 'flaky/cm.yaml': configMapYaml('flaky-config', { v: '1' }) }, 'flaky');
      env.kubectl.apply(applicationYaml({ name: 'flaky', repoURL: env.git.daemonUrl('fleet'), path: 'flaky', destinationNamespace: 'edge', cluster: 'flaky-cluster' }));
      const synced = await env.waitForStatus('sigil-apps', 'flaky', 'flaky synced', (st) => st.lastAppliedRevision === sha);
      await proxy.close();
      const next = await env.git.commitFiles('fleet', { 'flaky/cm.yaml': configMapYaml('flaky-config', { v: '2' }) }, 'flaky 2');
      const down = await env.waitForStatus('sigil-apps', 'flaky', 'unreachable', (st) => readyOf(st).reason === 'ClusterUnreachable');
      assert.match(readyOf(down).message ?? '', new RegExp(`^cannot reach cluster https://127\\.0\\.0\\.1:${port}: `));
      assert.equal(readyOf(down).status, 'False');
      assert.equal(down.health?.status, 'Unknown');
      assert.deepEqual(down.inventory, synced.inventory);
      assert.equal(down.lastAppliedRevision, sha);
      assert.deepEqual(cmIn(remoteKubectl, 'edge', 'flaky-config'), { v: '1' });
      await proxy.open();
      const back = await env.waitForStatus('sigil-apps', 'flaky', 'recovered', (st) => st.lastAppliedRevision === next && readyOf(st).status === 'True', 60_000);
      assert.equal(readyOf(back).reason, 'Synced');
      assert.deepEqual(cmIn(remoteKubectl, 'edge', 'flaky-config'), { v: '2' });
    } finally {
      await proxy.close();
    }
  });

  it('runs a team\'s Application as its ServiceAccount: RBAC refuses a write into another team\'s namespace and nothing is applied', async () => {
    env.kubectl('-n', 'team-a', 'create', 'serviceaccount', 'deployer');
    env.kubectl('-n', 'team-a', 'create', 'role', 'configmaps', '--verb=get,list,watch,create,patch,delete', '--resource=configmaps');
    env.kubectl('-n', 'team-a', 'create', 'rolebinding', 'deployer', '--role=configmaps', '--serviceaccount=team-a:deployer');
    const sha = await env.git.commitFiles('fleet', {
      'team-a/own.yaml': configMapYaml('own', { team: 'a' }, { namespace: 'team-a' }),
      'team-a/intrude.yaml': configMapYaml('intruder', { team: 'a' }, { namespace: 'team-b' }),
    }, 'team a reaches into team b');
    const app = (name: string, path: string): string =>
      applicationYaml({ name, namespace: 'team-a', repoURL: env.git.daemonUrl('fleet'), path, destinationNamespace: 'team-a', serviceAccountName: 'deployer' });
    env.kubectl.apply(app('team-a', 'team-a'));
    const s = await env.waitForStatus('team-a', 'team-a', 'refused by RBAC', (st) => readyOf(st).reason === 'DryRunFailed' && st.lastAttemptedRevision === sha);
    assert.match(readyOf(s).message ?? '', /team-a\/intrude\.yaml document 1: ConfigMap team-b\/intruder: HTTP 403 Forbidden: .*system:serviceaccount:team-a:deployer/);
    assert.equal(cmIn(env.kubectl, 'team-b', 'intruder'), undefined);
    assert.equal(cmIn(env.kubectl, 'team-a', 'own'), undefined, 'nothing of the revision is applied');

    const fixed = await env.git.commitFiles('fleet', { 'team-a/intrude.yaml': null }, 'team a stays home');
    await env.waitForStatus('team-a', 'team-a', 'applied as deployer', (st) => st.lastAppliedRevision === fixed);
    assert.deepEqual(cmIn(env.kubectl, 'team-a', 'own'), { team: 'a' });
    assert.equal(env.kubectl('-n', 'team-a', 'get', 'configmap', 'own', '-o', 'jsonpath={.metadata.managedFields[?(@.manager=="sigil")].operation}'), 'Apply');
  });

  it('refuses a Secret reference outside the Application\'s namespace under --no-cross-namespace-refs', async () => {
    secret('sigil-apps', 'shared-git', { username: 'u', password: 'p' });
    env.kubectl.apply(
      applicationYaml({ name: 'borrow', namespace: 'team-b', repoURL: env.git.daemonUrl('fleet'), path: 'team-a', secretRef: { name: 'shared-git', namespace: 'sigil-apps' } }),
    );
    const s = await env.waitForStatus('team-b', 'borrow', 'refused', (st) => readyOf(st).reason === 'CrossNamespaceRef');
    assert.equal(readyOf(s).message, "spec.source.secretRef names Secret sigil-apps/shared-git outside the Application's namespace team-b, which --no-cross-namespace-refs forbids");
    assert.equal(s.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');
    assert.equal(s.inventory, undefined);
  });

  it('impersonates --default-service-account for Applications that name none', async () => {
    await env.restartController(['--no-cross-namespace-refs', '--default-service-account=deployer']);
    const sha = await env.git.commitFiles('fleet', {
      'default-sa/own.yaml': configMapYaml('by-default', { team: 'a' }, { namespace: 'team-a' }),
      'default-sa/intrude.yaml': configMapYaml('intruder-2', { team: 'a' }, { namespace: 'team-b' }),
    }, 'no serviceAccountName: the default account is used');
    env.kubectl.apply(applicationYaml({ name: 'defaulted', namespace: 'team-a', repoURL: env.git.daemonUrl('fleet'), path: 'default-sa', destinationNamespace: 'team-a' }));
    const s = await env.waitForStatus('team-a', 'defaulted', 'refused as the default account', (st) => readyOf(st).reason === 'DryRunFailed' && st.lastAttemptedRevision === sha);
    assert.match(readyOf(s).message ?? '', /ConfigMap team-b\/intruder-2: HTTP 403 Forbidden: .*system:serviceaccount:team-a:deployer/);
    assert.equal(cmIn(env.kubectl, 'team-a', 'by-default'), undefined);
    await env.restartController(['--no-cross-namespace-refs']);
  });

  it('applies only commits signed by a trusted key; unsigned and wrongly signed ones are refused and the last good revision stays', async () => {
    const keys = join(env.dir, 'signing');
    execFileSync('mkdir', ['-p', keys]);
    for (const who of ['trusted', 'stranger']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', join(keys, who)]);
    const publicKey = readFileSync(join(keys, 'trusted.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    secret('sigil-apps', 'release-keys', { allowed_signers: `release@example.com ${publicKey}\n` });
    await env.git.createRepo('signed');
    const good = await env.git.commitFiles('signed', { 'cm.yaml': configMapYaml('release', { v: 'good' }) }, 'signed', { signWith: join(keys, 'trusted') });
    env.kubectl.apply(
      applicationYaml({ name: 'signed', repoURL: env.git.daemonUrl('signed'), verify: 'release-keys' }),
    );
    await env.waitForStatus('sigil-apps', 'signed', 'signed applied', (st) => st.lastAppliedRevision === good);
    assert.deepEqual(cmIn(env.kubectl, 'default', 'release'), { v: 'good' });

    const unsigned = await env.git.commitFiles('signed', { 'cm.yaml': configMapYaml('release', { v: 'unsigned' }) }, 'unsigned');
    let s = await env.waitForStatus('sigil-apps', 'signed', 'unsigned refused', (st) => readyOf(st).reason === 'VerificationFailed' && st.sync?.revision === unsigned);
    assert.match(readyOf(s).message ?? '', new RegExp(`commit ${unsigned.slice(0, 7)} is not signed`));
    assert.equal(s.lastAppliedRevision, good);
    assert.deepEqual(cmIn(env.kubectl, 'default', 'release'), { v: 'good' });

    const stranger = await env.git.commitFiles('signed', { 'cm.yaml': configMapYaml('release', { v: 'stranger' }) }, 'stranger', { signWith: join(keys, 'stranger') });
    s = await env.waitForStatus('sigil-apps', 'signed', 'stranger refused', (st) => readyOf(st).reason === 'VerificationFailed' && st.sync?.revision === stranger);
    assert.match(readyOf(s).message ?? '', new RegExp(`commit ${stranger.slice(0, 7)} `));
    assert.equal(s.lastAppliedRevision, good);
    assert.deepEqual(cmIn(env.kubectl, 'default', 'release'), { v: 'good' });

    const fixed = await env.git.commitFiles('signed', { 'cm.yaml': configMapYaml('release', { v: 'fixed' }) }, 'signed again', { signWith: join(keys, 'trusted') });
    await env.waitForStatus('sigil-apps', 'signed', 'signed again applied', (st) => st.lastAppliedRevision === fixed);
    assert.deepEqual(cmIn(env.kubectl, 'default', 'release'), { v: 'fixed' });
  });
});
