/**
 * The sync engine's figures (../../shared/TARGETS.md), each on a fresh test environment of its own: control
 * plane, the real Git servers, and the built controller as a process under its shipped RBAC with the sync
 * engine on (test/helpers/sync-env.ts; it logs at debug level). Everything the bench creates or reads in the
 * cluster goes through @kubernetes/client-node as admin.
 *
 * - Webhook push → objects applied: two Applications of 100 ConfigMaps each, from two repositories. One
 *   polls every hour and is told of each commit by a GitHub-signed push to `POST /hooks/git`; timed from
 *   the POST until a list (every 50 ms) shows all 100 ConfigMaps with the new value, median of
 *   WEBHOOK_RUNS. The reference is the other one, polling every 10 s with no webhook: timed from the push
 *   of the commit until the same, median of POLL_RUNS; each of its commits waits a random part of the
 *   interval first, so the runs do not all land just after a poll.
 * - N Applications × 10 ConfigMaps: one repository, one folder per Application, one commit; the
 *   Applications created 16 requests in flight and timed from the first create until a list (every
 *   500 ms) shows every one Synced with lastAppliedRevision at that commit. Then the controller's peak RSS
 *   (VmHWM), the git fetches it ran (its gauge sigil_git_fetches), and, to tell where the time went, the
 *   CPU time of the controller (with its git children), the kube-apiserver and etcd, the reconciles from
 *   sigil_sync_total / sigil_sync_duration_seconds, and the warnings and errors in its log.
 * - Issue 7, one controller managing 3 clusters × 100 Applications (benchSyncClusters, also run alone as
 *   BENCH_ONLY=sync-clusters): the same measure for 300 Applications, 100 applying to the controller's own
 *   cluster and 100 to each of two more control planes, named by Secrets holding their kubeconfigs; the
 *   CPU of each apiserver and etcd, and the ConfigMaps listed in each cluster after. The reference is the
 *   same 300 Applications all in the controller's own cluster, on a fresh environment of its own.
 *
 * BENCH_APPS (default "100,1000") picks the sizes; sizes of 1,000 and more also run with --sync-workers 8.
 * A size not converged after BENCH_SYNC_TIMEOUT_S (default 600) is reported with how far it got.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/processes.js';
import { kubectlFor } from '../helpers/controller-process.js';
import { applicationYaml, configMapYaml, startSyncEnv, type AppStatus, type SyncEnv } from '../helpers/sync-env.js';
import { clientsFor, type Clients } from './cluster-load.js';
import { inParallel, median, processMemory, sleep } from './measure.js';

const APP_NAMESPACE = 'sigil-apps';
const APPLICATIONS = { group: 'sigil.dev', version: 'v1', namespace: APP_NAMESPACE, plural: 'applications' } as const;
/** The label sync puts on what an Application applied: `sigil.dev/app=<namespace>.<name>`. */
const APP_LABEL = 'sigil.dev/app';
const WEBHOOK_OBJECTS = 100;
const WEBHOOK_RUNS = 5;
const POLL_RUNS = 3;
const POLL_INTERVAL_S = 10;
const OBJECTS_PER_APP = 10;
const CREATE_CONCURRENCY = 16;
/** sigil-controller's default --sync-workers (controller/config.ts), and the wider one tried at 1,000 apps. */
const DEFAULT_WORKERS = 4;
const WIDE_WORKERS = 8;
const SIZES = (process.env.BENCH_APPS ?? '100,1000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
/** Issue 7's fleet: the controller's own cluster and two remote ones, 100 Applications each. */
const CLUSTERS = 3;
const CLUSTER_APPS = 100;
const TIMEOUT_MS = Number(process.env.BENCH_SYNC_TIMEOUT_S ?? 600) * 1000;
/** How often a scale run's progress (Applications synced) is noted for the report. */
const PROGRESS_EVERY_MS = 10_000;
const CLK_TCK = 100;

/** Measures and returns table rows: what, Sigil, reference, target. */
export async function benchSync(): Promise<string[][]> {
  const rows = [await benchWebhook()];
  const runs: ScaleRun[] = [];
  for (const apps of SIZES) {
    runs.push(await benchScale(apps, DEFAULT_WORKERS));
    if (apps >= 1000) runs.push(await benchScale(apps, WIDE_WORKERS));
  }
  return [...rows, ...runs.map(scaleRow), ...(await benchSyncClusters())];
}

/** A fresh sync environment (control plane, Git servers, controller with `args`), once the controller leads. */
async function leadingSyncEnv(name: string, args: string[] = []): Promise<SyncEnv> {
  const env = await startSyncEnv(name, args);
  try {
    await waitUntil(`${name}: controller leading`, async () => env.controller.logs().includes('leading: syncing Applications'), {
      timeoutMs: 60_000,
      server: env.controller.server,
      intervalMs: 100,
    });
    env.kubectl('create', 'namespace', APP_NAMESPACE);
    return env;
  } catch (err) {
    await stopEnv(env);
    throw err;
  }
}

async function stopEnv(env: SyncEnv): Promise<void> {
  await env.stop();
  rmSync(env.dir, { recursive: true, force: true });
}

const note = (text: string): void => console.error(`[bench sync ${new Date().toISOString().slice(11, 19)}] ${text}`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

// ---- webhook push → objects applied ----------------------------------------------------------------------

/** `count` ConfigMaps `cm-000`… under `app/`, each with `v: value`. */
function configMapFiles(count: number, value: string): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => {
    const name = `cm-${String(i).padStart(3, '0')}`;
    return [`app/${name}.yaml`, configMapYaml(name, { v: value, i: String(i) })];
  }));
}

