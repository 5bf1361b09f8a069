/**
 * sigil-controller's components wired together: keys, informers, the work queue and the unsealer, leader
 * election, and the two HTTP servers. `startController` is what main runs and what tests start in-process.
 */
import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { errorMessage, StalledError } from '../shared/errors.js';
import type { ControllerConfig } from './config.js';
import { KeyManager } from './keys/key-manager.js';
import { sealingRoutes } from './keys/http-routes.js';
import { KEY_LABELS } from './keys/key-names.js';
import { keyObserver } from './keys/key-observer.js';
import { apiStatus } from './runtime/api-errors.js';
import { loadKubeConfig } from './runtime/kube-config.js';
import { isRequestTimeout, requestTimeout } from './runtime/request-timeout.js';
import { createEventRecorder } from './runtime/events.js';
import { sendText, startHttpServer, type RunningHttpServer } from './runtime/http-server.js';
import { objectKey, watchObjects, type ObjectCache } from './runtime/informer.js';
import { startLeaderElection } from './runtime/leader-election.js';
import type { Logger } from './runtime/logger.js';
import { collectDefault, MetricsRegistry } from './runtime/metrics.js';
import { WorkQueue } from './runtime/work-queue.js';
import { createSyncEngine, type SyncEngine } from './sync/engine.js';
import { impersonating } from './sync/targets.js';
import { unsealObserver } from './unseal/observer.js';
import { vaultOpener } from './unseal/vault-opener.js';
import { OWNER_LABEL } from './unseal/secret-plan.js';
import { createUnsealer, queueKey, SEALED_SECRET_APIS, type SealedSecretApiName, type SealedSecretResource } from './unseal/unsealer.js';

/** A running controller. */
export interface RunningController {
  httpPort: number;
  metricsPort: number;
  keys: KeyManager;
  isLeader(): boolean;
  stop(): Promise<void>;
}

const CRD = 'sealedsecrets.sigil.dev';
/** How long the startup check waits for the API server: a server that never answers must not hang startup. */
const API_CHECK_TIMEOUT_MS = 10_000;

/**
 * Starts the controller. Throws StalledError with a clear reason when the CRD is not installed or the
 * controller may not read its keys.
 */
