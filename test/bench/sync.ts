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
 *   (VmHWM), the git fetches it ran (a metric when it has one, else its "git commit fetched" log lines),
 *   and, to tell where the time went, the CPU time of the controller (with its git children), the
 *   kube-apiserver and etcd, and the reconciles from sigil_sync_total / sigil_sync_duration_seconds.
 *
 * BENCH_APPS (default "100,1000") picks the sizes; sizes of 1,000 and more also run with --sync-workers 8.
 * A size not converged after BENCH_SYNC_TIMEOUT_S (default 600) is reported with how far it got.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { waitUntil } from '../env/processes.js';
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
  return [...rows, ...runs.map(scaleRow)];
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

// ---- N Applications × 10 objects --------------------------------------------------------------------------

/** One scale run's measurements. */
interface ScaleRun {
  apps: number;
  workers: number;
  /** ms from the first create until all were synced, or undefined when they were not within TIMEOUT_MS. */
  convergedMs?: number;
  synced: number;
  elapsedMs: number;
  /** "10 s: 120" per PROGRESS_EVERY_MS. */
  progress: string[];
  peakMiB: number;
  /** Fetches and where the count came from; ls-remotes counted from the debug log. */
  fetches: { count: number | undefined; from: string };
  lsRemotes: number;
  /** CPU seconds over the run. */
  cpu: { controller: number; apiserver: number; etcd: number; bench: number };
  reconciles: string;
  listMs: number;
  load: string;
}

const pad = (i: number): string => String(i).padStart(4, '0');