/**
 * Lists the ConfigMaps Application `app` applied every `intervalMs` until `count` of them have `v: value`;
 * resolves with the ms since `since`. Throws after `timeoutMs`.
 */
async function waitForValue(clients: Clients, app: string, namespace: string, value: string, since: number, timeoutMs = 60_000): Promise<number> {
  let seen = 0;
  for (;;) {
    const list = await clients.core.listNamespacedConfigMap({ namespace, labelSelector: `${APP_LABEL}=${APP_NAMESPACE}.${app}` });
    seen = list.items.filter((cm) => cm.data?.v === value).length;
    const ms = performance.now() - since;
    if (seen >= WEBHOOK_OBJECTS) return ms;
    if (ms > timeoutMs) throw new Error(`${app}: only ${seen}/${WEBHOOK_OBJECTS} ConfigMaps have v=${value} after ${seconds(ms)}`);
    await sleep(50);
  }
}

async function benchWebhook(): Promise<string[]> {
  note(`webhook: starting a sync environment (load ${load()})`);
  const env = await leadingSyncEnv('bench-sync-webhook');
  try {
    const admin = clientsFor(env.cp.kubeconfig);
    const token = randomBytes(16).toString('hex');
    env.kubectl('-n', 'sigil-system', 'create', 'secret', 'generic', 'sigil-webhook', `--from-literal=token=${token}`);
    const start = async (app: string, interval: string): Promise<void> => {
      env.kubectl('create', 'namespace', app);
      await env.git.createRepo(app);
      const sha = await env.git.commitFiles(app, configMapFiles(WEBHOOK_OBJECTS, 'v0'), 'v0');
      env.kubectl.apply(applicationYaml({ name: app, repoURL: env.git.daemonUrl(app), path: 'app', destinationNamespace: app, interval }));
      await env.waitForStatus(APP_NAMESPACE, app, `${app} synced`, (s: AppStatus) => s.lastAppliedRevision === sha && s.sync?.status === 'Synced', 120_000);
    };
    await start('hook', '1h');
    await start('poll', `${POLL_INTERVAL_S}s`);

    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: env.git.daemonUrl('hook'), html_url: 'https://example.invalid/hook' } });
    const signature = `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;
    const hookMs: number[] = [];
    const answerMs: number[] = [];
    for (let i = 1; i <= WEBHOOK_RUNS; i++) {
      await sleep(3000); // past the engine's 2 s ls-remote cache and the wake-ups from its own last apply
      await env.git.commitFiles('hook', configMapFiles(WEBHOOK_OBJECTS, `v${i}`), `v${i}`);
      const since = performance.now();
      const res = await fetch(`${env.controller.http}/hooks/git`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signature },
        body,
      });
      answerMs.push(performance.now() - since);
      const answer = await res.text();
      if (res.status !== 200 || JSON.parse(answer).refreshed !== 1) throw new Error(`webhook answered ${res.status}: ${answer}`);
      hookMs.push(await waitForValue(admin, 'hook', 'hook', `v${i}`, since));
      note(`webhook run ${i}: ${seconds(hookMs.at(-1)!)} (load ${load()})`);
    }

    const pollMs: number[] = [];
    for (let i = 1; i <= POLL_RUNS; i++) {
      await sleep(Math.random() * POLL_INTERVAL_S * 1000);
      await env.git.commitFiles('poll', configMapFiles(WEBHOOK_OBJECTS, `v${i}`), `v${i}`);
      pollMs.push(await waitForValue(admin, 'poll', 'poll', `v${i}`, performance.now()));
      note(`interval run ${i}: ${seconds(pollMs.at(-1)!)}`);
    }
    return [
      `webhook push → objects applied, ${WEBHOOK_OBJECTS}-object app (interval 1h): GitHub-signed POST /hooks/git → all ${WEBHOOK_OBJECTS} ConfigMaps listed with the new value, median of ${WEBHOOK_RUNS}`,
      `${seconds(median(hookMs))} (runs: ${hookMs.map(seconds).join(', ')}; POST answered in ${seconds(median(answerMs))})`,
      `interval-only path, same app with interval ${POLL_INTERVAL_S}s and no webhook, push → all applied: ${seconds(median(pollMs))} (median of ${POLL_RUNS}: ${pollMs.map(seconds).join(', ')})`,
      '< 2 s',
    ];
  } finally {
    await stopEnv(env);
  }
}

// ---- N Applications × 10 objects, in one cluster or spread over several -----------------------------------

/** One scale run's measurements. */
interface ScaleRun {
  apps: number;
  workers: number;
  /** Clusters the Applications are spread over, evenly: the controller's own first, then remote ones. */
  clusters: number;
  /** ms from the first create until all were synced, or undefined when they were not within TIMEOUT_MS. */
  convergedMs?: number;
  /** Per cluster, ms until all of its Applications were synced (undefined: not within TIMEOUT_MS). */
  clusterMs: Array<number | undefined>;
  synced: number;
  elapsedMs: number;
  /** "10 s: 120" per PROGRESS_EVERY_MS. */
  progress: string[];
  peakMiB: number;
  /** sigil_git_fetches at the end (undefined when /metrics has no such gauge). */
  fetches: number | undefined;
  /** ls-remotes, counted from the debug log ("git revision resolved"). */
  lsRemotes: number;
  /** CPU seconds over the run; apiserver and etcd per cluster, the controller's own first. */
  cpu: { controller: number; apiserver: number[]; etcd: number[]; bench: number };
  /** Per cluster, the ConfigMaps the Applications applied there, listed once they were all synced. */
  applied: number[];
  reconciles: string;
  /** Warnings and errors in the controller's log, by message, and how many came during the run. */
  complaints: string[];
  listMs: number;
  load: string;
}

const pad = (i: number): string => String(i).padStart(4, '0');

/**
 * `apps` Applications × OBJECTS_PER_APP ConfigMaps, created at once, on a fresh environment whose controller
 * runs `workers` sync workers; with `clusters` > 1, that many - 1 more control planes are started and the
 * Applications spread evenly: the first share applies to the controller's own cluster, each next share to a
 * remote one named by a Secret holding its kubeconfig (user sigil-fleet in system:masters there).
 */
async function benchScale(apps: number, workers: number, clusters = 1): Promise<ScaleRun> {
  const label = `${apps} apps${clusters > 1 ? ` over ${clusters} clusters` : ''}, w${workers}`;
  note(`${label}: starting a fresh sync environment (load ${load()})`);
  const env = await leadingSyncEnv(`bench-sync-${apps}-c${clusters}-w${workers}`, [`--sync-workers=${workers}`]);
  const remotes: ControlPlane[] = [];
  try {
    const started = await Promise.allSettled(Array.from({ length: clusters - 1 }, (_, k) => startControlPlane({ dir: join(env.dir, `remote-${k + 1}`) })));
    for (const s of started) if (s.status === 'fulfilled') remotes.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    for (const [k, remote] of remotes.entries()) {
      kubectlFor(remote.kubeconfig)('create', 'namespace', 'fleet');
      const kubeconfig = await remote.kubeconfigForUser('sigil-fleet', ['system:masters']);
      env.kubectl.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `remote-${k + 1}`, namespace: APP_NAMESPACE }, stringData: { kubeconfig } }));
    }
    const planes = [env.cp, ...remotes];
    const admins = planes.map((cp) => clientsFor(cp.kubeconfig));
    const admin = admins[0]!;
    /** The cluster (0: the controller's own) Application i (0-based) applies to. */
    const clusterOf = (i: number): number => Math.floor((i * clusters) / apps);
    const shares = planes.map((_, k) => Array.from({ length: apps }, (_, i) => clusterOf(i)).filter((c) => c === k).length);

    env.kubectl('create', 'namespace', 'fleet');
    await env.git.createRepo('fleet');
    const files: Record<string, string> = {};
    for (let a = 1; a <= apps; a++) {
      for (let j = 0; j < OBJECTS_PER_APP; j++) files[`app-${pad(a)}/cm-${j}.yaml`] = configMapYaml(`app-${pad(a)}-cm-${j}`, { app: pad(a), j: String(j) });
    }
    const sha = await env.git.commitFiles('fleet', files, `${apps} apps`);
    const bodies = Array.from({ length: apps }, (_, i) => {
      const k = clusterOf(i);
      const name = `app-${pad(i + 1)}`;
      return JSON.parse(applicationYaml({ name, repoURL: env.git.daemonUrl('fleet'), path: name, destinationNamespace: 'fleet', interval: '1h', ...(k ? { cluster: `remote-${k}` } : {}) })) as object;
    });
    note(`${label}: repo committed (${sha.slice(0, 7)}), creating the Applications`);

    const pids = { controller: env.controller.server.pid, apiserver: planes.map((cp) => cp.pids.apiserver), etcd: planes.map((cp) => cp.pids.etcd) };
    const cpuNow = (): { controller: number; apiserver: number[]; etcd: number[] } => ({
      controller: cpuSeconds(pids.controller),
      apiserver: pids.apiserver.map(cpuSeconds),
      etcd: pids.etcd.map(cpuSeconds),
    });
    const cpu0 = { ...cpuNow(), bench: process.cpuUsage() };
    const since = performance.now();
    const sinceWall = Date.now();
    let failure: unknown;
    const creating = inParallel(apps, CREATE_CONCURRENCY, (i) => admin.custom.createNamespacedCustomObject({ ...APPLICATIONS, body: bodies[i]! })).catch((err: unknown) => {
      failure = err;
    });
    const progress: string[] = [];
    const listTimes: number[] = [];
    const clusterMs: Array<number | undefined> = planes.map(() => undefined);
    let synced = 0;
    let elapsedMs = 0;
    let convergedMs: number | undefined;
    for (let nextNote = PROGRESS_EVERY_MS; ; ) {
      const t = performance.now();
      const list = (await admin.custom.listNamespacedCustomObject(APPLICATIONS)) as { items: Array<KubernetesObject & { status?: AppStatus }> };
      listTimes.push(performance.now() - t);
      elapsedMs = performance.now() - since;
      const perCluster = planes.map(() => 0);
      for (const a of list.items) {
        if (a.status?.sync?.status === 'Synced' && a.status.lastAppliedRevision === sha) perCluster[clusterOf(Number(a.metadata!.name!.slice(4)) - 1)]! += 1;
      }
      synced = perCluster.reduce((s, n) => s + n, 0);
      for (const [k, n] of perCluster.entries()) if (clusterMs[k] === undefined && n === shares[k]) clusterMs[k] = elapsedMs;
      if (elapsedMs >= nextNote) {
        progress.push(`${Math.round(elapsedMs / 1000)} s: ${synced}${clusters > 1 ? ` (${perCluster.join('+')})` : ''}`);
        note(`${label}: ${progress.at(-1)} synced (load ${load()})`);
        nextNote += PROGRESS_EVERY_MS;
      }
      if (synced === apps) {
        convergedMs = elapsedMs;
        break;
      }
      if (elapsedMs > TIMEOUT_MS || failure !== undefined) break;
      await sleep(500);
    }
    await creating;
    if (failure !== undefined) throw failure;
    const cpu1 = cpuNow();
    const cpu = {
      controller: cpu1.controller - cpu0.controller,
      apiserver: cpu1.apiserver.map((s, k) => s - cpu0.apiserver[k]!),
      etcd: cpu1.etcd.map((s, k) => s - cpu0.etcd[k]!),
      bench: benchCpuSeconds(cpu0.bench),
    };
    const peakMiB = processMemory(pids.controller).peakMiB;
    const metrics = await (await fetch(`${env.controller.metrics}/metrics`)).text();
    const logs = env.controller.logs();
    const applied = await Promise.all(admins.map(async (c) => (await c.core.listNamespacedConfigMap({ namespace: 'fleet', labelSelector: APP_LABEL })).items.length));
    const run: ScaleRun = {
      apps,
      workers,
      clusters,
      ...(convergedMs === undefined ? {} : { convergedMs }),
      clusterMs,
      synced,
      elapsedMs,
      progress,
      peakMiB,
      fetches: gitFetches(metrics),
      lsRemotes: logLines(logs, 'git revision resolved'),
      cpu,
      applied,
      reconciles: reconcileSummary(metrics),
      complaints: complaints(logs, sinceWall),
      listMs: median(listTimes),
      load: load(),
    };
    note(`${label}: ${JSON.stringify(run)}`);
    for (const line of firstComplaints(logs, sinceWall)) note(`${label}: controller log: ${line}`);
    return run;
  } finally {
    await env.stop();
    await Promise.all(remotes.map((r) => r.stop()));
    rmSync(env.dir, { recursive: true, force: true });
  }
}

/** CPU seconds process `pid` and its reaped children (git, for the controller) have used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime/stime/cutime/cstime (fields 14–17) are at 11–14 here.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0) / CLK_TCK;
}

/** CPU seconds this process has used since `since`. */
function benchCpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

/** How many log lines of the controller have `msg`. */
function logLines(logs: string, msg: string): number {
  return logs.split('\n').filter((l) => l.includes(`"msg":${JSON.stringify(msg)}`)).length;
}

/** The controller's warn and error log lines, each with its level and message: `warn "watch failed; restarting"`. */
function complaintLines(logs: string): Array<{ what: string; at: number; line: string }> {
  return logs.split('\n').flatMap((line) => {
    const m = /^\{"level":"(warn|error)","time":"([^"]*)","msg":("(?:[^"\\]|\\.)*")/.exec(line);
    return m ? [{ what: `${m[1]} ${m[3]}`, at: Date.parse(m[2]!), line }] : [];
  });
}

/**
 * The controller's warn and error log lines counted by message, and how many came at or after `since` (a
 * Date.now()): `warn "watch failed; restarting" ×2 (0 after the first create)`.
 */
function complaints(logs: string, since: number): string[] {
  const counts = new Map<string, { all: number; after: number }>();
  for (const { what, at } of complaintLines(logs)) {
    const c = counts.get(what) ?? { all: 0, after: 0 };
    c.all += 1;
    if (at >= since) c.after += 1;
    counts.set(what, c);
  }
  return [...counts].map(([what, c]) => `${what} ×${c.all} (${c.after} after the first create)`);
}

/** To see what they were: the first warn or error line of the controller's log for each message, and for each the first at or after `since`. */
function firstComplaints(logs: string, since: number): string[] {
  const first = new Map<string, string>();
  for (const { what, at, line } of complaintLines(logs)) {
    for (const key of [what, ...(at >= since ? [`${what} after`] : [])]) if (!first.has(key)) first.set(key, line.slice(0, 600));
  }
  return [...new Set(first.values())];
}

/** The git fetches the controller ran: its gauge sigil_git_fetches (undefined when /metrics has none). */
function gitFetches(metrics: string): number | undefined {
  const line = metrics.split('\n').find((l) => /^sigil_git_fetches(\{\})? /.test(l));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** "1,234 reconciles (success 1,200, failure 34), mean 0.210 s", from sigil_sync_total and sigil_sync_duration_seconds. */
function reconcileSummary(metrics: string): string {
  const sum = (re: RegExp): number => metrics.split('\n').filter((l) => re.test(l)).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  const count = sum(/^sigil_sync_duration_seconds_count/);
  const seconds = sum(/^sigil_sync_duration_seconds_sum/);
  const byResult = ['success', 'failure'].map((r) => `${r} ${sum(new RegExp(`^sigil_sync_total\\{.*result="${r}"`))}`).join(', ');
  const reasons = metrics
    .split('\n')
    .filter((l) => l.startsWith('sigil_sync_total{') && l.includes('result="failure"'))
    .map((l) => `${/reason="([^"]*)"/.exec(l)?.[1]}: ${l.split(' ').at(-1)}`);
  return `${count} reconciles (${byResult}${reasons.length ? `; ${reasons.join(', ')}` : ''}), mean ${count ? (seconds / count).toFixed(3) : '—'} s`;
}

