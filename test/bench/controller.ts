/**
 * sigil-controller's figures on the test control plane, each beside the reference measured in the same run.
 * One control plane holds SECRETS plain Secrets (not owned, small) throughout, and then, one run at a time:
 *
 * - the built controller (`dist/controller/main.js`, a real process under its shipped RBAC) with --workers
 *   1, 4 and 16, restarted for each, one fresh namespace each;
 * - the real Sealed Secrets controller, as it ships (client-go's default 5 requests/s, burst 10);
 * - a loop creating the same N Secrets directly, before, between and after the controllers.
 *
 * Every run creates its N objects through @kubernetes/client-node as admin, 16 requests in flight, and is
 * timed from the first create until a list (every 250 ms) shows all N Secrets. Each controller then idles
 * 10 s and its process memory is read from /proc: peak (VmHWM) and idle (VmRSS). The cluster then holds
 * SECRETS plain Secrets + N SealedSecrets + N Secrets for each controller alike (each run's objects are
 * deleted before the next). The memory figures ride on the throughput runs because the Sealed Secrets
 * controller needs about 10 minutes for 1,000 objects at its default client rate: a second run of it would
 * double the bench's length.
 *
 * BENCH_N (default 1000) and BENCH_SECRETS (default 10000) scale it down for a quick try.
 */
