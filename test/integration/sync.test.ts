// The sync engine end to end against a real kube-apiserver and the real git daemon: first sync (ConfigMap,
// Deployment, a SealedSecret made with `seal` that becomes a Secret), a new commit, prune, the allowEmpty
// guard, malformed and policy-violating commits that change nothing, a CRD with its objects in one commit,
// drift healed and drift reported, manual sync, rollback to an earlier commit, and suspend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { secretData } from '../helpers/controller-process.js';
import { runSeal } from '../helpers/run-seal.js';
import { applicationYaml, configMapYaml, deploymentYaml, readyOf, startSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

const PLAINTEXT = 'sync-plaintext-never-logged';


describe('sync engine', () => {
  let env: SyncEnv;
  const cm = (namespace: string, name: string): Record<string, string> | undefined => {
    const r = env.kubectl.result(['-n', namespace, 'get', 'configmap', name, '-o', 'jsonpath={.data}']);
    return r.code === 0 && r.stdout ? (JSON.parse(r.stdout) as Record<string, string>) : undefined;
  };
  const exists = (args: string[]): boolean => env.kubectl.result(['get', ...args]).code === 0;

  before(async () => {
    env = await startSyncEnv('sync');
    env.kubectl('create', 'namespace', 'sigil-apps');
    env.kubectl('create', 'namespace', 'prod');
  });
  after(async () => {
    await env?.stop();
  });

  it('syncs a repo: ConfigMap, Deployment and a sealed Secret appear, stamped, with status and history', async () => {
    await env.git.createRepo('shop');
    const sealed = await runSeal(['--scope', 'strict'], {
      stdin: `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: ${PLAINTEXT}}\n`,
      env: { KUBECONFIG: env.cp.kubeconfig },
    });
    assert.equal(sealed.code, 0, sealed.stderr);
    const sha = await env.git.commitFiles('shop', { 'deploy/config.yaml': configMapYaml('settings', { mode: 'blue' }), 'deploy/web.yaml': deploymentYaml('web'), 'deploy/db.yaml': sealed.stdout, 'README.md': 'not rendered' }, 'first');
    env.kubectl.apply(applicationYaml({ name: 'shop', repoURL: env.git.daemonUrl('shop'), path: 'deploy', destinationNamespace: 'prod' }));

    const s = await env.waitForStatus('sigil-apps', 'shop', 'shop synced', (st) => st.lastAppliedRevision === sha);
    assert.deepEqual(readyOf(s), { ...readyOf(s), status: 'True', reason: 'Synced' });
    assert.deepEqual(s.sync, { status: 'Synced', revision: sha });
    assert.deepEqual(s.inventory?.map((e) => `${e.kind}/${e.name}`).sort(), ['ConfigMap/settings', 'Deployment/web', 'SealedSecret/db']);
    assert.deepEqual(s.history?.map((h) => [h.revision, h.result, h.message]), [[sha, 'Succeeded', `applied revision ${sha.slice(0, 7)}: 3 objects`]]);
    assert.deepEqual(cm('prod', 'settings'), { mode: 'blue' });
    assert.equal(env.kubectl('-n', 'prod', 'get', 'configmap', 'settings', '-o', 'jsonpath={.metadata.labels.sigil\\.dev/app} {.metadata.annotations.sigil\\.dev/tracking-id}'), 'sigil-apps.shop sigil-apps.shop:/ConfigMap:prod/settings');
    assert.equal(env.kubectl('-n', 'prod', 'get', 'deployment', 'web', '-o', 'jsonpath={.metadata.managedFields[?(@.manager=="sigil")].operation}'), 'Apply');
    // The SealedSecret became a Secret (the controller's unsealer), and the Deployment has no nodes to run on.
    await env.waitForStatus('sigil-apps', 'shop', 'Secret prod/db', () => secretData(env.kubectl, 'prod', 'db') !== undefined);
    assert.deepEqual(secretData(env.kubectl, 'prod', 'db'), { password: Buffer.from(PLAINTEXT).toString('base64') });
    const health = (await env.waitForStatus('sigil-apps', 'shop', 'health known', (st) => st.health?.status === 'Progressing')).health;
    assert.match(health?.message ?? '', /^Deployment\.apps prod\/web: /);
  });

  it('applies a new commit, and prunes what the commit removed', async () => {
    const sha = await env.git.commitFiles('shop', { 'deploy/config.yaml': configMapYaml('settings', { mode: 'green' }), 'deploy/extra.yaml': configMapYaml('extra', { a: '1' }) }, 'green');
    await env.waitForStatus('sigil-apps', 'shop', 'green applied', (st) => st.lastAppliedRevision === sha);
    assert.deepEqual(cm('prod', 'settings'), { mode: 'green' });
    assert.deepEqual(cm('prod', 'extra'), { a: '1' });

    const removed = await env.git.commitFiles('shop', { 'deploy/extra.yaml': null }, 'remove extra');
    const s = await env.waitForStatus('sigil-apps', 'shop', 'extra pruned', (st) => st.lastAppliedRevision === removed);
    assert.equal(cm('prod', 'extra'), undefined);
    assert.equal(s.history?.[0]?.message, `applied revision ${removed.slice(0, 7)}: 3 objects, 1 pruned`);
    assert.deepEqual(s.inventory?.map((e) => e.name).sort(), ['db', 'settings', 'web']);
  });

  it('prunes nothing when a commit renders no objects, unless allowEmpty', async () => {
    const empty = await env.git.commitFiles('shop', { 'deploy/config.yaml': null, 'deploy/web.yaml': null, 'deploy/db.yaml': null, 'deploy/.keep': '' }, 'empty');
    const s = await env.waitForStatus('sigil-apps', 'shop', 'empty refused', (st) => readyOf(st).reason === 'EmptyRevision');
    assert.equal(readyOf(s).message, `revision ${empty.slice(0, 7)} renders no objects; 3 applied objects are kept (set spec.syncPolicy.automated.allowEmpty to prune them all)`);
    assert.equal(s.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');
    assert.deepEqual(cm('prod', 'settings'), { mode: 'green' });
    assert.ok(exists(['-n', 'prod', 'deployment', 'web']));
    assert.equal(s.history?.[0]?.result, 'Failed');
  });

  it('applies nothing of a malformed commit or of one the API server refuses, and keeps the last good revision', async () => {
    await env.git.commitFiles('shop', { 'deploy/config.yaml': configMapYaml('settings', { mode: 'red' }), 'deploy/web.yaml': deploymentYaml('web'), 'deploy/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n   oops: [\n' }, 'broken yaml');
    let s = await env.waitForStatus('sigil-apps', 'shop', 'render refused', (st) => readyOf(st).reason === 'RenderFailed');
    assert.match(readyOf(s).message ?? '', /^deploy\/bad\.yaml: invalid YAML at line \d+: /);
    assert.deepEqual(cm('prod', 'settings'), { mode: 'green' });

    // Valid YAML, but a Deployment the API server refuses: the ConfigMap of the same commit is not applied either.
    const refused = await env.git.commitFiles('shop', { 'deploy/bad.yaml': deploymentYaml('broken', { replicas: -3 }), 'deploy/new.yaml': configMapYaml('new', { x: 'y' }) }, 'refused by dry-run');
    s = await env.waitForStatus('sigil-apps', 'shop', 'dry-run refused', (st) => readyOf(st).reason === 'DryRunFailed' && st.lastAttemptedRevision === refused);
    assert.match(readyOf(s).message ?? '', /^dry-run refused the revision, nothing was applied: deploy\/bad\.yaml document 1: Deployment\.apps prod\/broken: HTTP 422 Invalid: /);
    assert.deepEqual(cm('prod', 'settings'), { mode: 'green' });
    assert.equal(cm('prod', 'new'), undefined);
    assert.ok(!exists(['-n', 'prod', 'deployment', 'broken']));
    assert.notEqual(s.lastAppliedRevision, refused);
  });

  it('refuses a plain Secret in Git unless the policy allows it', async () => {
    const plain = await env.git.commitFiles('shop', { 'deploy/bad.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: plain}\nstringData: {token: abc}\n' }, 'plain secret');
    const s = await env.waitForStatus('sigil-apps', 'shop', 'plain refused', (st) => st.lastAttemptedRevision === plain || (readyOf(st).reason === 'InvalidRevision' && st.sync?.revision === plain));
    assert.equal(readyOf(s).reason, 'InvalidRevision');
    assert.match(readyOf(s).message ?? '', /^deploy\/bad\.yaml document 1: Secret .*plain.*: plain Secrets are refused in Git/);
    assert.equal(secretData(env.kubectl, 'prod', 'plain'), undefined);
    assert.equal(cm('prod', 'new'), undefined);
    // Put the repo right again for the next tests.
    const fixed = await env.git.commitFiles('shop', { 'deploy/bad.yaml': null, 'deploy/new.yaml': null, 'deploy/config.yaml': configMapYaml('settings', { mode: 'green' }) }, 'fixed');
    await env.waitForStatus('sigil-apps', 'shop', 'fixed applied', (st) => st.lastAppliedRevision === fixed);
  });

  it('applies a CRD and objects of its kind from the same commit', async () => {
    await env.git.createRepo('crds');
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}}
`;
    const sha = await env.git.commitFiles('crds', { 'crd.yaml': crd, 'widget.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: prod}\nspec: {size: 3}\n', 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n', 'in-fresh.yaml': configMapYaml('inside', { a: 'b' }, { namespace: 'fresh' }) }, 'crd + widget');
    env.kubectl.apply(applicationYaml({ name: 'crds', repoURL: env.git.daemonUrl('crds') }));
    const s = await env.waitForStatus('sigil-apps', 'crds', 'crds synced', (st) => st.lastAppliedRevision === sha);
    assert.equal(readyOf(s).status, 'True');
    assert.equal(env.kubectl('-n', 'prod', 'get', 'widgets.example.com', 'w1', '-o', 'jsonpath={.spec.size}'), '3');
    assert.deepEqual(cm('fresh', 'inside'), { a: 'b' });
  });

  it('renders a path holding a kustomization.yaml with kustomize', async () => {
    await env.git.createRepo('kust');
    const sha = await env.git.commitFiles('kust', {
      'overlay/kustomization.yaml': 'namePrefix: prod-\ncommonLabels: {team: shop}\nresources: [cm.yaml]\n',
      'overlay/cm.yaml': configMapYaml('settings', { from: 'kustomize' }),
    }, 'kustomize');
    env.kubectl.apply(applicationYaml({ name: 'kust', repoURL: env.git.daemonUrl('kust'), path: 'overlay', destinationNamespace: 'prod' }));
    await env.waitForStatus('sigil-apps', 'kust', 'kust synced', (st) => st.lastAppliedRevision === sha);
    assert.deepEqual(cm('prod', 'prod-settings'), { from: 'kustomize' });
    assert.equal(env.kubectl('-n', 'prod', 'get', 'configmap', 'prod-settings', '-o', 'jsonpath={.metadata.labels.team}'), 'shop');
  });

  it('applies sync waves in order and waits for each to be healthy', async () => {
    await env.git.createRepo('waves');
    const sha = await env.git.commitFiles('waves', {
      'first.yaml': configMapYaml('wave-first', { n: '1' }, { annotations: { 'sigil.dev/sync-wave': '-1' } }),
      // No nodes run here, so this Deployment never becomes available: the wave after it must wait.
      'web.yaml': deploymentYaml('wave-web', { annotations: { 'sigil.dev/sync-wave': '0' } }),
      'last.yaml': configMapYaml('wave-last', { n: '3' }, { annotations: { 'sigil.dev/sync-wave': '1' } }),
    }, 'waves');
    env.kubectl.apply(applicationYaml({ name: 'waves', repoURL: env.git.daemonUrl('waves'), destinationNamespace: 'prod' }));
    const s = await env.waitForStatus('sigil-apps', 'waves', 'waiting on wave 0', (st) => readyOf(st).reason === 'WaveProgressing');
    assert.match(readyOf(s).message ?? '', /^wave 0 is not healthy yet: Deployment\.apps prod\/wave-web is Progressing \(.+\)$/);
    assert.equal(s.conditions?.find((c) => c.type === 'Reconciling')?.status, 'True');
    assert.notEqual(s.lastAppliedRevision, sha);
    assert.deepEqual(cm('prod', 'wave-first'), { n: '1' });
    assert.ok(exists(['-n', 'prod', 'deployment', 'wave-web']));
    assert.equal(cm('prod', 'wave-last'), undefined);
  });

  it('heals drift with selfHeal, and reports it without', async () => {
    env.kubectl('-n', 'prod', 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"mode":"hacked"}}');
    await env.waitForStatus('sigil-apps', 'shop', 'healed', () => cm('prod', 'settings')?.mode === 'green', 20_000);
    const events = env.kubectl('-n', 'sigil-apps', 'get', 'events', '--field-selector', 'involvedObject.name=shop,reason=DriftDetected', '-o', 'jsonpath={.items[*].message}');
    assert.match(events, /ConfigMap prod\/settings \(data\.mode\)/);

    await env.git.createRepo('watched');
    const sha = await env.git.commitFiles('watched', { 'a.yaml': configMapYaml('watched', { v: '1' }) }, 'one');
    env.kubectl.apply(applicationYaml({ name: 'watched', repoURL: env.git.daemonUrl('watched'), destinationNamespace: 'prod', automated: { prune: true, selfHeal: false } }));
    await env.waitForStatus('sigil-apps', 'watched', 'watched synced', (st) => st.lastAppliedRevision === sha);
    env.kubectl('-n', 'prod', 'patch', 'configmap', 'watched', '--type=merge', '-p', '{"data":{"v":"2","added":"x"}}');
    const s = await env.waitForStatus('sigil-apps', 'watched', 'drift reported', (st) => (st.drift?.length ?? 0) > 0);
    assert.deepEqual(s.drift, [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'watched', fields: ['data.v'] }]);
    assert.deepEqual(s.sync, { status: 'OutOfSync', revision: sha });
    assert.equal(readyOf(s).reason, 'DriftDetected');
    assert.deepEqual(cm('prod', 'watched'), { v: '2', added: 'x' });
  });

  it('syncs a manual Application only when asked with sigil.dev/sync', async () => {
    await env.git.createRepo('manual');
    const sha = await env.git.commitFiles('manual', { 'm.yaml': configMapYaml('manual', { k: 'v' }) }, 'manual');
    env.kubectl.apply(applicationYaml({ name: 'manual', repoURL: env.git.daemonUrl('manual'), destinationNamespace: 'prod', automated: false }));
    let s = await env.waitForStatus('sigil-apps', 'manual', 'out of sync', (st) => st.sync?.status === 'OutOfSync');
    assert.equal(readyOf(s).reason, 'OutOfSync');
    assert.equal(cm('prod', 'manual'), undefined);
    env.kubectl('-n', 'sigil-apps', 'annotate', 'applications.sigil.dev', 'manual', 'sigil.dev/sync=first');
    s = await env.waitForStatus('sigil-apps', 'manual', 'manually synced', (st) => st.lastAppliedRevision === sha);
    assert.deepEqual(cm('prod', 'manual'), { k: 'v' });
    assert.deepEqual(s.sync, { status: 'Synced', revision: sha });
  });

  it('rolls back by pointing targetRevision at an earlier commit from the history', async () => {
    const before = env.status('sigil-apps', 'watched');
    const first = before.history?.at(-1)?.revision;
    assert.ok(first);
    const second = await env.git.commitFiles('watched', { 'a.yaml': configMapYaml('watched', { v: 'second' }) }, 'two');
    await env.waitForStatus('sigil-apps', 'watched', 'second applied', (st) => st.lastAppliedRevision === second);
    assert.equal(cm('prod', 'watched')?.v, 'second');
    env.kubectl('-n', 'sigil-apps', 'patch', 'applications.sigil.dev', 'watched', '--type=merge', '-p', JSON.stringify({ spec: { source: { targetRevision: first } } }));
    const s = await env.waitForStatus('sigil-apps', 'watched', 'rolled back', (st) => st.lastAppliedRevision === first);
    assert.equal(cm('prod', 'watched')?.v, '1');
    assert.deepEqual(s.history?.slice(0, 2).map((h) => h.revision), [first, second]);
  });

  it('leaves a suspended Application alone', async () => {
    env.kubectl('-n', 'sigil-apps', 'patch', 'applications.sigil.dev', 'manual', '--type=merge', '-p', '{"spec":{"suspend":true}}');
    const s = await env.waitForStatus('sigil-apps', 'manual', 'suspended', (st) => st.health?.status === 'Suspended');
    assert.equal(readyOf(s).reason, 'Suspended');
    const next = await env.git.commitFiles('manual', { 'm.yaml': configMapYaml('manual', { k: 'changed' }) }, 'while suspended');
    env.kubectl('-n', 'sigil-apps', 'annotate', '--overwrite', 'applications.sigil.dev', 'manual', 'sigil.dev/sync=second');
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(cm('prod', 'manual'), { k: 'v' });
    assert.notEqual(env.status('sigil-apps', 'manual').lastAppliedRevision, next);
  });

  it('writes no plaintext to its logs, events or Application status', () => {
    const logs = env.controller.logs();
    assert.ok(logs.includes('revision applied'), 'the controller logged its syncs');
    const events = env.kubectl('get', 'events', '-A', '-o', 'json');
    const statuses = env.kubectl('get', 'applications.sigil.dev', '-A', '-o', 'json');
    for (const [what, text] of [['logs', logs], ['events', events], ['status', statuses]] as const) {
      assert.ok(!text.includes(PLAINTEXT), `plaintext in ${what}`);
      assert.ok(!text.includes(Buffer.from(PLAINTEXT).toString('base64')), `base64 plaintext in ${what}`);
    }
  });
});