/** Converged time, or how far it got. */
function outcome(r: ScaleRun): string {
  return r.convergedMs === undefined ? `not done: ${r.synced}/${r.apps} Synced after ${seconds(r.elapsedMs)} (${r.progress.join(', ')})` : seconds(r.convergedMs);
}

/** Git fetches for the one revision, ls-remotes, and what the controller's log complained of. */
function gitAndLog(r: ScaleRun): string {
  const fetches = r.fetches === undefined ? 'git fetches n/a (/metrics has no sigil_git_fetches)' : `${r.fetches} git fetch${r.fetches === 1 ? '' : 'es'} for 1 revision (sigil_git_fetches)`;
  return `${fetches}, ${r.lsRemotes} ls-remote; controller log: ${r.complaints.length ? r.complaints.join(', ') : 'no warnings or errors'}`;
}

function scaleRow(r: ScaleRun): string[] {
  return [
    `${r.apps} Applications × ${OBJECTS_PER_APP} ConfigMaps (one repo, one folder each, one commit), --sync-workers ${r.workers}: first create (${CREATE_CONCURRENCY} in flight) → all Synced at the commit; controller peak RSS (VmHWM); git fetches`,
    `${outcome(r)}; peak ${r.peakMiB.toFixed(1)} MiB; ${gitAndLog(r)}. CPU over the run: controller + its git ${r.cpu.controller.toFixed(1)} s, kube-apiserver ${r.cpu.apiserver[0]!.toFixed(1)} s, etcd ${r.cpu.etcd[0]!.toFixed(1)} s, bench ${r.cpu.bench.toFixed(1)} s (listing the Applications took ${Math.round(r.listMs)} ms, median); ${r.reconciles}; load avg at end ${r.load}`,
    "Flux's published figure for 1,000 Kustomizations: 4m16s, 175 MiB (published, not measured here)",
    'converge < 60 s, peak RSS < 256 MiB; repo fetched once per revision',
  ];
}