async function benchScale(apps: number, workers: number): Promise<ScaleRun> {
  note(`${apps} apps, --sync-workers ${workers}: starting a fresh sync environment (load ${load()})`);
  const env = await leadingSyncEnv(`bench-sync-${apps}-w${workers}`, [`--sync-workers=${workers}`]);
  try {
    const admin = clientsFor(env.cp.kubeconfig);
    env.kubectl('create', 'namespace', 'fleet');
    await env.git.createRepo('fleet');
    const files: Record<string, string> = {};
    for (let a = 1; a <= apps; a++) {
      for (let j = 0; j < OBJECTS_PER_APP; j++) files[`app-${pad(a)}/cm-${j}.yaml`] = configMapYaml(`app-${pad(a)}-cm-${j}`, { app: pad(a), j: String(j) });
    }
    const sha = await env.git.commitFiles('fleet', files, `${apps} apps`);
    const bodies = Array.from({ length: apps }, (_, i) =>
      JSON.parse(applicationYaml({ name: `app-${pad(i + 1)}`, repoURL: env.git.daemonUrl('fleet'), path: `app-${pad(i + 1)}`, destinationNamespace: 'fleet', interval: '1h' })) as object,
    );
    note(`${apps} apps: repo committed (${sha.slice(0, 7)}), creating the Applications`);

    const pids = { controller: env.controller.server.pid, apiserver: env.cp.pids.apiserver, etcd: env.cp.pids.etcd };
    const cpu0 = { controller: cpuSeconds(pids.controller), apiserver: cpuSeconds(pids.apiserver), etcd: cpuSeconds(pids.etcd), bench: process.cpuUsage() };
    const since = performance.now();
    let failure: unknown;
    const creating = inParallel(apps, CREATE_CONCURRENCY, (i) => admin.custom.createNamespacedCustomObject({ ...APPLICATIONS, body: bodies[i]! })).catch((err: unknown) => {
      failure = err;
    });
    const progress: string[] = [];
    const listTimes: number[] = [];
    let synced = 0;
    let elapsedMs = 0;
    let convergedMs: number | undefined;
    for (let nextNote = PROGRESS_EVERY_MS; ; ) {
      const t = performance.now();
      const list = (await admin.custom.listNamespacedCustomObject(APPLICATIONS)) as { items: Array<KubernetesObject & { status?: AppStatus }> };
      listTimes.push(performance.now() - t);
      synced = list.items.filter((a) => a.status?.sync?.status === 'Synced' && a.status.lastAppliedRevision === sha).length;
      elapsedMs = performance.now() - since;
      if (elapsedMs >= nextNote) {
        progress.push(`${Math.round(elapsedMs / 1000)} s: ${synced}`);
        note(`${apps} apps, w${workers}: ${progress.at(-1)} synced (load ${load()})`);
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
    const cpu = {
      controller: cpuSeconds(pids.controller) - cpu0.controller,
      apiserver: cpuSeconds(pids.apiserver) - cpu0.apiserver,
      etcd: cpuSeconds(pids.etcd) - cpu0.etcd,
      bench: benchCpuSeconds(cpu0.bench),
    };
    const metrics = await (await fetch(`${env.controller.metrics}/metrics`)).text();
    const logs = env.controller.logs();
    const run: ScaleRun = {
      apps,
      workers,
      ...(convergedMs === undefined ? {} : { convergedMs }),
      synced,
      elapsedMs,
      progress,
      peakMiB: processMemory(pids.controller).peakMiB,
      fetches: gitFetches(metrics, logs),
      lsRemotes: logLines(logs, 'git revision resolved'),
      cpu,
      reconciles: reconcileSummary(metrics),
      listMs: median(listTimes),
      load: load(),
    };
    note(`${apps} apps, w${workers}: ${JSON.stringify(run)}`);
    return run;
  } finally {
    await stopEnv(env);
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

/**
 * The git fetches the controller ran: the sum of a `*git*fetch*` counter when /metrics has one, else its
 * "git commit fetched" log lines (one per fetch that succeeded; a server refusing a fetch by sha makes a
 * second one, logged as "git server refuses a fetch by sha").
 */
function gitFetches(metrics: string, logs: string): { count: number | undefined; from: string } {
  const series = metrics.split('\n').filter((l) => /^[a-z_]*git[a-z_]*fetch[a-z_]*(\{[^}]*\})? /.test(l));
  if (series.length) return { count: series.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0), from: `metric ${series[0]!.split(/[{ ]/)[0]}` };
  const fetched = logLines(logs, 'git commit fetched');
  const refused = logLines(logs, 'git server refuses a fetch by sha; fetching all branch and tag history');
  if (!logs.includes('"msg"')) return { count: undefined, from: 'n/a: the controller log is not JSON lines' };
  return { count: fetched + refused, from: 'controller log ("git commit fetched"; /metrics has no git fetch counter)' };
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

function scaleRow(r: ScaleRun): string[] {
  const outcome = r.convergedMs === undefined ? `not done: ${r.synced}/${r.apps} Synced after ${seconds(r.elapsedMs)} (${r.progress.join(', ')})` : `${seconds(r.convergedMs)}`;
  const fetches = r.fetches.count === undefined ? r.fetches.from : `${r.fetches.count} git fetch${r.fetches.count === 1 ? '' : 'es'} for 1 revision (${r.fetches.from}), ${r.lsRemotes} ls-remote`;
  return [
    `${r.apps} Applications × ${OBJECTS_PER_APP} ConfigMaps (one repo, one folder each, one commit), --sync-workers ${r.workers}: first create (${CREATE_CONCURRENCY} in flight) → all Synced at the commit; controller peak RSS (VmHWM); git fetches`,
    `${outcome}; peak ${r.peakMiB.toFixed(1)} MiB; ${fetches}. CPU over the run: controller + its git ${r.cpu.controller.toFixed(1)} s, kube-apiserver ${r.cpu.apiserver.toFixed(1)} s, etcd ${r.cpu.etcd.toFixed(1)} s, bench ${r.cpu.bench.toFixed(1)} s (listing the Applications took ${Math.round(r.listMs)} ms, median); ${r.reconciles}; load avg at end ${r.load}`,
    "Flux's published figure for 1,000 Kustomizations: 4m16s, 175 MiB (published, not measured here)",
    'converge < 60 s, peak RSS < 256 MiB; repo fetched once per revision',
  ];
}
