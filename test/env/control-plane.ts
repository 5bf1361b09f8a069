/**
 * A real Kubernetes control plane for integration tests, envtest-style: etcd and kube-apiserver (and, on
 * request, kube-controller-manager) on free loopback ports, with a fresh PKI, under one folder. No kubelet,
 * no scheduler: objects are stored and served, pods never run.
 *
 * Layout of `dir`: pki/ (see pki.ts), etcd/ (data), kubeconfig (admin, self-contained),
 * controller-manager.kubeconfig, logs/ (one `<server>.log` each, unless `logDir` says otherwise).
 *
 * Without the controller-manager nothing acts on stored objects: no garbage collection, namespaces stay
 * Terminating, no `default` ServiceAccount (so the ServiceAccount admission plugin is disabled).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { binaryPath } from './build.js';
import { probe } from './control-plane-probes.js';
import { kubeconfigYaml, writeKubeconfig } from './kubeconfig.js';
import { createPki, type Pki } from './pki.js';
import { freePort, startServer, waitUntil, type Server } from './processes.js';

const run = promisify(execFile);

/** The Service CIDR the apiserver allocates ClusterIPs from; its first address is the `kubernetes` Service's. */
export const SERVICE_CIDR = '10.0.0.0/24';
const SERVICE_IP = '10.0.0.1';
const CLUSTER = 'sigil-test';
const READY_TIMEOUT_MS = 60_000;

