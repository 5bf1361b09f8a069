/**
 * Runs the built sigil-controller as a real process against a test control plane, as its own
 * ServiceAccount under the shipped RBAC (controller/deploy), never as admin.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath } from '../env/build.js';
import type { ControlPlane } from '../env/control-plane.js';
import { freePort, startServer, waitUntil, type Server } from '../env/processes.js';
import { ROOT } from './run-seal.js';

/** A running controller process. */
export interface ControllerProcess {
  server: Server;
  http: string;
  metrics: string;
  /** Everything it logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/** Installs namespace, CRD and RBAC from controller/deploy (idempotent) and returns the SA's kubeconfig file. */
export async function installController(cp: ControlPlane, dir: string): Promise<string> {
  const kubectl = (...args: string[]): string => execFileSync(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8' });
  for (const file of ['namespace.yaml', 'crds/sealedsecrets.sigil.dev.yaml', 'rbac.yaml']) {
    kubectl('apply', '--server-side', '-f', join(ROOT, 'controller/deploy', file));
  }
  kubectl('wait', '--for=condition=established', '--timeout=30s', 'crd/sealedsecrets.sigil.dev');
  const file = join(dir, 'sigil-controller.kubeconfig');
  writeFileSync(file, await cp.kubeconfigForServiceAccount('sigil-system', 'sigil-controller'), { mode: 0o600 });
  return file;
}

/** Starts `node dist/controller/main.js` with the SA kubeconfig; resolves once /readyz answers 200. */
export async function startControllerProcess(options: { name: string; kubeconfig: string; dir: string; args?: string[] }): Promise<ControllerProcess> {
  const [http, metrics] = [await freePort(), await freePort()];
  const server = startServer(
    options.name,
    process.execPath,
    [join(ROOT, 'dist/controller/main.js'), '--kubeconfig', options.kubeconfig, `--listen=127.0.0.1:${http}`, `--metrics-listen=127.0.0.1:${metrics}`,
      '--key-size=2048', '--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3s', '--leader-elect-retry-period=1s', ...(options.args ?? [])],
    { env: { PATH: process.env.PATH, HOME: options.dir }, logDir: options.dir },
  );
  const base = `http://127.0.0.1:${http}`;
  await waitUntil(`${options.name} ready`, async () => (await fetch(`${base}/readyz`)).status === 200, { timeoutMs: 60_000, server, intervalMs: 200 });
  return {
    server,
    http: base,
    metrics: `http://127.0.0.1:${metrics}`,
    logs: () => readFileSync(server.logFile, 'utf8'),
    stop: () => server.stop(),
  };
}
