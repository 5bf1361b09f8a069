// `seal` without --cert and `seal cert` read the controller's published certificate through the user's
// kubeconfig, from a real kube-apiserver, with the reader rights the shipped RBAC grants.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { binaryPath } from '../env/build.js';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { independentOpen } from '../independent/sealed-secrets-format.js';
import { KEYS, ROOT, runSeal, tempDir } from '../helpers/run-seal.js';

const CERT = readFileSync(join(KEYS, 'sealing-2048.crt'), 'utf8');
const KEY = readFileSync(join(KEYS, 'sealing-2048.key'), 'utf8');
const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2}\n';

describe('the cluster certificate', () => {
  let cp: ControlPlane;
  let userKubeconfig: string;
  const kubectl = (...args: string[]): string =>
    execFileSync(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8' });

  before(async () => {
    const dir = tempDir('sigil-cluster-cert-');
    cp = await startControlPlane({ dir });
    kubectl('apply', '-f', join(ROOT, 'controller/deploy/namespace.yaml'));
    kubectl('apply', '-f', join(ROOT, 'controller/deploy/rbac.yaml'));
    userKubeconfig = join(dir, 'alice.kubeconfig');
    writeFileSync(userKubeconfig, await cp.kubeconfigForUser('alice', ['devs']));
  });
  after(async () => cp?.stop());

  it('is missing until the controller publishes it', async () => {
    const r = await runSeal([], { stdin: SECRET, env: { KUBECONFIG: userKubeconfig } });
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr: 'error: no ConfigMap sigil-system/sigil-sealing-cert (context alice@sigil-test): is sigil-controller running there? (or give --cert)\n',
    });
  });

  it('is read by any authenticated user once published: seal cert, and seal without --cert', async () => {
    kubectl('-n', 'sigil-system', 'create', 'configmap', 'sigil-sealing-cert', `--from-literal=cert.pem=${CERT}`);
    const printed = await runSeal(['cert'], { env: { KUBECONFIG: userKubeconfig } });
    assert.deepEqual(printed, { code: 0, stdout: CERT, stderr: '' });
    const sealed = await runSeal([], { stdin: SECRET, env: { KUBECONFIG: userKubeconfig } });
    assert.equal(sealed.code, 0, sealed.stderr);
    const value = (yaml.load(sealed.stdout) as { spec: { encryptedData: { password: string } } }).spec.encryptedData.password;
    assert.equal(independentOpen(KEY, 'prod/db', value).toString(), 'hunter2');
  });

  it('names the namespace it looked in, and says when reading is not allowed', async () => {
    const r = await runSeal(['cert', '--controller-namespace', 'elsewhere'], { env: { KUBECONFIG: userKubeconfig } });
    assert.deepEqual(r.stderr, 'error: cannot read ConfigMap elsewhere/sigil-sealing-cert (context alice@sigil-test): HTTP 403, not allowed (ask for get on it, or give --cert)\n');
    const env = await runSeal(['cert'], { env: { KUBECONFIG: userKubeconfig, SEAL_CONTROLLER_NAMESPACE: 'elsewhere' } });
    assert.equal(env.code, 1);
  });
});