export async function startController(config: ControllerConfig, log: Logger, kc = loadKubeConfig(config.kubeconfig)): Promise<RunningController> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await checkCrd(kc, CRD, 'kubectl apply -k controller/deploy', 'controller/deploy/rbac.yaml');
  if (config.watchBitnami) {
    await checkCrd(kc, 'sealedsecrets.bitnami.com', 'install Sealed Secrets\' CRD, or run without --watch-bitnami', 'controller/deploy/rbac-bitnami.yaml');
  }
  // The sync engine acts as its own ServiceAccount (impersonated): the rights to apply anything are that
  // account's, and the controller's own stay least-privilege.
  const syncKc = config.syncEngine ? impersonating(kc, `system:serviceaccount:${config.namespace}:${config.syncServiceAccount}`) : undefined;
  if (syncKc) {
    await checkCrd(syncKc, 'applications.sigil.dev', 'kubectl apply -k controller/deploy, or run with --no-sync-engine', 'controller/deploy/rbac-sync.yaml');
  }

  const metrics = new MetricsRegistry();
  collectDefault(metrics);
  const keysLoaded = metrics.gauge('sigil_sealing_keys', 'Sealing keys loaded, by state.', ['state']);
  const queueDepth = metrics.gauge('sigil_workqueue_depth', 'SealedSecrets waiting to be reconciled.');
  const events = createEventRecorder(kc, { component: 'sigil-controller', log });

  const keys = new KeyManager({
    core,
    namespace: config.namespace,
    bits: config.keySize,
    renewPeriodMs: config.keyRenewPeriodMs,
    cutoffTime: config.keyCutoffTime,
    importBitnami: config.importBitnamiKeys ? { namespace: config.bitnamiNamespace } : undefined,
    clock: () => new Date(),
    leader: !config.leaderElect,
    log: keyObserver(log, events, metrics, config.namespace),
  });
  try {
    await keys.start();
  } catch (err) {
    if (apiStatus((err as { cause?: unknown }).cause) === 403) {
      throw new StalledError('Forbidden', `${errorMessage(err)}; apply controller/deploy/rbac.yaml`);
    }
    throw err;
  }

  const caches: ObjectCache<k8s.KubernetesObject>[] = [];
  const keySecrets = (namespace: string, label: string): ObjectCache<k8s.V1Secret> => {
    const cache: ObjectCache<k8s.V1Secret> = watchObjects<k8s.V1Secret>({
      kc,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector: label,
      list: () => core.listNamespacedSecret({ namespace, labelSelector: label }),
      onChange: (key) => {
        const secret = cache.get(key);
        const [ns, name] = key.split('/');
        keys.applySecret(secret ? 'MODIFIED' : 'DELETED', secret ?? { metadata: { namespace: ns, name } });
        // A usable key added or restored may open what was refused before: try every SealedSecret again.
        if (secret && name && keys.ring().get(name)?.compromised === false) requeueAll();
      },
      log: log.child({ informer: 'key-secrets' }),
    });
    return cache;
  };
  caches.push(keySecrets(config.namespace, KEY_LABELS.sigil));
  if (config.importBitnamiKeys) caches.push(keySecrets(config.bitnamiNamespace, KEY_LABELS.bitnami));

  let queue: WorkQueue | undefined;
  const apis: SealedSecretApiName[] = config.watchBitnami ? ['sigil', 'bitnami'] : ['sigil'];
  const namespaces = config.watchNamespaces.length ? config.watchNamespaces : [undefined];
  const sealedSecrets = new Map<SealedSecretApiName, ObjectCache<SealedSecretResource>[]>();
  for (const apiName of apis) {
    const { group, version, plural } = SEALED_SECRET_APIS[apiName];
    sealedSecrets.set(
      apiName,
      namespaces.map((ns) =>
        watchObjects<SealedSecretResource>({
          kc,
          path: ns ? `/apis/${group}/${version}/namespaces/${ns}/${plural}` : `/apis/${group}/${version}/${plural}`,
          list: () =>
            (ns
              ? custom.listNamespacedCustomObject({ group, version, namespace: ns, plural })
              : custom.listClusterCustomObject({ group, version, plural })) as Promise<k8s.KubernetesListObject<SealedSecretResource>>,
          onChange: (key) => queue?.add(queueKey(apiName, key)),
          log: log.child({ informer: `${group} sealedsecrets` }),
        }),
      ),
    );
  }
  const ownedSecrets = namespaces.map((ns) =>
    watchObjects<k8s.V1Secret>({
      kc,
      path: ns ? `/api/v1/namespaces/${ns}/secrets` : '/api/v1/secrets',
      labelSelector: OWNER_LABEL,
      list: () => (ns ? core.listNamespacedSecret({ namespace: ns, labelSelector: OWNER_LABEL }) : core.listSecretForAllNamespaces({ labelSelector: OWNER_LABEL })),
      // An owned Secret changed or went: its SealedSecret (of whichever API) puts it back.
      onChange: (key) => apis.forEach((apiName) => queue?.add(queueKey(apiName, key))),
      log: log.child({ informer: 'owned-secrets' }),
    }),
  );
  caches.push(...[...sealedSecrets.values()].flat(), ...ownedSecrets);
  const sync: SyncEngine | undefined = syncKc
    ? createSyncEngine({
        kc: syncKc,
        controllerKc: kc,
        defaultServiceAccount: config.defaultServiceAccount,
        crossNamespaceRefs: config.crossNamespaceRefs,
        watchNamespaces: config.watchNamespaces,
        workers: config.syncWorkers,
        kustomizePath: config.kustomizePath,
        cacheDir: config.gitCacheDir,
        webhookSecret: { namespace: config.namespace, name: config.webhookSecret },
        log: log.child({ component: 'sync' }),
        events,
        metrics,
      })
    : undefined;
  await Promise.all([...caches.map((c) => c.start()), sync?.start()]);

  const findIn = <T>(list: ObjectCache<T>[], key: string): T | undefined => list.map((c) => c.get(key)).find(Boolean);
  const vault = config.vault ? vaultOpener(config.vault) : undefined;
  const unseal = createUnsealer({
    core,
    custom,
    keys: { ring: () => keys.ring() },
    sealedSecrets: { get: (apiName, key) => findIn(sealedSecrets.get(apiName) ?? [], key) },
    ownedSecrets: { get: (key) => findIn(ownedSecrets, key) },
    ...(vault ? { vault } : {}),
    observer: unsealObserver(log, events, metrics),
    clock: () => new Date(),
  });

  /** Puts every SealedSecret (of every watched API) in the queue, when leading. */
  const requeueAll = (): void => {
    for (const [apiName, list] of sealedSecrets) for (const c of list) for (const obj of c.list()) queue?.add(queueKey(apiName, objectKey(obj)));
  };
  const lead = (): void => {
    keys.setLeader(true);
    queue = new WorkQueue({
      workers: config.workers,
      handle: unseal,
      onError: (key, err, info) => {
        if (!info.willRetry && !(err instanceof StalledError)) {
          log.error('giving up on SealedSecret', { sealedSecret: key, attempts: info.attempt, error: (err as Error).message });
        }
      },
    });
    queue.start();
    requeueAll();
    sync?.setLeader(true);
    log.info('leading: reconciling SealedSecrets', { workers: config.workers });
  };
  const follow = (): void => {
    keys.setLeader(false);
    sync?.setLeader(false);
    const stopping = queue;
    queue = undefined;
    void stopping?.shutdown();
    log.info('not leading: serving the certificate only');
  };
  const election = config.leaderElect
    ? startLeaderElection({
        kc,
        namespace: config.namespace,
        name: 'sigil-controller',
        identity: `${hostname()}_${process.pid}`,
        leaseDurationSeconds: config.leaseDurationMs / 1000,
        renewDeadlineSeconds: config.renewDeadlineMs / 1000,
        retryPeriodSeconds: config.retryPeriodMs / 1000,
        onStartedLeading: lead,
        onStoppedLeading: follow,
        log,
      })
    : undefined;
  if (!election) lead();

  const vaultCalls = metrics.gauge('sigil_vault_calls', 'Vault logins and requests since start.', ['kind']);
  const gitFetches = metrics.gauge('sigil_git_fetches', 'Git fetches run by the sync engine since start (a commit is fetched once for every Application).');
  metrics.onRender(() => {
    if (sync) gitFetches.set({}, sync.fetchCount());
    if (vault) {
      const { logins, requests } = vault.stats();
      vaultCalls.set({ kind: 'login' }, logins);
      vaultCalls.set({ kind: 'request' }, requests);
    }
    keysLoaded.set({ state: 'usable' }, keys.ring().usable().length);
    queueDepth.set({}, queue?.depth() ?? 0);
  });
  const ready = (): boolean => keys.ready() && caches.every((c) => c.synced()) && (sync?.synced() ?? true);
  const http: RunningHttpServer = await startHttpServer({
    listen: config.listen,
    log,
    routes: {
      'GET /v1/cert.pem': (_req, res) => sendText(res, 200, keys.certPem(), 'application/x-pem-file'),
      'GET /healthz': (_req, res) => sendText(res, 200, 'ok\n'),
      'GET /readyz': (_req, res) => sendText(res, ready() ? 200 : 503, ready() ? 'ok\n' : 'not ready\n'),
      ...sealingRoutes(keys),
      ...sync?.routes,
    },
  });
  const metricsHttp = await startHttpServer({
    listen: config.metricsListen,
    log,
    routes: { 'GET /metrics': (_req, res) => sendText(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8') },
  });
  log.info('sigil-controller started', { namespace: config.namespace, http: http.port, metrics: metricsHttp.port, keys: keys.ring().usable().length });

  return {
    httpPort: http.port,
    metricsPort: metricsHttp.port,
    keys,
    isLeader: () => (election ? election.isLeader() : true),
    async stop(): Promise<void> {
      await Promise.all([queue?.shutdown(), sync?.stop()]);
      await election?.stop();
      for (const c of caches) c.stop();
      keys.stop();
      await Promise.all([http.close(), metricsHttp.close()]);
    },
  };
}

async function checkCrd(kc: k8s.KubeConfig, name: string, fix: string, rbac: string): Promise<void> {
  try {
    await kc.makeApiClient(k8s.ApiextensionsV1Api).readCustomResourceDefinition({ name }, requestTimeout(API_CHECK_TIMEOUT_MS));
  } catch (err) {
    const status = apiStatus(err);
    if (status === 404) throw new StalledError('CrdMissing', `the CRD ${name} is not installed: ${fix}`);
    if (status === 401 || status === 403) throw new StalledError('Forbidden', `cannot read the CRD ${name}: HTTP ${status}; apply ${rbac}`);
    const why = isRequestTimeout(err) ? `no answer within ${API_CHECK_TIMEOUT_MS / 1000} s` : ((err as { code?: string }).code ?? (err as Error).message);
    throw new StalledError('ApiUnreachable', `cannot reach the Kubernetes API at ${kc.getCurrentCluster()?.server ?? '?'}: ${why}`);
  }
}
