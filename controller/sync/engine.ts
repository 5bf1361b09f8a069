/**
 * The sync engine wired together: Application informers → one keyed work queue with bounded workers →
 * `reconcile(namespace/name)`; one Git cache shared by every Application (a repo used by many is resolved
 * once per poll and fetched once per commit; a path rendered once per commit); the shared watches of
 * applied objects; and the `POST /hooks/git` route that refreshes every Application of a pushed repo.
 */
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { StalledError } from '../../shared/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import type { RouteHandler } from '../runtime/http-server.js';
import { watchObjects, type ObjectCache } from '../runtime/informer.js';
import { kubeRest, type KubeRest } from '../runtime/kube-rest.js';
import type { Logger } from '../runtime/logger.js';
import type { MetricsRegistry } from '../runtime/metrics.js';
import { WorkQueue } from '../runtime/work-queue.js';
import { APP_ANNOTATIONS, APPLICATION_API, type ApplicationResource, type ApplicationStatus } from './application.js';
import { GitSource, normalizeRepoUrl, type GitCredentials } from './git-source.js';
import { gitHookRoute } from './git-webhook.js';
import { trustedKeysFromSecretData } from './git-verify.js';
import { syncObserver } from './observer.js';
import { createSyncReconciler } from './reconciler.js';
import { renderPath, type RenderedObject } from './render.js';
import { createTargets, type Targets } from './targets.js';

/** What the engine needs from the controller's settings. */
export interface SyncEngineOptions {
  /** The engine's own identity (the sync ServiceAccount, impersonated). */
  kc: k8s.KubeConfig;
  /** The controller's own credentials, which impersonate Applications' ServiceAccounts. */
  controllerKc: k8s.KubeConfig;
  /** `--default-service-account`. */
  defaultServiceAccount?: string;
  /** False under `--no-cross-namespace-refs`. */
  crossNamespaceRefs: boolean;
  /** Empty = all namespaces. */
  watchNamespaces: string[];
  workers: number;
  kustomizePath: string;
  cacheDir: string;
  /** Namespace and name of the Secret whose `token` verifies webhooks. */
  webhookSecret: { namespace: string; name: string };
  log: Logger;
  events: EventRecorder;
  metrics: MetricsRegistry;
}

/** A running engine. */
export interface SyncEngine {
  /** Lists and watches Applications; resolves once the caches are filled. */
  start(): Promise<void>;
  /** Starts reconciling (the leader) or stops (a follower). */
  setLeader(leading: boolean): void;
  synced(): boolean;
  routes: Record<string, RouteHandler>;
  fetchCount(): number;
  stop(): Promise<void>;
}

/** A resolved revision is reused this long by other Applications of the same repo (a webhook clears it). */
const RESOLVE_TTL_MS = 2_000;
/** Rendered paths (and verified commits) kept in memory. */
const CACHE_LIMIT = 512;
const GC_INTERVAL_MS = 10 * 60_000;
const WEBHOOK_TOKEN_TTL_MS = 5_000;

