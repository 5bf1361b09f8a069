/**
 * Runs the built sigil-controller as a real process against a test control plane, as its own
 * ServiceAccount under the shipped RBAC (controller/deploy), never as admin.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath } from '../env/build.js';
import type { ControlPlane } from '../env/control-plane.js';
import { freePort, startServer, waitUntil, type Server } from '../env/processes.js';
import { ROOT, tempDir } from './run-seal.js';

/** A running controller process. */
export interface ControllerProcess {
  server: Server;
  http: string;
  metrics: string;
  /** Everything it logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Installs namespace, CRD and RBAC from controller/deploy (idempotent) and returns the SA's kubeconfig file;
 * with `sync`, also the Application CRD and the sync engine's RBAC.
 */
export async function installController(cp: ControlPlane, dir: string, options: { sync?: boolean } = {}): Promise<string> {
  const kubectl = (...args: string[]): string => execFileSync(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8' });
  const files = ['namespace.yaml', 'crds/sealedsecrets.sigil.dev.yaml', 'rbac.yaml', ...(options.sync ? ['crds/applications.sigil.dev.yaml', 'rbac-sync.yaml'] : [])];
  for (const file of files) kubectl('apply', '--server-side', '-f', join(ROOT, 'controller/deploy', file));
  kubectl('wait', '--for=condition=established', '--timeout=30s', 'crd/sealedsecrets.sigil.dev', ...(options.sync ? ['crd/applications.sigil.dev'] : []));
  const file = join(dir, 'sigil-controller.kubeconfig');
  writeFileSync(file, await cp.kubeconfigForServiceAccount('sigil-system', 'sigil-controller'), { mode: 0o600 });
  return file;
}

/** The built controller entry point. */
export const CONTROLLER_BIN = join(ROOT, 'dist/controller/main.js');

/**
 * Starts `node dist/controller/main.js` with the SA kubeconfig; resolves once /readyz answers 200 (at once
 * when `waitReady` is false). `env` is added to the process's (otherwise only PATH and HOME). The sync
 * engine runs only with `sync` (installController's `sync` installs what it needs).
 */
export async function startControllerProcess(options: {
  name: string;
  kubeconfig: string;
  dir: string;
  args?: string[];
  env?: Record<string, string>;
  waitReady?: boolean;
  sync?: boolean;
}): Promise<ControllerProcess> {
  const [http, metrics] = [await freePort(), await freePort()];
  const server = startServer(
    options.name,
    process.execPath,
    [CONTROLLER_BIN, '--kubeconfig', options.kubeconfig, `--listen=127.0.0.1:${http}`, `--metrics-listen=127.0.0.1:${metrics}`,
      '--key-size=2048', '--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3s', '--leader-elect-retry-period=1s',
      ...(options.sync ? [] : ['--no-sync-engine']), ...(options.args ?? [])],
    { env: { PATH: process.env.PATH, HOME: options.dir, ...options.env }, logDir: options.dir },
  );
  const base = `http://127.0.0.1:${http}`;
  if (options.waitReady !== false) await waitUntil(`${options.name} ready`, async () => (await fetch(`${base}/readyz`)).status === 200, { timeoutMs: 60_000, server, intervalMs: 200 });
  return {
    server,
    http: base,
    metrics: `http://127.0.0.1:${metrics}`,
    logs: () => readFileSync(server.logFile, 'utf8'),
    stop: () => server.stop(),
  };
}

/** How a controller run that ended went. */
export interface ControllerRun {
  /** The exit code; null when it was killed (signal says by what). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
  /** True when it was still running after timeoutMs and was killed. */
  timedOut: boolean;
}

/**
 * Runs `node dist/controller/main.js ...args` to its end, with only PATH, HOME (an empty folder) and `env`
 * in its environment, and reports how it ended. A run still going after `timeoutMs` (default 20 s) is
 * SIGKILLed and reported with timedOut.
 */
export function runControllerOnce(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ControllerRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const home = tempDir('sigil-controller-home-');
    const child = spawn(process.execPath, [CONTROLLER_BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: home, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 20_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started, timedOut });
    });
  });
}

/** kubectl run as some kubeconfig's user. */
export interface Kubectl {
  /** Runs kubectl; returns stdout. Throws with kubectl's stderr when it exits non-zero. */
  (...args: string[]): string;
  /** Runs kubectl with `input` on stdin; returns how it ended, never throws. */
  result(args: readonly string[], input?: string): { code: number | null; stdout: string; stderr: string };
  /** `kubectl apply -f -` of `yamlText`; throws with kubectl's stderr when it fails. */
  apply(yamlText: string): void;
}

/** A Kubectl for `kubeconfig`. */
export function kubectlFor(kubeconfig: string): Kubectl {
  const result: Kubectl['result'] = (args, input) => {
    const r = spawnSync(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { input: input ?? '', encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const run = (...args: string[]): string => {
    const r = result(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  return Object.assign(run, {
    result,
    apply(yamlText: string): void {
      const r = result(['apply', '-f', '-'], yamlText);
      if (r.code !== 0) throw new Error(`kubectl apply exited with ${r.code}: ${r.stderr}`);
    },
  });
}

/** The Ready condition of SealedSecret `namespace/name` ({} while it has none). */
export function readyCondition(kubectl: Kubectl, namespace: string, name: string): { status?: string; reason?: string; message?: string } {
  const out = kubectl('-n', namespace, 'get', 'sealedsecrets.sigil.dev', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")]}');
  return out ? (JSON.parse(out) as { status: string; reason: string; message: string }) : {};
}

/** The `data` of Secret `namespace/name`, undefined while it does not exist. */
export function secretData(kubectl: Kubectl, namespace: string, name: string): Record<string, string> | undefined {
  const r = kubectl.result(['-n', namespace, 'get', 'secret', name, '-o', 'jsonpath={.data}']);
  return r.code === 0 && r.stdout ? (JSON.parse(r.stdout) as Record<string, string>) : undefined;
}