/** A running control plane. */
export interface ControlPlane {
  dir: string;
  /** `https://127.0.0.1:PORT` */
  server: string;
  /** Path of the admin kubeconfig (client cert CN=admin, O=system:masters; everything embedded). */
  kubeconfig: string;
  /** The cluster CA (PEM); it also signs client certificates. */
  caPem: string;
  /** Path of the ServiceAccount token signing key (PEM, EC P-256). */
  serviceAccountSigningKey: string;
  /** As printed by `kube-apiserver --version` (`v1.37.2`) and `etcd --version` (`3.6.16`). */
  versions: { kubernetes: string; etcd: string };
  /** `http://127.0.0.1:PORT` */
  etcdUrl: string;
  /** Milliseconds from starting etcd until the apiserver's /readyz answered 200. */
  startupMs: number;
  /** Process ids of the servers (each leads its own process group). */
  pids: { etcd: number; apiserver: number; controllerManager?: number };
  /**
   * Kubeconfig text for ServiceAccount `namespace/name`, with a token from the TokenRequest API (default
   * lifetime 1 h; the API's minimum is 600 s). Creates the namespace and the ServiceAccount when missing.
   * Throws the API's error.
   */
  kubeconfigForServiceAccount(namespace: string, name: string, options?: { expirationSeconds?: number }): Promise<string>;
  /** Kubeconfig text for `user` in `groups`, authenticated by a client certificate the cluster CA signs. */
  kubeconfigForUser(user: string, groups?: string[]): Promise<string>;
  /** Stops controller-manager, apiserver, etcd, in that order; resolves once every process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts etcd and kube-apiserver (and kube-controller-manager when `controllerManager`) in `dir`, and
 * resolves once the apiserver is ready. Throws when a binary is not built (saying how to build it), or when
 * a server exits or is not ready within 60 s (naming its log file); whatever it started is stopped first.
 */
export async function startControlPlane(options: { dir: string; controllerManager?: boolean; logDir?: string }): Promise<ControlPlane> {
  const dir = resolve(options.dir);
  const logDir = options.logDir ?? join(dir, 'logs');
  mkdirSync(dir, { recursive: true });
  const bin = {
    etcd: binaryPath('etcd', 'etcd'),
    apiserver: binaryPath('kubernetes', 'kube-apiserver'),
    controllerManager: binaryPath('kubernetes', 'kube-controller-manager'),
  };
  const [pki, versions, ports] = await Promise.all([
    createPki(join(dir, 'pki'), {
      serverIps: ['127.0.0.1', SERVICE_IP],
      serverNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    }),
    readVersions(bin.apiserver, bin.etcd),
    loopbackPorts(),
  ]);
  const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const admin = await pki.issueClient('admin', ['system:masters']);
  const adminTls = { ca: pki.ca.certPem, cert: admin.certPem, key: admin.keyPem };
  const kubeconfig = join(dir, 'kubeconfig');
  const adminKubeconfig = kubeconfigYaml({ server, caPem: pki.ca.certPem, user: 'admin', cluster: CLUSTER, credentials: { certPem: admin.certPem, keyPem: admin.keyPem } });
  writeKubeconfig(kubeconfig, adminKubeconfig);

  const servers: Server[] = [];
  // After it stops serving, kube-apiserver idles ~1 s on internal controllers before exiting; its data is
  // thrown away, so it gets half a second before SIGKILL. The others exit promptly on SIGTERM.
  const stop = async (): Promise<void> => {
    for (const s of servers.splice(0).reverse()) await s.stop(s.name === 'kube-apiserver' ? 500 : 5000);
  };
  try {
    const started = Date.now();
    const etcd = startServer('etcd', bin.etcd, etcdArgs(join(dir, 'etcd'), ports.etcd, ports.etcdPeer), { logDir });
    servers.push(etcd);
    await waitUntil('etcd /health', async () => (await probe(`${etcdUrl}/health`)).body.includes('"health":"true"'), {
      timeoutMs: READY_TIMEOUT_MS,
      server: etcd,
      intervalMs: 50,
    });
    const apiserver = startServer('kube-apiserver', bin.apiserver, apiserverArgs(dir, pki, etcdUrl, ports.apiserver, options.controllerManager ?? false), { logDir });
    servers.push(apiserver);
    await waitUntil('kube-apiserver /readyz', async () => (await probe(`${server}/readyz`, adminTls)).status === 200, {
      timeoutMs: READY_TIMEOUT_MS,
      server: apiserver,
      intervalMs: 100,
    });
    const startupMs = Date.now() - started;

    let controllerManager: Server | undefined;
    if (options.controllerManager) {
      const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
      // Superuser: with --use-service-account-credentials=false every controller acts as this one user,
      // and the garbage collector and namespace controller must delete any kind of object.
      const cm = await pki.issueClient('system:kube-controller-manager', ['system:masters']);
      writeKubeconfig(cmKubeconfig, kubeconfigYaml({ server, caPem: pki.ca.certPem, user: 'system:kube-controller-manager', cluster: CLUSTER, credentials: cm }));
      controllerManager = startServer('kube-controller-manager', bin.controllerManager, controllerManagerArgs(dir, pki, cmKubeconfig, ports.controllerManager), { logDir });
      servers.push(controllerManager);
      await waitUntil('kube-controller-manager /healthz', async () => (await probe(`https://127.0.0.1:${ports.controllerManager}/healthz`)).status === 200, {
        timeoutMs: READY_TIMEOUT_MS,
        server: controllerManager,
        intervalMs: 100,
      });
    }

    const core = (): CoreV1Api => {
      const kc = new KubeConfig();
      kc.loadFromString(adminKubeconfig);
      return kc.makeApiClient(CoreV1Api);
    };
    return {
      dir,
      server,
      kubeconfig,
      caPem: pki.ca.certPem,
      serviceAccountSigningKey: pki.serviceAccount.privateKeyFile,
      versions,
      etcdUrl,
      startupMs,
      pids: { etcd: etcd.pid, apiserver: apiserver.pid, ...(controllerManager ? { controllerManager: controllerManager.pid } : {}) },
      async kubeconfigForServiceAccount(namespace, name, opts = {}) {
        const api = core();
        await ignoreConflict(api.createNamespace({ body: { metadata: { name: namespace } } }));
        await ignoreConflict(api.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
        const request = await api.createNamespacedServiceAccountToken({
          name,
          namespace,
          body: { spec: { audiences: [], expirationSeconds: opts.expirationSeconds ?? 3600 } },
        });
        const token = request.status?.token;
        if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
        const user = `system:serviceaccount:${namespace}:${name}`;
        return kubeconfigYaml({ server, caPem: pki.ca.certPem, user, cluster: CLUSTER, namespace, credentials: { token } });
      },
      async kubeconfigForUser(user, groups = []) {
        const pair = await pki.issueClient(user, groups);
        return kubeconfigYaml({ server, caPem: pki.ca.certPem, user, cluster: CLUSTER, credentials: pair });
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function etcdArgs(dataDir: string, port: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    // A test cluster's data is thrown away: no fsync, and a small quota so a runaway test fails fast.
    '--unsafe-no-fsync',
    // One member elects itself: a short election timeout makes it leader in tens of ms instead of ~0.7 s.
    '--heartbeat-interval=10',
    '--election-timeout=100',
    `--quota-backend-bytes=${512 * 1024 * 1024}`,
  ];
}

function apiserverArgs(dir: string, pki: Pki, etcdUrl: string, port: number, controllerManager: boolean): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'apiserver')}`,
    `--tls-cert-file=${pki.apiserver.certFile}`,
    `--tls-private-key-file=${pki.apiserver.keyFile}`,
    `--client-ca-file=${pki.ca.certFile}`,
    '--authorization-mode=RBAC',
    // One apiserver, no kubelet: nothing to reconcile the `kubernetes` Service's endpoints to.
    '--endpoint-reconciler-type=none',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${pki.serviceAccount.publicKeyFile}`,
    `--service-account-signing-key-file=${pki.serviceAccount.privateKeyFile}`,
    // Without the controller-manager no namespace gets its `default` ServiceAccount, which the plugin requires.
    ...(controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
    '--allow-privileged=true',
  ];
}

function controllerManagerArgs(dir: string, pki: Pki, kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'controller-manager')}`,
    '--controllers=*',
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${pki.serviceAccount.privateKeyFile}`,
    `--root-ca-file=${pki.ca.certFile}`,
    `--cluster-signing-cert-file=${pki.ca.certFile}`,
    `--cluster-signing-key-file=${pki.ca.keyFile}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
  ];
}

async function readVersions(apiserver: string, etcd: string): Promise<{ kubernetes: string; etcd: string }> {
  const [k, e] = await Promise.all([run(apiserver, ['--version']), run(etcd, ['--version'])]);
  const kubernetes = /^Kubernetes (\S+)/m.exec(k.stdout)?.[1];
  const etcdVersion = /^etcd Version: (\S+)/m.exec(e.stdout)?.[1];
  if (!kubernetes || !etcdVersion) throw new Error(`cannot read the versions: ${JSON.stringify(k.stdout)}, ${JSON.stringify(e.stdout)}`);
  return { kubernetes, etcd: etcdVersion };
}

/** Distinct free loopback ports, one per listener. */
async function loopbackPorts(): Promise<{ etcd: number; etcdPeer: number; apiserver: number; controllerManager: number }> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  return { etcd: await next(), etcdPeer: await next(), apiserver: await next(), controllerManager: await next() };
}

async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}