/** The same run's figures as a cell: time, memory, fetches, CPU per process, per-cluster detail when spread. */
function clusterCell(r: ScaleRun): string {
  const names = r.cpu.apiserver.map((_, k) => (k ? `remote-${k}` : 'own'));
  const perCluster = (values: number[]): string => (r.clusters > 1 ? values.map((v, k) => `${names[k]} ${v.toFixed(1)} s`).join(', ') : `${values[0]!.toFixed(1)} s`);
  const sum = (values: number[]): number => values.reduce((s, v) => s + v, 0);
  const detail = r.clusters > 1 ? ` (all of a cluster's Synced at: ${r.clusterMs.map((ms, k) => `${names[k]} ${ms === undefined ? 'not done' : seconds(ms)}`).join(', ')})` : '';
  return (
    `${outcome(r)}${detail}; peak ${r.peakMiB.toFixed(1)} MiB; ${gitAndLog(r)}. ` +
    `CPU over the run: controller + its git ${r.cpu.controller.toFixed(1)} s; kube-apiserver${r.clusters > 1 ? `s ${sum(r.cpu.apiserver).toFixed(1)} s (${perCluster(r.cpu.apiserver)})` : ` ${perCluster(r.cpu.apiserver)}`}; ` +
    `etcd${r.clusters > 1 ? `s ${sum(r.cpu.etcd).toFixed(1)} s (${perCluster(r.cpu.etcd)})` : ` ${perCluster(r.cpu.etcd)}`}; bench ${r.cpu.bench.toFixed(1)} s. ` +
    `ConfigMaps listed after: ${r.applied.join(' + ')}; ${r.reconciles}; load avg at end ${r.load}`
  );
}

/** Issue 7: one controller managing CLUSTERS clusters × CLUSTER_APPS Applications, beside the same in one cluster. */
export async function benchSyncClusters(): Promise<string[][]> {
  const apps = CLUSTERS * CLUSTER_APPS;
  const reference = await benchScale(apps, DEFAULT_WORKERS, 1);
  const spread = await benchScale(apps, DEFAULT_WORKERS, CLUSTERS);
  return [
    [
      `one controller managing ${CLUSTERS} clusters × ${CLUSTER_APPS} Applications (its own + ${CLUSTERS - 1} remote control planes; ${OBJECTS_PER_APP} ConfigMaps each, one repo, one folder each, one commit; --sync-workers ${DEFAULT_WORKERS}): first create (${CREATE_CONCURRENCY} in flight) → all ${apps} Synced at the commit; controller peak RSS (VmHWM); git fetches; CPU of the controller vs the apiservers`,
      clusterCell(spread),
      `the same ${apps} Applications all in the controller's own cluster: ${clusterCell(reference)}`,
      '— (issue 7: measure)',
    ],
  ];
}
