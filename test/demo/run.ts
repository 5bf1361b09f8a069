/**
 * `npm run demo`: Sigil's main job, end to end, on this machine. It starts a local kube-apiserver + etcd
 * and real Git servers (test/env), runs the built sigil-controller beside them under its shipped RBAC,
 * commits a ConfigMap, a Deployment and a SealedSecret made with `seal` to a Git repository, points an
 * Application at it, and shows, step by step: the sync, the Secret that appears, a drift healed, and a
 * prune. Then it leaves everything running with instructions (Ctrl-C stops it), or with `--once` stops and
 * exits 0. Any step that does not happen within its time ends the demo with exit 1 and the reason.
 */
import { dirname, join } from 'node:path';
import { binaryPath, COMPONENTS, ensureBuilt } from '../env/build.js';
import { waitUntil } from '../env/processes.js';
import { secretData } from '../helpers/controller-process.js';
import { ROOT, runSeal } from '../helpers/run-seal.js';
import { applicationYaml, configMapYaml, deploymentYaml, readyOf, startSyncEnv, type AppStatus, type SyncEnv } from '../helpers/sync-env.js';

const once = process.argv.includes('--once');
const step = (n: number, text: string): void => console.log(`\n[${n}] ${text}`);
const show = (text: string): void => console.log(text.replace(/^/gm, '    ').trimEnd());


async function main(): Promise<void> {
  step(0, 'Building (or finding cached) kube-apiserver, etcd, kubectl and kustomize from the Go module proxy…');
  for (const name of ['kubernetes', 'etcd', 'kustomize'] as const) await ensureBuilt(COMPONENTS[name], (line) => show(line));

  step(1, 'Starting etcd + kube-apiserver, git servers, and sigil-controller (as its ServiceAccount, shipped RBAC)');
  const env = await startSyncEnv('demo', ['--log-level=info']);
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      await env.stop();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    await demo(env);
  } catch (err) {
    console.error(`\ndemo failed: ${(err as Error).message}`);
    console.error(`controller log: ${env.controller.server.logFile}`);
    await stop(1);
  }
  if (once) {
    step(8, 'Done (--once): stopping everything.');
    await stop(0);
  }
  const kubeconfig = env.cp.kubeconfig;
  console.log(`
Everything keeps running. Try:
    export KUBECONFIG=${kubeconfig} PATH=${join(ROOT, 'node_modules/.bin')}:${dirname(binaryPath('kubernetes', 'kubectl'))}:$PATH
    kubectl get applications.sigil.dev -A
    git clone ${env.git.daemonUrl('demo')} /tmp/demo-repo   # edit, commit, git push: the controller applies it
    kubectl -n sigil-apps annotate applications.sigil.dev demo sigil.dev/refresh=$(date +%s) --overwrite
Controller log: ${env.controller.server.logFile}
Ctrl-C stops the controller, the Git servers and the cluster.`);
}

async function demo(env: SyncEnv): Promise<void> {
  const kubectl = env.kubectl;
  kubectl('create', 'namespace', 'sigil-apps');
  kubectl('create', 'namespace', 'prod');
  show(`controller ready at ${env.controller.http}; sealing certificate published in ConfigMap sigil-system/sigil-sealing-cert`);

  step(2, 'Sealing a Secret with `seal` (certificate fetched from the cluster) and committing it with a ConfigMap and a Deployment');
  const plain = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: demo-password}\n';
  const sealed = await runSeal([], { stdin: plain, env: { KUBECONFIG: env.cp.kubeconfig } });
  if (sealed.code !== 0) throw new Error(`seal failed: ${sealed.stderr}`);
  show(`$ seal < secret.yaml > deploy/db-sealed.yaml\n${sealed.stdout.split('\n').slice(0, 12).join('\n')}\n…`);
  await env.git.createRepo('demo');
  const first = await env.git.commitFiles(
    'demo',
    { 'deploy/web-config.yaml': configMapYaml('web-config', { GREETING: 'hello' }), 'deploy/web.yaml': deploymentYaml('web', { envFrom: 'web-config' }), 'deploy/db-sealed.yaml': sealed.stdout },
    'web app with a sealed database password',
  );
  show(`committed ${first.slice(0, 7)} to ${env.git.daemonUrl('demo')}`);

  step(3, 'Creating an Application that points at deploy/ (automated: prune + selfHeal)');
  kubectl.apply(applicationYaml({ name: 'demo', repoURL: env.git.daemonUrl('demo'), path: 'deploy', destinationNamespace: 'prod', interval: '5s' }));
  const synced = await waitFor(env, 'the first sync', (s) => s.lastAppliedRevision === first);
  show(kubectl('get', 'applications.sigil.dev', '-A'));
  show(`Ready: ${readyOf(synced).reason}; ${synced.history?.[0]?.message}`);
  show(kubectl('-n', 'prod', 'get', 'configmap,deployment,sealedsecrets.sigil.dev', '-l', 'sigil.dev/app=sigil-apps.demo'));

  step(4, 'The SealedSecret from Git became a Secret (unsealed in the cluster)');
  await waitUntil('Secret prod/db', async () => secretData(kubectl, 'prod', 'db') !== undefined, { timeoutMs: 30_000 });
  const data = secretData(kubectl, 'prod', 'db')!;
  show(`Secret prod/db keys: ${Object.keys(data).join(', ')}; password matches what was sealed: ${Buffer.from(data.password ?? '', 'base64').toString() === 'demo-password'}`);

  step(5, 'Someone edits the ConfigMap by hand: the drift is detected and healed');
  kubectl('-n', 'prod', 'patch', 'configmap', 'web-config', '--type=merge', '-p', '{"data":{"GREETING":"hacked"}}');
  show('$ kubectl -n prod patch configmap web-config -p \'{"data":{"GREETING":"hacked"}}\'');
  await waitUntil('drift healed', async () => kubectl('-n', 'prod', 'get', 'configmap', 'web-config', '-o', 'jsonpath={.data.GREETING}') === 'hello', { timeoutMs: 30_000 });
  show(`GREETING is back to: ${kubectl('-n', 'prod', 'get', 'configmap', 'web-config', '-o', 'jsonpath={.data.GREETING}')}`);
  show(`event: ${kubectl('-n', 'sigil-apps', 'get', 'events', '--field-selector', 'reason=DriftDetected', '-o', 'jsonpath={.items[0].message}')}`);

  step(6, 'A commit removes the Deployment from Git: it is pruned');
  const removed = await env.git.commitFiles('demo', { 'deploy/web.yaml': null }, 'retire the web Deployment');
  const pruned = await waitFor(env, 'the prune', (s) => s.lastAppliedRevision === removed);
  show(`${pruned.history?.[0]?.message}`);
  const left = kubectl.result(['-n', 'prod', 'get', 'deployment', 'web']);
  show(`$ kubectl -n prod get deployment web\n${left.stderr.trim()}`);

  step(7, 'History (rollback = point spec.source.targetRevision at one of these)');
  for (const h of pruned.history ?? []) show(`${h.revision.slice(0, 7)}  ${h.result}  ${h.message ?? ''}`);
}

async function waitFor(env: SyncEnv, what: string, check: (s: AppStatus) => boolean): Promise<AppStatus> {
  return env.waitForStatus('sigil-apps', 'demo', what, check, 60_000);
}

await main();