import type { KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { OWNER_LABEL } from '../../controller/unseal/secret-plan.js';
import { parseCertificate } from '../../shared/crypto/certificate.js';
import type { SealedSecretApi } from '../../shared/manifest/sealed-secret.js';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/processes.js';
import { startSealedSecretsController, type SealedSecretsController } from '../env/sealed-secrets.js';
import { installController, startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import {
  clientsFor,
  createNamespace,
  createSealedSecrets,
  createSecrets,
  emptyNamespace,
  plainSecret,
  sealedSecrets,
  waitForSecrets,
  type Clients,
  type CountResult,
} from './cluster-load.js';
import { median, processMemory, sleep } from './measure.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const N = Number(process.env.BENCH_N ?? 1000);
const SECRETS = Number(process.env.BENCH_SECRETS ?? 10000);
/** Client requests in flight while creating SealedSecrets or Secrets. */
const CONCURRENCY = 16;
/** For the plain Secrets, which are set-up, not measured. */
const SETUP_CONCURRENCY = 32;
const WORKERS = [1, 4, 16] as const;
/** sigil-controller's default --workers (controller/config.ts): the memory rows report that run. */
const DEFAULT_WORKERS = 4;
/** A run that has not converged after this long is reported as such. */
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1200) * 1000;
const IDLE_MS = 10_000;
/** Every SealedSecret puts this label (value: its API) in its template, so the Secrets made from it can be counted. */
const SS_LABEL = 'bench.sigil.dev/via';

/** Measures and returns table rows: what, Sigil, reference, target. */
export async function benchController(): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-controller-'));
  let cp: ControlPlane | undefined;
  try {
    cp = await startControlPlane({ dir });
    return await benchOn(cp, dir);
  } finally {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts sigil-controller and resolves once it leads (ready is not enough: a restart waits for the Lease). */
export async function startSigil(kubeconfig: string, dir: string, name: string, args: string[] = []): Promise<ControllerProcess> {
  const controller = await startControllerProcess({ name, kubeconfig, dir, args });
  try {
    await waitUntil(`${name} leading`, async () => controller.logs().includes('leading: reconciling SealedSecrets'), {
      timeoutMs: 60_000,
      server: controller.server,
      intervalMs: 100,
    });
  } catch (err) {
    await controller.stop();
    throw err;
  }
  return controller;
}

/**
 * Creates the SealedSecrets (CONCURRENCY in flight) and counts Secrets until there are as many; the time
 * runs from the first create. Throws the first failed create.
 */
async function converge(clients: Clients, api: SealedSecretApi, bodies: Record<string, unknown>[], count: { namespace: string; labelSelector: string }): Promise<CountResult> {
  const since = performance.now();
  let failure: unknown;
  const creating = createSealedSecrets(clients, api, bodies, CONCURRENCY).catch((err: unknown) => {
    failure = err;
  });
  const result = await waitForSecrets(clients, { ...count, count: bodies.length, since, timeoutMs: TIMEOUT_MS, stop: () => failure !== undefined });
  await creating;
  if (failure !== undefined) throw failure;
  return result;
}

/** The pid of the Sealed Secrets controller serving `certUrl`: `unshare … exec controller` keeps its pid. */
function sealedSecretsPid(ss: SealedSecretsController): number {
  const listen = `--listen-addr=127.0.0.1:${new URL(ss.certUrl).port}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (basename(argv[0] ?? '') === 'controller' && argv.includes(listen)) return Number(entry);
  }
  throw new Error(`no process runs the Sealed Secrets controller with ${listen}`);
}

/**
 * RSS of a bare Node process that has only imported @kubernetes/client-node (which the controller is built
 * on), in MiB: the floor under the controller's own figure, measured in the same run.
 */
function clientLibraryFloor(): number {
  const script = "await import('@kubernetes/client-node'); process.stdout.write(/^VmRSS:\\s+(\\d+)/m.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]);";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measuring a bare client-node import failed: ${r.stderr.slice(0, 300)}`);
  return Number(r.stdout) / 1024;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const rate = (ms: number): string => `${Math.round((N * 1000) / ms)}/s`;
/** "12.34 s (81/s)", or "not done: 700/1000 after 300.00 s". */
function outcome(r: CountResult): string {
  return r.done ? `${seconds(r.ms)} (${rate(r.ms)})` : `not done: ${r.seen}/${N} after ${seconds(r.ms)}`;
}

/** One controller's run: convergence, then memory after IDLE_MS. */
interface Run {
  converged: CountResult;
  peakMiB: number;
  rssMiB: number;
}

async function benchOn(cp: ControlPlane, dir: string): Promise<string[][]> {
  const admin = clientsFor(cp.kubeconfig);
  let count = 0;
  const fresh = async (what: string): Promise<string> => {
    const namespace = `bench-${what}-${count++}`;
    await createNamespace(admin, namespace);
    return namespace;
  };
  const plainNamespace = await fresh('plain');
  const setupMs = await createSecrets(admin, Array.from({ length: SECRETS }, (_, i) => plainSecret(`plain-${i}`, plainNamespace)), SETUP_CONCURRENCY);

  const direct = async (): Promise<number> => {
    const namespace = await fresh('direct');
    const ms = await createSecrets(admin, Array.from({ length: N }, (_, i) => plainSecret(`s${i}`, namespace, { [OWNER_LABEL]: `s${i}` })), CONCURRENCY);
    await emptyNamespace(admin, namespace, { apis: [] });
    return ms;
  };
  /** Converges N SealedSecrets sealed for `publicKey` in `namespace`, idles, reads the memory of `pid`. */
  const run = async (pid: number, api: SealedSecretApi, publicKey: KeyObject, namespace: string, labelSelector: string): Promise<Run> => {
    const bodies = sealedSecrets({ publicKey, api, namespace, count: N, prefix: 's', labels: { [SS_LABEL]: api } });
    const converged = await converge(admin, api, bodies, { namespace, labelSelector });
    await sleep(IDLE_MS);
    return { converged, ...processMemory(pid) };
  };

  // Direct creates before, between and after the controllers, so drift on a shared machine shows in them.
  const directMs = [await direct()];
  const sigil = new Map<number, Run>();
  const kubeconfig = await installController(cp, dir);
  for (const workers of WORKERS) {
    const namespace = await fresh(`sigil-w${workers}`);
    const controller = await startSigil(kubeconfig, dir, `sigil-controller-w${workers}`, [`--workers=${workers}`]);
    try {
      const cert = parseCertificate(await (await fetch(`${controller.http}/v1/cert.pem`)).text());
      sigil.set(workers, await run(controller.server.pid, 'sigil', cert.publicKey, namespace, OWNER_LABEL));
    } finally {
      await controller.stop();
    }
    await emptyNamespace(admin, namespace, { apis: ['sigil'] });
  }
  directMs.push(await direct());

  const ssNamespace = await fresh('sealed-secrets');
  const ss = await startSealedSecretsController({ dir, controlPlane: cp });
  let bitnami: Run;
  try {
    bitnami = await run(sealedSecretsPid(ss), 'bitnami', parseCertificate(ss.certPem).publicKey, ssNamespace, `${SS_LABEL}=bitnami`);
  } finally {
    await ss.stop();
  }
  await emptyNamespace(admin, ssNamespace, { apis: ['bitnami'] });
  directMs.push(await direct());

  return rows(sigil, bitnami, median(directMs), directMs, setupMs, ss.version, clientLibraryFloor());
}

function rows(sigil: Map<number, Run>, bitnami: Run, direct: number, directMs: number[], setupMs: number, ssVersion: string, floorMiB: number): string[][] {
  const ss = `Sealed Secrets ${/v\d+\.\d+\.\d+/.exec(ssVersion)?.[0] ?? ssVersion}`;
  const [bestWorkers, best] = [...sigil].filter(([, r]) => r.converged.done).sort(([, a], [, b]) => a.converged.ms - b.converged.ms)[0] ?? [];
  const bestMs = best?.converged.ms;
  const speedUp = bestMs === undefined ? 'no Sigil run converged' : `${bitnami.converged.done ? '' : '> '}×${(bitnami.converged.ms / bestMs).toFixed(1)}`;
  const byWorkers = (f: (r: Run) => string): string => WORKERS.map((w) => `${w}: ${f(sigil.get(w)!)}`).join('; ');
  const mib = (v: number): string => `${v.toFixed(1)} MiB`;
  const what = `${N} SealedSecrets → Secrets (5 keys each), ${CONCURRENCY} creates in flight, first create → all Secrets listed`;
  const state = `${SECRETS} plain Secrets (made in ${seconds(setupMs)}) + ${N} SealedSecrets + their Secrets in the cluster`;
  const defaults = sigil.get(DEFAULT_WORKERS)!;
  return [
    [
      `${what}; Sigil --workers 1 / 4 / 16`,
      byWorkers((r) => outcome(r.converged)),
      `${ss}: ${outcome(bitnami.converged)}; direct create of the ${N} Secrets: ${seconds(direct)} (${rate(direct)}, median of ${directMs.length})`,
      '—',
    ],
    [`… speed-up of Sigil (best: --workers ${bestWorkers ?? '—'}) over the Sealed Secrets controller`, speedUp, `${ss}: ${outcome(bitnami.converged)}`, '≥ 10×'],
    [
      `… Sigil's rate (best: --workers ${bestWorkers ?? '—'}) as a share of the direct-create rate`,
      bestMs === undefined ? 'no Sigil run converged' : `${Math.round((100 * direct) / bestMs)}% (${rate(bestMs)})`,
      `direct ${rate(direct)} (runs: ${directMs.map(seconds).join(', ')})`,
      '≥ 80%',
    ],
    [
      `controller memory, ${state}: peak RSS (VmHWM), Sigil with the default --workers ${DEFAULT_WORKERS}`,
      `${mib(defaults.peakMiB)} (by --workers: ${byWorkers((r) => mib(r.peakMiB))})`,
      `${ss}: ${mib(bitnami.peakMiB)}`,
      "≤ the SS controller's",
    ],
    [
      `controller memory, same: idle RSS (VmRSS ${IDLE_MS / 1000} s after the last Secret), --workers ${DEFAULT_WORKERS}`,
      `${mib(defaults.rssMiB)} (by --workers: ${byWorkers((r) => mib(r.rssMiB))})`,
      `${ss}: ${mib(bitnami.rssMiB)}; Node with only @kubernetes/client-node imported: ${mib(floorMiB)}`,
      '≤ 80 MiB',
    ],
  ];
}