/** Builds the engine; nothing runs until `start`. */
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { kc, log } = options;
  const rest: KubeRest = kubeRest(kc);
  const source = new GitSource({ cacheDir: options.cacheDir, log: log.child({ component: 'git' }) });
  const { group, version, plural } = APPLICATION_API;
  const namespaces = options.watchNamespaces.length ? options.watchNamespaces : [undefined];
  let queue: WorkQueue | undefined;

  const apps: ObjectCache<ApplicationResource & k8s.KubernetesObject>[] = namespaces.map((ns) => {
    const path = ns ? `/apis/${group}/${version}/namespaces/${ns}/${plural}` : `/apis/${group}/${version}/${plural}`;
    return watchObjects<ApplicationResource & k8s.KubernetesObject>({
      kc,
      path,
      list: () => rest.request({ method: 'GET', path }),
      onChange: (key) => {
        if (changed(key)) queue?.add(key);
      },
      log: log.child({ informer: 'applications' }),
    });
  });
  const findApp = (key: string): ApplicationResource | undefined => apps.map((c) => c.get(key)).find(Boolean);
  /**
   * Whether an Application changed in a way that needs a reconcile: new, gone, a new generation (spec), or
   * a new refresh / sync annotation. Its own status writes do not: they would queue every Application again.
   */
  const seen = new Map<string, string>();
  const changed = (key: string): boolean => {
    const app = findApp(key);
    const annotations = app?.metadata?.annotations ?? {};
    const mark = app ? `${app.metadata?.uid}|${app.metadata?.generation}|${annotations[APP_ANNOTATIONS.refresh] ?? ''}|${annotations[APP_ANNOTATIONS.sync] ?? ''}` : '';
    if (seen.get(key) === mark) return false;
    if (app) seen.set(key, mark);
    else seen.delete(key);
    return true;
  };
  const allApps = (): ApplicationResource[] => apps.flatMap((c) => c.list());

  const targets: Targets = createTargets({
    controllerKc: options.controllerKc,
    engineKc: kc,
    defaultServiceAccount: options.defaultServiceAccount,
    log,
    wake: (label) => {
      const dot = label.indexOf('.');
      if (dot > 0) queue?.add(`${label.slice(0, dot)}/${label.slice(dot + 1)}`);
    },
  });
  const cluster = targets.engine;

  const resolved = new Map<string, { at: number; sha: Promise<string> }>();
  // Keyed by the credentials too: an Application shares what another fetched only once its own credentials
  // have reached the repository (a checkout holds no trace of who was allowed to read it).
  const resolve = (repoURL: string, revision: string, credentials: GitCredentials | undefined, fresh: boolean): Promise<string> => {
    const key = `${repoURL}#${revision}#${credentials ? createHash('sha256').update(JSON.stringify(credentials)).digest('hex') : ''}`;
    const hit = resolved.get(key);
    if (hit && !fresh && Date.now() - hit.at < RESOLVE_TTL_MS) return hit.sha;
    const sha = source.resolve(repoURL, revision, credentials);
    resolved.set(key, { at: Date.now(), sha });
    sha.catch(() => resolved.delete(key));
    return sha;
  };
  // Shared by every Application of the same repo, commit and path; planObjects copies before it changes anything.
  const rendered = sharedPromises<RenderedObject[]>(CACHE_LIMIT);
  const render = (repoURL: string, commit: string, path: string, credentials: GitCredentials | undefined): Promise<RenderedObject[]> =>
    rendered(`${repoURL}@${commit}:${path}`, () => source.checkout(repoURL, commit, credentials).then((dir) => renderPath(dir, path, { kustomizePath: options.kustomizePath })));
  // Checkouts of commits no Application points at any more are removed now and then.
  const gcTimer = setInterval(() => {
    const keep = new Set(allApps().flatMap((a) => {
      const url = (a.spec as { source?: { repoURL?: string } } | undefined)?.source?.repoURL;
      return url ? [a.status?.lastAppliedRevision, a.status?.lastAttemptedRevision].filter(Boolean).map((sha) => `${url}@${sha}`) : [];
    }));
    source.gc(keep).catch((err: unknown) => log.warn('git cache cleanup failed', { error: (err as Error).message }));
  }, GC_INTERVAL_MS);
  gcTimer.unref();

  // Verified (repo, commit, keys): many Applications of one commit verify it once.
  const verified = sharedPromises<void>(CACHE_LIMIT);
  const verify = (repoURL: string, commit: string, credentials: GitCredentials | undefined, keys: Record<string, string>, keysName: string): Promise<void> =>
    verified(`${repoURL}@${commit}#${createHash('sha256').update(JSON.stringify(keys)).digest('hex')}`, async () => {
      await source.checkout(repoURL, commit, credentials);
      await source.verifyCommit(repoURL, commit, trustedKeysFromSecretData(keys, keysName));
    });

  const reconcile = createSyncReconciler({
    apps: { get: findApp },
    target: (app, spec) => targets.forApp(app.namespace, spec),
    resolve,
    render,
    verify,
    crossNamespaceRefs: options.crossNamespaceRefs,
    // A JSON patch that replaces the whole status: a merge patch would keep fields the new status leaves out.
    patchStatus: async (app, status: ApplicationStatus) => {
      await rest.request({
        method: 'PATCH',
        path: `/apis/${group}/${version}/namespaces/${app.namespace}/${plural}/${app.name}/status`,
        body: [{ op: 'add', path: '/status', value: status }],
        contentType: 'application/json-patch+json',
      });
    },
    requeue: (key, ms) => queue?.addAfter(key, ms),
    observer: syncObserver(log, options.events, options.metrics),
    clock: () => new Date(),
    random: Math.random,
  });

  /** The webhook token, read from its Secret at most every few seconds (a rotated Secret applies soon). */
  let webhookToken: { at: number; value: Promise<string | undefined> } | undefined;
  const readWebhookToken = (): Promise<string | undefined> => {
    if (!webhookToken || Date.now() - webhookToken.at > WEBHOOK_TOKEN_TTL_MS) {
      const { namespace, name } = options.webhookSecret;
      const value = cluster.get({ apiVersion: 'v1', kind: 'Secret', namespace, name }).then(
        (s) => {
          const token = (s?.data as Record<string, string> | undefined)?.token;
          return token ? Buffer.from(token, 'base64').toString('utf8').trim() : undefined;
        },
        (err: unknown) => {
          log.warn('cannot read the webhook Secret', { secret: `${namespace}/${name}`, error: (err as Error).message });
          webhookToken = undefined;
          return undefined;
        },
      );
      webhookToken = { at: Date.now(), value };
    }
    return webhookToken.value;
  };

  return {
    async start() {
      await Promise.all(apps.map((c) => c.start()));
    },
    setLeader(leading) {
      if (leading && !queue) {
        queue = new WorkQueue({
          workers: options.workers,
          handle: reconcile,
          onError: (key, err, info) => {
            if (!info.willRetry && !(err instanceof StalledError)) log.error('giving up on Application', { application: key, attempts: info.attempt, error: (err as Error).message });
          },
        });
        queue.start();
        for (const app of allApps()) queue.add(`${app.metadata?.namespace}/${app.metadata?.name}`);
        log.info('leading: syncing Applications', { workers: options.workers });
      } else if (!leading && queue) {
        const stopping = queue;
        queue = undefined;
        void stopping.shutdown();
      }
    },
    synced: () => apps.every((c) => c.synced()),
    routes: gitHookRoute({
      secret: readWebhookToken,
      onPush: (event) => {
        const pushed = new Set(event.repoUrls.map(normalizeRepoUrl));
        let refreshed = 0;
        for (const app of allApps()) {
          const url = (app.spec as { source?: { repoURL?: string } } | undefined)?.source?.repoURL;
          if (!url || !pushed.has(normalizeRepoUrl(url))) continue;
          for (const key of resolved.keys()) if (key.startsWith(`${url}#`)) resolved.delete(key);
          queue?.add(`${app.metadata?.namespace}/${app.metadata?.name}`);
          refreshed++;
        }
        return refreshed;
      },
      log,
    }),
    fetchCount: () => source.fetchCount(),
    async stop() {
      clearInterval(gcTimer);
      await queue?.shutdown();
      queue = undefined;
      for (const c of apps) c.stop();
      targets.stop();
    },
  };
}

/**
 * Promises by key, at most `limit` of them (the least recently used goes): every caller of a key shares one
 * promise, and a rejected one is forgotten so the next caller tries again.
 */
function sharedPromises<T>(limit: number): (key: string, make: () => Promise<T>) => Promise<T> {
  const known = new Map<string, Promise<T>>();
  return (key, make) => {
    let promise = known.get(key);
    if (promise) {
      known.delete(key);
    } else {
      const made = make();
      made.catch(() => {
        if (known.get(key) === made) known.delete(key);
      });
      promise = made;
    }
    known.set(key, promise);
    if (known.size > limit) known.delete(known.keys().next().value!);
    return promise;
  };
}
