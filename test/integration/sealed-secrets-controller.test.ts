// The real Sealed Secrets controller, against the real kube-apiserver, unseals what `seal --api bitnami`
// writes into the expected Secret, in every scope, with the certificate fetched from the controller itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { binaryPath } from '../env/build.js';
import { startEnv, type Env } from '../env/index.js';
import { runSeal } from '../helpers/run-seal.js';

const run = promisify(execFile);

describe('real Sealed Secrets controller', () => {
  let env: Env;
  const kubectl = async (...args: string[]): Promise<string> =>
    (await run(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', env.controlPlane.kubeconfig, ...args])).stdout;

  before(async () => {
    env = await startEnv({ sealedSecrets: true });
    await kubectl('create', 'namespace', 'prod');
  });
  after(async () => env?.stop());

  it('runs the versions the test environment builds', (t) => {
    t.diagnostic(`kubernetes ${env.versions.kubernetes}; etcd ${env.versions.etcd}; ${env.versions['sealed-secrets']}`);
    assert.match(env.versions['sealed-secrets']!, /v0\.40\.0/);
  });

  for (const scope of ['strict', 'namespace-wide', 'cluster-wide'] as const) {
    it(`unseals seal --api bitnami output (${scope}) into the expected Secret`, async () => {
      const name = `db-${scope}`;
      const secret = `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: prod
  labels: {app: db}
type: Opaque
stringData:
  password: hunter2
data:
  binary: AP8KDQ==
`;
      const sealed = await runSeal(['--cert', env.sealedSecrets!.certUrl, '--api', 'bitnami', '--scope', scope], { stdin: secret });
      assert.equal(sealed.code, 0, sealed.stderr);
      const apply = run('sh', ['-c', 'printf "%s" "$0" | "$1" --kubeconfig "$2" apply -f -', sealed.stdout, binaryPath('kubernetes', 'kubectl'), env.controlPlane.kubeconfig]);
      await apply;
      let data = '';
      for (let i = 0; i < 150 && !data; i++) {
        data = await kubectl('-n', 'prod', 'get', 'secret', name, '-o', 'jsonpath={.data}').catch(() => '');
        if (!data) await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(JSON.parse(data), { binary: 'AP8KDQ==', password: Buffer.from('hunter2').toString('base64') });
      assert.equal(await kubectl('-n', 'prod', 'get', 'secret', name, '-o', 'jsonpath={.metadata.labels.app}'), 'db');
      assert.equal(await kubectl('-n', 'prod', 'get', 'secret', name, '-o', 'jsonpath={.metadata.ownerReferences[0].kind}'), 'SealedSecret');
    });
  }
});
