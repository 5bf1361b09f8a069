/**
 * Where and as whom an Application's objects are applied. A target is a cluster (the controller's own, or
 * a remote one named by a Secret holding its kubeconfig) seen with an identity: the engine's own
 * ServiceAccount, or the Application's `serviceAccountName` impersonated, so that Kubernetes RBAC, not the
 * engine, decides what a team may touch.
 *
 * Each cluster has one set of label-selected watches, held with the engine's identity there (they only
 * notify and cache what Applications applied); every dry-run, apply, prune and read of an Application goes
 * through its own identity. Clients and watches are shared by every Application of the same cluster and
 * identity; a remote cluster's are replaced when its Secret changes.
 */
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { StalledError, TransientError, WaitingError } from '../../shared/errors.js';
import { shareAgent } from '../runtime/kube-config.js';
import { kubeRest } from '../runtime/kube-rest.js';
import type { Logger } from '../runtime/logger.js';
import type { ApplicationSpec, InventoryEntry, SecretRef } from './application.js';
import { Cluster, type KubeObject } from './cluster.js';
import { inventoryWatches, type InventoryWatches } from './inventory-watches.js';

/** Where an Application's objects go, as whom. */
export interface Target {
  /** `in-cluster` or the remote server's URL, for messages. */
  name: string;
  /** The destination cluster, with the Application's identity. */
  cluster: Cluster;
  /** The controller's own cluster, with the Application's identity: for the Secrets it references. */
  home: Cluster;
  /** The live object (watch cache, else read with the Application's identity). */
  live(entry: InventoryEntry): Promise<KubeObject | undefined>;
  /** Watches the kinds of `entries` in the destination cluster. */
  watch(entries: readonly InventoryEntry[]): void;
  /** Throws TransientError('ClusterUnreachable') when a remote destination does not answer. */
  ping(): Promise<void>;
}

/** What the targets are built from. */
export interface TargetsOptions {
  /** The controller's own credentials (to impersonate Applications' ServiceAccounts in its cluster). */
  controllerKc: k8s.KubeConfig;
  /** The engine's identity in the controller's cluster. */
  engineKc: k8s.KubeConfig;
  /** `--default-service-account`: impersonated for Applications that name none. */
  defaultServiceAccount?: string;
  log: Logger;
  /** Called with the `sigil.dev/app` label of each changed applied object, in any cluster. */
  wake: (appLabel: string) => void;
}

/** The targets of all Applications. */
export interface Targets {
  /** The target of an Application of `namespace`. Throws WaitingError('SecretNotFound'), StalledError('InvalidClusterSecret'). */
  forApp(namespace: string, spec: ApplicationSpec): Promise<Target>;
  /** The engine's own view of its cluster (webhook Secret). */
  engine: Cluster;
  stop(): void;
}

/** How long a remote cluster has to answer the reachability check. */
const PING_TIMEOUT_MS = 5_000;

interface Physical {
  name: string;
  kc: k8s.KubeConfig;
  cluster: Cluster;
  watches: InventoryWatches;
  remote: boolean;
  /** This cluster seen as impersonated ServiceAccounts, by account: replaced with it when its Secret changes. */
  views: Map<string, Cluster>;
}

/** The registry of clusters and identities. */
export function createTargets(options: TargetsOptions): Targets {
  const physical = (name: string, kc: k8s.KubeConfig, remote: boolean): Physical => {
    const rest = kubeRest(kc);
    const cluster = new Cluster(rest);
    return { name, kc, cluster, remote, views: new Map(), watches: inventoryWatches({ kc, rest, cluster, log: options.log.child({ cluster: name }), wake: options.wake }) };
  };
  const local = physical('in-cluster', options.engineKc, false);
  /** Remote clusters by `namespace/name` of their Secret, with the Secret's resourceVersion they were built from. */
  const remotes = new Map<string, { version: string; physical: Physical }>();
  /** The controller's cluster seen (with the controller's credentials) as an impersonated ServiceAccount, by account. */
  const homeViews = new Map<string, Cluster>();

  const as = (views: Map<string, Cluster>, base: k8s.KubeConfig, user: string): Cluster => {
    let view = views.get(user);
    if (!view) {
      view = new Cluster(kubeRest(impersonating(base, user)));
      views.set(user, view);
    }
    return view;
  };

  const remote = async (ref: SecretRef, home: Cluster): Promise<Physical> => {
    const key = `${ref.namespace}/${ref.name}`;
    const secret = await home.get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.name });
    if (!secret) throw new WaitingError('SecretNotFound', `Secret ${key} (spec.destination.cluster.secretRef) does not exist`, 30_000);
    const version = String((secret.metadata as { resourceVersion?: string }).resourceVersion ?? '');
    const known = remotes.get(key);
    if (known?.version === version) return known.physical;
    const kc = kubeConfigFromSecret((secret.data ?? {}) as Record<string, string>, key);
    known?.physical.watches.stop();
    const fresh = physical(kc.getCurrentCluster()?.server ?? key, kc, true);
    remotes.set(key, { version, physical: fresh });
    return fresh;
  };

  return {
    engine: local.cluster,
    async forApp(namespace, spec) {
      const account = spec.serviceAccountName ?? options.defaultServiceAccount;
      const user = account ? `system:serviceaccount:${namespace}:${account}` : undefined;
      const home = user ? as(homeViews, options.controllerKc, user) : local.cluster;
      const dest = spec.destination.cluster ? await remote(spec.destination.cluster.secretRef, home) : local;
      const cluster = user ? (dest.remote ? as(dest.views, dest.kc, user) : home) : dest.cluster;
      return {
        name: dest.name,
        cluster,
        home,
        live: (entry) => dest.watches.live(entry, cluster),
        watch: (entries) => dest.watches.ensure(entries),
        async ping() {
          if (!dest.remote) return;
          try {
            await cluster.rest.request({ method: 'GET', path: '/version', timeoutMs: PING_TIMEOUT_MS });
          } catch (err) {
            const e = err as { code?: unknown; message?: string };
            const why = typeof e.code === 'number' ? `HTTP ${e.code}` : String(e.code ?? e.message ?? err);
            throw new TransientError('ClusterUnreachable', `cannot reach cluster ${dest.name}: ${why}`, { cause: err });
          }
        },
      };
    },
    stop() {
      local.watches.stop();
      for (const r of remotes.values()) r.physical.watches.stop();
    },
  };
}

