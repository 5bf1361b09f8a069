// controller/deploy as a user installs it: `kubectl apply -k controller/deploy` (kubectl's built-in kustomize)
// on a fresh control plane creates exactly what it should; the controller's ServiceAccount may do exactly
// what the controller needs and nothing more; the SealedSecret CRD prints its columns and validates its spec.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { kubectlFor, type Kubectl } from '../helpers/controller-process.js';
import { ROOT, tempDir } from '../helpers/run-seal.js';

const SA = 'system:serviceaccount:sigil-system:sigil-controller';

/** `kubectl auth can-i` checks as the controller: [verb, resource, scope, expected]. Scope `-A`, a namespace, or '' (cluster). */
const CAN: [verb: string, resource: string, scope: string, answer: 'yes' | 'no'][] = [
  // What the controller needs (controller/deploy/rbac.yaml), in every namespace for its ClusterRole.
  ...['get', 'list', 'watch'].map((v): [string, string, string, 'yes'] => [v, 'sealedsecrets.sigil.dev', '-A', 'yes']),
  ['patch', 'sealedsecrets.sigil.dev --subresource=status', '-A', 'yes'],
  ...['get', 'list', 'watch', 'create', 'update', 'delete'].map((v): [string, string, string, 'yes'] => [v, 'secrets', '-A', 'yes']),
  ['create', 'events', '-A', 'yes'],
  ['patch', 'events', '-A', 'yes'],
  ['get', 'customresourcedefinitions.apiextensions.k8s.io/sealedsecrets.sigil.dev', '', 'yes'],
  ...['get', 'create', 'update'].map((v): [string, string, string, 'yes'] => [v, 'configmaps', 'sigil-system', 'yes']),
  ...['get', 'create', 'update'].map((v): [string, string, string, 'yes'] => [v, 'leases.coordination.k8s.io', 'sigil-system', 'yes']),
  // ServiceAccounts may be impersonated: the sync engine's, and Applications' (controller/deploy/rbac-sync.yaml).
  ['impersonate', 'serviceaccounts/sigil-sync', 'sigil-system', 'yes'],
  ['impersonate', 'serviceaccounts', '-A', 'yes'],
  // What it must not do.
  ['impersonate', 'groups', '', 'no'],
  ...['create', 'update', 'patch', 'delete'].map((v): [string, string, string, 'no'] => [v, 'sealedsecrets.sigil.dev', '-A', 'no']),
  ['update', 'sealedsecrets.sigil.dev --subresource=status', '-A', 'no'],
  ['patch', 'secrets', '-A', 'no'],
  ['deletecollection', 'secrets', '-A', 'no'],
  ['create', 'configmaps', 'default', 'no'],
  ['get', 'configmaps', 'default', 'no'],
  ['update', 'configmaps', 'prod', 'no'],
  ['list', 'configmaps', 'sigil-system', 'no'],
  ['delete', 'configmaps', 'sigil-system', 'no'],
  ['create', 'leases.coordination.k8s.io', 'default', 'no'],
  ['delete', 'leases.coordination.k8s.io', 'sigil-system', 'no'],
  ['list', 'leases.coordination.k8s.io', 'sigil-system', 'no'],
  ['get', 'pods', '-A', 'no'],
  ['list', 'pods', '-A', 'no'],
  ['create', 'deployments.apps', 'sigil-system', 'no'],
  ['get', 'nodes', '', 'no'],
  ['get', 'customresourcedefinitions.apiextensions.k8s.io', '', 'no'],
  ['get', 'customresourcedefinitions.apiextensions.k8s.io/sealedsecrets.bitnami.com', '', 'no'],
  ['update', 'customresourcedefinitions.apiextensions.k8s.io/sealedsecrets.sigil.dev', '', 'no'],
  ['create', 'serviceaccounts/token', 'sigil-system', 'no'],
  ['impersonate', 'users', '', 'no'],
  ['bind', 'clusterroles.rbac.authorization.k8s.io', '', 'no'],
  ['escalate', 'roles.rbac.authorization.k8s.io', 'sigil-system', 'no'],
];

/** The rules `kubectl auth can-i --list` shows the controller beyond those of any authenticated user, per namespace. */
const CLUSTER_RULES = [
  'customresourcedefinitions.apiextensions.k8s.io [sealedsecrets.sigil.dev] [get]',
  'events [] [create patch]',
  'sealedsecrets.sigil.dev [] [get list watch]',
  'sealedsecrets.sigil.dev/status [] [patch]',
  'secrets [] [get list watch create update delete]',
  'serviceaccounts [] [impersonate]',
];
const EXTRA_RULES: Record<string, string[]> = {
  'sigil-system': [...CLUSTER_RULES, 'configmaps [] [get create update]', 'leases.coordination.k8s.io [] [get create update]'].sort(),
  prod: CLUSTER_RULES,
};

