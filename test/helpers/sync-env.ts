/**
 * What the sync-engine tests share: a real control plane, the real Git servers, and sigil-controller run
 * as a process under the shipped RBAC with its sync engine on; plus reading Applications' status.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { binaryPath } from '../env/build.js';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { startGitServers, type GitServers } from '../env/git.js';
import { waitUntil } from '../env/processes.js';
import { installController, kubectlFor, startControllerProcess, type ControllerProcess, type Kubectl } from './controller-process.js';
import { tempDir } from './run-seal.js';

/** A running sync test environment. */
export interface SyncEnv {
  dir: string;
  cp: ControlPlane;
  git: GitServers;
  controller: ControllerProcess;
  kubectl: Kubectl;
  /** The status of Application `namespace/name` ({} before it has one). */
  status(namespace: string, name: string): AppStatus;
  /** Stops the controller and starts it again with `args` instead of the ones it was started with. */
  restartController(args: string[]): Promise<void>;
  /** Waits until `check(status)` holds; the failure message shows the last status. */
  waitForStatus(namespace: string, name: string, what: string, check: (s: AppStatus) => boolean, timeoutMs?: number): Promise<AppStatus>;
  stop(): Promise<void>;
}

/** The parts of an Application's status the tests read. */
export interface AppStatus {
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  sync?: { status: string; revision?: string };
  health?: { status: string; message?: string };
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  inventory?: Array<{ apiVersion: string; kind: string; namespace?: string; name: string }>;
  drift?: Array<{ kind: string; name: string; fields: string[] }>;
  history?: Array<{ revision: string; result: string; message?: string }>;
}

/** The Ready condition of a status. */
export function readyOf(s: AppStatus): { status?: string; reason?: string; message?: string } {
  return s.conditions?.find((c) => c.type === 'Ready') ?? {};
}

/** Starts the control plane, the Git servers and the controller (sync engine on, `args` added). */
export async function startSyncEnv(name: string, args: string[] = []): Promise<SyncEnv> {
  const dir = tempDir(`sigil-${name}-`);
  const [cp, git] = await Promise.all([startControlPlane({ dir: join(dir, 'cp') }), startGitServers({ dir: join(dir, 'git') })]);
  const kubectl = kubectlFor(cp.kubeconfig);
  const kubeconfig = await installController(cp, dir, { sync: true });
  const start = (extra: string[]): Promise<ControllerProcess> =>
    startControllerProcess({
      name: 'sigil-controller',
      kubeconfig,
      dir,
      sync: true,
      args: [`--kustomize-path=${binaryPath('kustomize', 'kustomize')}`, `--git-cache-dir=${join(dir, 'git-cache')}`, '--log-level=debug', ...extra],
    });
  const controller = await start(args);
  const status = (namespace: string, app: string): AppStatus => {
    const r = kubectl.result(['-n', namespace, 'get', 'applications.sigil.dev', app, '-o', 'jsonpath={.status}']);
    return r.code === 0 && r.stdout ? (JSON.parse(r.stdout) as AppStatus) : {};
  };
  const env: SyncEnv = {
    dir,
    cp,
    git,
    controller,
    kubectl,
    status,
    async restartController(extra) {
      await env.controller.stop();
      env.controller = await start(extra);
    },
    async waitForStatus(namespace, app, what, check, timeoutMs = 30_000) {
      let last: AppStatus = {};
      try {
        await waitUntil(what, async () => check((last = status(namespace, app))), { timeoutMs, intervalMs: 200 });
      } catch (err) {
        assert.fail(`${(err as Error).message}; last status of ${namespace}/${app}: ${JSON.stringify(last)}`);
      }
      return last;
    },
    async stop() {
      await env.controller?.stop();
      await Promise.all([git?.stop(), cp?.stop()]);
    },
  };
  return env;
}

/** An Application manifest. */
export function applicationYaml(options: {
  name: string;
  namespace?: string;
  repoURL: string;
  path?: string;
  targetRevision?: string;
  /** A Secret name in the Application's namespace, or a name and namespace. */
  secretRef?: string | { name: string; namespace: string };
  /** Name of the Secret of trusted keys (spec.source.verify). */
  verify?: string;
  destinationNamespace?: string;
  /** Name of the Secret holding the remote cluster's kubeconfig. */
  cluster?: string;
  serviceAccountName?: string;
  automated?: { prune?: boolean; selfHeal?: boolean; allowEmpty?: boolean } | false;
  interval?: string;
  allowPlaintextSecrets?: boolean;
  suspend?: boolean;
}): string {
  const automated = options.automated === false ? undefined : (options.automated ?? { prune: true, selfHeal: true });
  const spec = {
    source: {
      repoURL: options.repoURL,
      targetRevision: options.targetRevision ?? 'main',
      path: options.path ?? '.',
      ...(options.secretRef ? { secretRef: typeof options.secretRef === 'string' ? { name: options.secretRef } : options.secretRef } : {}),
      ...(options.verify ? { verify: { mode: 'head', secretRef: { name: options.verify } } } : {}),
    },
    destination: { namespace: options.destinationNamespace ?? 'default', ...(options.cluster ? { cluster: { secretRef: { name: options.cluster } } } : {}) },
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    syncPolicy: { ...(automated ? { automated } : {}), interval: options.interval ?? '2s', retry: { limit: 3, backoff: { duration: '1s', factor: 2, maxDuration: '4s' } } },
    ...(options.allowPlaintextSecrets ? { policy: { allowPlaintextSecrets: true } } : {}),
    ...(options.suspend ? { suspend: true } : {}),
  };
  return JSON.stringify({ apiVersion: 'sigil.dev/v1', kind: 'Application', metadata: { name: options.name, namespace: options.namespace ?? 'sigil-apps' }, spec });
}

/** A ConfigMap manifest (YAML) with `data`. */
export function configMapYaml(name: string, data: Record<string, string>, extra: { namespace?: string; annotations?: Record<string, string> } = {}): string {
  const meta = { name, ...(extra.namespace ? { namespace: extra.namespace } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) };
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data }, null, 2) + '\n';
}

/**
 * A one-replica Deployment manifest (YAML) `name` (pod label `app: <name>`), with `annotations`, `replicas`,
 * and the container's environment from ConfigMap `envFrom` when given.
 */
export function deploymentYaml(name: string, extra: { annotations?: Record<string, string>; replicas?: number; envFrom?: string } = {}): string {
  const container = { name: 'web', image: 'nginx:1.27', ...(extra.envFrom ? { envFrom: [{ configMapRef: { name: extra.envFrom } }] } : {}) };
  const metadata = { name, labels: { app: name }, ...(extra.annotations ? { annotations: extra.annotations } : {}) };
  const spec = { replicas: extra.replicas ?? 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } };
  return JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec }, null, 2) + '\n';
}
