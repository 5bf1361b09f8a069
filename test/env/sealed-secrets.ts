/**
 * The real Sealed Secrets controller against the test control plane. It only knows in-cluster config, so it
 * runs in a private mount namespace (`unshare -m`) where a tmpfs over /run carries the service-account token,
 * CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount: the machine's real /run is not touched.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { binaryPath, COMPONENTS } from './build.js';
import type { ControlPlane } from './control-plane.js';
import { freePort, startServer, waitUntil } from './processes.js';

const run = promisify(execFile);
const SA_DIR_IN_POD = '/run/secrets/kubernetes.io/serviceaccount';

/** The running controller. */
export interface SealedSecretsController {
  namespace: string;
  /** Its public sealing certificate, as `kubeseal --fetch-cert` would get it. */
  certPem: string;
  /** `http://127.0.0.1:PORT/v1/cert.pem`. */
  certUrl: string;
  version: string;
  stop(): Promise<void>;
}

/** Where the Sealed Secrets release's CRD manifest sits in the Go module cache (downloaded if missing). */
export async function crdPath(): Promise<string> {
  const c = COMPONENTS.kubeseal;
  const { stdout } = await run('go', ['mod', 'download', '-json', `${c.servedAs}@${c.version}`]);
  return join((JSON.parse(stdout) as { Dir: string }).Dir, 'helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml');
}

/** Installs the CRD and starts the controller in `namespace` with cluster-admin rights. */
export async function startSealedSecretsController(options: {
  dir: string;
  controlPlane: ControlPlane;
  namespace?: string;
  logDir?: string;
}): Promise<SealedSecretsController> {
  const namespace = options.namespace ?? 'kube-system';
  const cp = options.controlPlane;
  const kubectl = (...args: string[]): Promise<{ stdout: string }> =>
    run(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', cp.kubeconfig, ...args]);
  await kubectl('apply', '--server-side', '-f', await crdPath());
  await kubectl('wait', '--for=condition=established', '--timeout=30s', 'crd/sealedsecrets.bitnami.com');
  await kubectl('create', 'clusterrolebinding', 'sealed-secrets-controller', '--clusterrole=cluster-admin',
    `--serviceaccount=${namespace}:sealed-secrets-controller`);

  const saKubeconfig = yaml.load(await cp.kubeconfigForServiceAccount(namespace, 'sealed-secrets-controller')) as {
    users: { user: { token: string } }[];
  };
  const saDir = join(options.dir, 'sealed-secrets-sa');
  mkdirSync(saDir, { recursive: true });
  writeFileSync(join(saDir, 'token'), saKubeconfig.users[0]!.user.token);
  writeFileSync(join(saDir, 'ca.crt'), cp.caPem);
  writeFileSync(join(saDir, 'namespace'), namespace);

  const controller = binaryPath('kubeseal', 'controller');
  const [port, metricsPort] = [await freePort(), await freePort()];
  const api = new URL(cp.server);
  const script = `mount -t tmpfs tmpfs /run && mkdir -p ${SA_DIR_IN_POD} && mount --bind "$0" ${SA_DIR_IN_POD} && exec "$@"`;
  const server = startServer(
    'sealed-secrets-controller',
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, saDir, controller,
      `--listen-addr=127.0.0.1:${port}`, `--listen-metrics-addr=127.0.0.1:${metricsPort}`, '--key-renew-period=0', '--key-size=2048'],
    {
      env: { PATH: process.env.PATH, KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port, POD_NAMESPACE: namespace },
      logDir: options.logDir ?? join(options.dir, 'logs'),
    },
  );
  const certUrl = `http://127.0.0.1:${port}/v1/cert.pem`;
  let certPem = '';
  await waitUntil('sealed-secrets controller serving its certificate', async () => {
    const response = await fetch(certUrl);
    certPem = await response.text();
    return response.ok && certPem.includes('BEGIN CERTIFICATE');
  }, { timeoutMs: 60_000, server, intervalMs: 250 });
  const { stdout } = await run(controller, ['--version']);
  return { namespace, certPem, certUrl, version: stdout.trim(), stop: () => server.stop() };
}