/** A copy of `kc` whose requests impersonate `user`. */
export function impersonating(kc: k8s.KubeConfig, user: string): k8s.KubeConfig {
  const current = kc.getCurrentUser()?.name;
  const copy = new k8s.KubeConfig();
  copy.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
    users: kc.users.map((u) => (u.name === current ? { ...u, impersonateUser: user } : u)),
  });
  shareAgent(copy);
  return copy;
}

const FILES = 'key kubeconfig refers to files; embed the data (certificate-authority-data, token)';

/** Whether a user of the kubeconfig `text` names a token file: `token-file` (client-node) or `tokenFile` (kubectl). */
function namesTokenFile(text: string): boolean {
  let users: unknown;
  try {
    users = (yaml.load(text) as { users?: unknown } | null)?.users;
  } catch {
    return false; // loadFromString says what is wrong
  }
  return Array.isArray(users) && users.some((u: { user?: Record<string, unknown> } | null) => u?.user?.['token-file'] != null || u?.user?.tokenFile != null);
}

/**
 * The KubeConfig of a remote cluster from its Secret's data (base64): `kubeconfig` (self-contained: no
 * files, no exec or auth-provider plugins, which would run programs or read files inside the controller),
 * or `server` + `ca.crt` + `token`. Throws StalledError('InvalidClusterSecret') naming the Secret and why.
 */
export function kubeConfigFromSecret(data: Record<string, string>, secret: string): k8s.KubeConfig {
  const text = (key: string): string | undefined => (data[key] === undefined ? undefined : Buffer.from(data[key]!, 'base64').toString('utf8'));
  const fail = (why: string): never => {
    throw new StalledError('InvalidClusterSecret', `Secret ${secret}: ${why}`);
  };
  const kc = new k8s.KubeConfig();
  const kubeconfig = text('kubeconfig');
  if (kubeconfig !== undefined) {
    // client-node reads a user's `token-file` while loading, before the checks below: refused on the YAML itself.
    if (namesTokenFile(kubeconfig)) fail(FILES);
    try {
      kc.loadFromString(kubeconfig);
    } catch (err) {
      fail(`key kubeconfig is not a kubeconfig: ${(err as Error).message.split('\n')[0]}`);
    }
    const user = kc.getCurrentUser();
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) fail('key kubeconfig has no current cluster with a server');
    if (user?.exec || user?.authProvider) fail('key kubeconfig uses an exec or auth-provider plugin; use a token or a client certificate');
    if (cluster?.caFile || user?.certFile || user?.keyFile) fail(FILES);
  } else {
    const server = text('server');
    const token = text('token')?.trim();
    if (!server || !token) fail('needs the key kubeconfig, or the keys server and token (and ca.crt unless a public CA signs the server certificate)');
    const ca = text('ca.crt');
    kc.loadFromOptions({
      clusters: [{ name: 'remote', server: server!.trim(), ...(ca ? { caData: Buffer.from(ca).toString('base64') } : {}), skipTLSVerify: false }],
      users: [{ name: 'remote', token }],
      contexts: [{ name: 'remote', cluster: 'remote', user: 'remote' }],
      currentContext: 'remote',
    });
  }
  shareAgent(kc);
  return kc;
}