describe('controller/deploy', () => {
  let cp: ControlPlane;
  let kubectl: Kubectl;
  let applied: { code: number | null; stdout: string; stderr: string };
  /** The resource rows of `kubectl auth can-i --list` as `user` in `namespace`, as `resource [names] [verbs]`. */
  const rules = (user: string, namespace: string): string[] =>
    kubectl('auth', 'can-i', '--list', `--as=${user}`, '-n', namespace)
      .split('\n')
      .slice(1)
      .filter((line) => /^\S/.test(line))
      .map((line) => {
        const [resource, , names, verbs] = line.split(/\s{2,}/);
        return `${resource} ${names} ${verbs}`;
      });

  before(async () => {
    const dir = tempDir('sigil-controller-deploy-');
    cp = await startControlPlane({ dir });
    kubectl = kubectlFor(cp.kubeconfig);
    applied = kubectl.result(['apply', '-k', join(ROOT, 'controller/deploy')]);
    kubectl('wait', '--for=condition=established', '--timeout=30s', 'crd/sealedsecrets.sigil.dev');
    kubectl('create', 'namespace', 'prod');
  });
  after(async () => {
    await cp?.stop();
  });

  it('kubectl apply -k creates exactly the namespace, CRDs, RBAC, Deployment and Services', () => {
    assert.deepEqual([applied.code, applied.stderr], [0, '']);
    assert.deepEqual(applied.stdout.split('\n').filter(Boolean).sort(), [
      'clusterrole.rbac.authorization.k8s.io/sigil-controller created',
      'clusterrole.rbac.authorization.k8s.io/sigil-impersonator created',
      'clusterrole.rbac.authorization.k8s.io/sigil-sync created',
      'clusterrolebinding.rbac.authorization.k8s.io/sigil-controller created',
      'clusterrolebinding.rbac.authorization.k8s.io/sigil-impersonator created',
      'clusterrolebinding.rbac.authorization.k8s.io/sigil-sync created',
      'customresourcedefinition.apiextensions.k8s.io/applications.sigil.dev created',
      'customresourcedefinition.apiextensions.k8s.io/sealedsecrets.sigil.dev created',
      'deployment.apps/sigil-controller created',
      'namespace/sigil-system created',
      'role.rbac.authorization.k8s.io/sigil-controller created',
      'role.rbac.authorization.k8s.io/sigil-sealing-cert-reader created',
      'rolebinding.rbac.authorization.k8s.io/sigil-controller created',
      'rolebinding.rbac.authorization.k8s.io/sigil-sealing-cert-reader created',
      'service/sigil-controller created',
      'service/sigil-controller-metrics created',
      'serviceaccount/sigil-controller created',
      'serviceaccount/sigil-sync created',
    ]);
  });

  it('the Deployment runs as the ServiceAccount, and its Services reach its named ports', () => {
    const deploy = JSON.parse(kubectl('-n', 'sigil-system', 'get', 'deployment', 'sigil-controller', '-o', 'json')) as {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: { ports: { name: string; containerPort: number }[] }[] } } };
    };
    const pod = deploy.spec.template;
    assert.equal(pod.spec.serviceAccountName, 'sigil-controller');
    const ports = pod.spec.containers[0]!.ports.map((p) => `${p.name}:${p.containerPort}`);
    assert.deepEqual(ports, ['http:8080', 'metrics:8081']);
    for (const [service, port] of [['sigil-controller', 'http'], ['sigil-controller-metrics', 'metrics']] as const) {
      const svc = JSON.parse(kubectl('-n', 'sigil-system', 'get', 'service', service, '-o', 'json')) as { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } };
      assert.deepEqual(svc.spec.ports.map((p) => p.targetPort), [port], service);
      for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(pod.metadata.labels[k], v, `${service} selects the pods by ${k}`);
    }
  });

  for (const [verb, resource, scope, answer] of CAN) {
    it(`the controller ${answer === 'yes' ? 'may' : 'may not'} ${verb} ${resource}${scope === '-A' ? ' in every namespace' : scope ? ` in ${scope}` : ''}`, () => {
      const args = ['auth', 'can-i', verb, ...resource.split(' '), `--as=${SA}`, ...(scope === '-A' ? ['-A'] : scope ? ['-n', scope] : [])];
      const r = kubectl.result(args);
      assert.deepEqual([r.code, r.stdout], [answer === 'yes' ? 0 : 1, `${answer}\n`], r.stderr);
    });
  }

  for (const namespace of ['sigil-system', 'prod']) {
    it(`in ${namespace} the controller has no rule beyond those it needs`, () => {
      const everyone = new Set(rules('system:serviceaccount:sigil-system:someone-else', namespace));
      assert.deepEqual(rules(SA, namespace).filter((r) => !everyone.has(r)).sort(), EXTRA_RULES[namespace]);
    });
  }

  it('the sync engine\'s account may apply, read and delete any kind, and may not impersonate, bind, escalate or update', () => {
    const as = '--as=system:serviceaccount:sigil-system:sigil-sync';
    const can = (...args: string[]): string => kubectl.result(['auth', 'can-i', ...args, as]).stdout.trim();
    assert.deepEqual(
      [can('patch', 'deployments.apps', '-n', 'prod'), can('create', 'configmaps', '-n', 'prod'), can('delete', 'widgets.example.com', '-A'), can('list', 'secrets', '-A'), can('watch', 'applications.sigil.dev', '-A')],
      ['yes', 'yes', 'yes', 'yes', 'yes'],
    );
    assert.deepEqual(
      [can('impersonate', 'serviceaccounts', '-A'), can('bind', 'clusterroles.rbac.authorization.k8s.io'), can('escalate', 'clusterroles.rbac.authorization.k8s.io'), can('update', 'secrets', '-A')],
      ['no', 'no', 'no', 'no'],
    );
  });

  it('any authenticated user may read the sealing certificate ConfigMap, and nothing else there', () => {
    const as = '--as=system:serviceaccount:prod:app';
    assert.equal(kubectl.result(['auth', 'can-i', 'get', 'configmaps/sigil-sealing-cert', '-n', 'sigil-system', as]).stdout, 'yes\n');
    assert.equal(kubectl.result(['auth', 'can-i', 'get', 'configmaps/other', '-n', 'sigil-system', as]).stdout, 'no\n');
    assert.equal(kubectl.result(['auth', 'can-i', 'get', 'secrets', '-n', 'sigil-system', as]).stdout, 'no\n');
  });

  it('kubectl get sealedsecrets prints NAME, STATUS, REASON and AGE, from the Ready condition', () => {
    kubectl.apply('apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec: {encryptedData: {password: AgBy}}\n');
    const [header, row] = kubectl('-n', 'prod', 'get', 'sealedsecrets').split('\n');
    assert.equal(header, 'NAME   STATUS   REASON   AGE');
    assert.match(row!, /^db {23}\d+s$/, 'STATUS and REASON empty before any reconcile');
    const status = { conditions: [{ type: 'Ready', status: 'False', reason: 'DecryptFailed', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    kubectl('-n', 'prod', 'patch', 'sealedsecrets.sigil.dev', 'db', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
    const [header2, row2] = kubectl('-n', 'prod', 'get', 'sse').split('\n');
    assert.equal(header2, 'NAME   STATUS   REASON          AGE');
    assert.deepEqual(row2!.split(/\s+/).slice(0, 3), ['db', 'False', 'DecryptFailed']);
    assert.equal(kubectl('-n', 'prod', 'get', 'sealedsecrets.sigil.dev', 'db', '-o', 'jsonpath={.spec.scope}'), 'strict', 'scope defaults to strict');
  });

  for (const [what, spec, stderr] of [
    ['scope global', '{scope: global, encryptedData: {a: b}}', 'The SealedSecret "bad" is invalid: spec.scope: Unsupported value: "global": supported values: "strict", "namespace-wide", "cluster-wide"\n'],
    ['no encryptedData', '{scope: strict}', 'The SealedSecret "bad" is invalid: spec.encryptedData: Required value\n'],
    ['a Vault reference without a key', '{encryptedData: {a: b}, vault: {mount: transit}}', 'The SealedSecret "bad" is invalid: spec.vault.key: Required value\n'],
  ] as const) {
    it(`the CRD rejects a SealedSecret with ${what}`, () => {
      const r = kubectl.result(['apply', '-f', '-'], `apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: bad, namespace: prod}\nspec: ${spec}\n`);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', stderr]);
    });
  }
});
