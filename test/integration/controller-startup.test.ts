// sigil-controller started as a process, as a user would: what it prints and how it exits when it cannot
// work (no CRD, no rights, no API server, a bad flag), and its --help. Failures print one line
// `error: …` and exit 1; a bad flag exits 2; nothing hangs.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { freePort, waitUntil } from '../env/processes.js';
import { installController, kubectlFor, runControllerOnce, startControllerProcess, type ControllerRun, type Kubectl } from '../helpers/controller-process.js';
import { ROOT, tempDir } from '../helpers/run-seal.js';

/** Flags --help must list (it may list more; each must name its variable). */
const FLAGS = [
  '--kubeconfig', '--namespace', '--watch-namespaces', '--workers', '--listen', '--metrics-listen', '--log-level', '--log-format',
  '--key-renew-period', '--key-cutoff-time', '--key-size', '--import-bitnami-keys', '--bitnami-namespace', '--no-leader-elect',
  '--leader-elect-lease-duration', '--leader-elect-renew-deadline', '--leader-elect-retry-period',
];

/** The variable a flag reads: KUBECONFIG for --kubeconfig, else SIGIL_ and the flag's name (without `no-`). */
const envOf = (flag: string): string => (flag === '--kubeconfig' ? 'KUBECONFIG' : `SIGIL_${flag.replace(/^--(no-)?/, '').replace(/-/g, '_').toUpperCase()}`);

/**
 * Runs the controller with free listen ports, so a run that does not exit cannot clash with another; the
 * sync engine only when `args` turn it on (`--sync-engine`).
 */
async function run(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ControllerRun> {
  const ports = [await freePort(), await freePort()];
  const sync = args.includes('--sync-engine') ? [] : ['--no-sync-engine'];
  return runControllerOnce([`--listen=127.0.0.1:${ports[0]}`, `--metrics-listen=127.0.0.1:${ports[1]}`, '--key-size=2048', ...sync, ...args.filter((a) => a !== '--sync-engine')], { env, timeoutMs });
}

/** The outcome to compare: exit code, signal, stderr, and whether it was killed for taking too long. */
const ended = (r: ControllerRun): Pick<ControllerRun, 'code' | 'signal' | 'stderr' | 'timedOut'> => ({ code: r.code, signal: r.signal, stderr: r.stderr, timedOut: r.timedOut });

describe('sigil-controller startup', () => {
  let cp: ControlPlane;
  let dir: string;
  let kubectl: Kubectl;
  /** Writes the kubeconfig of ServiceAccount sigil-system/`name` and returns its path. */
  const serviceAccount = async (name: string): Promise<string> => {
    const file = join(dir, `${name}.kubeconfig`);
    writeFileSync(file, await cp.kubeconfigForServiceAccount('sigil-system', name), { mode: 0o600 });
    return file;
  };

  before(async () => {
    dir = tempDir('sigil-controller-startup-');
    cp = await startControlPlane({ dir });
    kubectl = kubectlFor(cp.kubeconfig);
  });
  after(async () => {
    await cp?.stop();
  });

  it('exits 1 naming the missing CRD and how to install it', async () => {
    for (const file of ['namespace.yaml', 'rbac.yaml']) kubectl('apply', '--server-side', '-f', join(ROOT, 'controller/deploy', file));
    const kubeconfig = await serviceAccount('sigil-controller');
    const r = await run(['--kubeconfig', kubeconfig]);
    assert.deepEqual(ended(r), { code: 1, signal: null, stderr: 'error: the CRD sealedsecrets.sigil.dev is not installed: kubectl apply -k controller/deploy\n', timedOut: false });
  });

  it('exits 1 naming the missing Application CRD when the sync engine is on', async () => {
    await installController(cp, dir);
    const kubeconfig = await serviceAccount('sigil-controller');
    kubectl('apply', '--server-side', '-f', join(ROOT, 'controller/deploy/rbac-sync.yaml'));
    const r = await run(['--kubeconfig', kubeconfig, '--sync-engine']);
    assert.deepEqual(ended(r), { code: 1, signal: null, stderr: 'error: the CRD applications.sigil.dev is not installed: kubectl apply -k controller/deploy, or run with --no-sync-engine\n', timedOut: false });
  });

  it('exits 1 naming the RBAC to apply when its ServiceAccount has no rights', async () => {
    await installController(cp, dir);
    const kubeconfig = await serviceAccount('no-rights');
    const r = await run(['--kubeconfig', kubeconfig]);
    assert.deepEqual(ended(r), { code: 1, signal: null, stderr: 'error: cannot read the CRD sealedsecrets.sigil.dev: HTTP 403; apply controller/deploy/rbac.yaml\n', timedOut: false });
  });

  it('exits 1 naming the namespace of the keys and the RBAC when it may not read them', async () => {
    kubectl('create', 'clusterrole', 'crd-only', '--verb=get', '--resource=customresourcedefinitions', '--resource-name=sealedsecrets.sigil.dev');
    kubectl('create', 'clusterrolebinding', 'crd-only', '--clusterrole=crd-only', '--serviceaccount=sigil-system:crd-only');
    const kubeconfig = await serviceAccount('crd-only');
    const r = await run(['--kubeconfig', kubeconfig]);
    assert.deepEqual(ended(r), { code: 1, signal: null, stderr: 'error: cannot list sigil key Secrets in namespace sigil-system: HTTP 403 Forbidden; apply controller/deploy/rbac.yaml\n', timedOut: false });
  });

  it('exits 1 naming the ConfigMap and the RBAC when it may not publish the certificate (no RoleBinding, no leader election)', async () => {
    kubectl('create', 'clusterrolebinding', 'no-role', '--clusterrole=sigil-controller', '--serviceaccount=sigil-system:no-role');
    const kubeconfig = await serviceAccount('no-role');
    const r = await run(['--kubeconfig', kubeconfig, '--no-leader-elect']);
    assert.deepEqual(ended(r), {
      code: 1,
      signal: null,
      stderr: 'error: cannot publish the sealing certificate in ConfigMap sigil-system/sigil-sealing-cert: HTTP 403 Forbidden; apply controller/deploy/rbac.yaml\n',
      timedOut: false,
    });
  });

  it('stays not ready and warns that the Lease is refused when it may not take it (no RoleBinding)', async () => {
    kubectl('-n', 'sigil-system', 'delete', 'secret', '-l', 'sigil.dev/sealing-key'); // the run before made one: start with none
    const controller = await startControllerProcess({ name: 'no-role-leader', kubeconfig: join(dir, 'no-role.kubeconfig'), dir, waitReady: false });
    try {
      const refused = (): Record<string, unknown> | undefined =>
        controller.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'lease acquisition failed');
      await waitUntil('lease refusal logged', async () => refused() !== undefined, { timeoutMs: 20_000, server: controller.server });
      const { time, identity, ...entry } = refused()!;
      assert.deepEqual(entry, {
        level: 'warn',
        msg: 'lease acquisition failed',
        lease: 'sigil-system/sigil-controller',
        err: {
          name: 'Error',
          message: 'leases.coordination.k8s.io "sigil-controller" is forbidden: User "system:serviceaccount:sigil-system:no-role" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "sigil-system"',
          status: 403,
          reason: 'Forbidden',
        },
      });
      assert.deepEqual([typeof time, identity], ['string', `${hostname()}_${controller.server.pid}`]);
      const readyz = await fetch(`${controller.http}/readyz`);
      assert.deepEqual([readyz.status, await readyz.text()], [503, 'not ready\n']);
    } finally {
      await controller.stop();
    }
  });

  it('SIGIL_LEADER_ELECT=true keeps leader election on: the process takes the Lease', async () => {
    const kubeconfig = join(dir, 'sigil-controller.kubeconfig');
    const controller = await startControllerProcess({ name: 'env-leader-elect', kubeconfig, dir, env: { SIGIL_LEADER_ELECT: 'true' } });
    try {
      const holder = (): string => kubectl.result(['get', 'lease', '-n', 'sigil-system', 'sigil-controller', '-o', 'jsonpath={.spec.holderIdentity}']).stdout;
      await waitUntil('Lease taken', async () => holder() === `${hostname()}_${controller.server.pid}`, { timeoutMs: 20_000, server: controller.server });
    } finally {
      await controller.stop();
    }
  });

  it('exits 1 within seconds naming the server when the API server port is closed', async () => {
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = join(dir, 'closed-port.kubeconfig');
    writeFileSync(kubeconfig, (await cp.kubeconfigForUser('someone')).replace(cp.server, server), { mode: 0o600 });
    const r = await run(['--kubeconfig', kubeconfig]);
    assert.deepEqual(ended(r), { code: 1, signal: null, stderr: `error: cannot reach the Kubernetes API at ${server}: ECONNREFUSED\n`, timedOut: false });
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it('exits 1 within seconds naming the server when the API server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: NetServer = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const server = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const kubeconfig = join(dir, 'silent.kubeconfig');
      writeFileSync(kubeconfig, (await cp.kubeconfigForUser('someone')).replace(cp.server, server), { mode: 0o600 });
      const r = await run(['--kubeconfig', kubeconfig], {}, 60_000);
      assert.deepEqual(ended(r), { code: 1, signal: null, stderr: `error: cannot reach the Kubernetes API at ${server}: no answer within 10 s\n`, timedOut: false });
      assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  for (const [args, stderr] of [
    [['--workers=0'], "error: option '--workers <n>' argument '0' is invalid. use a whole number of at least 1\n"],
    [['--key-renew-period=soon'], "error: option '--key-renew-period <duration>' argument 'soon' is invalid. use a duration such as 720h, 30m or 0\n"],
    [['--listen=8080'], "error: option '--listen <addr>' argument '8080' is invalid. use host:port or :port\n"],
    [['--log-level=verbose'], "error: option '--log-level <level>' argument 'verbose' is invalid. Allowed choices are debug, info, warn, error.\n"],
    [['--bogus'], "error: unknown option '--bogus'\n"],
  ] as const) {
    it(`exits 2 on ${args.join(' ')} before touching the cluster`, async () => {
      const r = await runControllerOnce(args);
      assert.deepEqual(ended(r), { code: 2, signal: null, stderr, timedOut: false });
    });
  }

  it('exits 2 on a bad value in the environment, naming the flag and the variable', async () => {
    for (const [variable, value, stderr] of [
      ['SIGIL_WORKERS', 'many', "error: option '--workers <n>' value 'many' from env 'SIGIL_WORKERS' is invalid. use a whole number of at least 1\n"],
      ['SIGIL_LEADER_ELECT', 'yes', "error: option '--no-leader-elect' value 'yes' from env 'SIGIL_LEADER_ELECT' is invalid. use true or false\n"],
      ['SIGIL_IMPORT_BITNAMI_KEYS', 'on', "error: option '--import-bitnami-keys' value 'on' from env 'SIGIL_IMPORT_BITNAMI_KEYS' is invalid. use true or false\n"],
    ] as const) {
      const r = await runControllerOnce([], { env: { [variable]: value } });
      assert.deepEqual(ended(r), { code: 2, signal: null, stderr, timedOut: false }, `${variable}=${value}`);
    }
  });

  it('--help exits 0 and lists every flag with its environment variable', async () => {
    const r = await runControllerOnce(['--help']);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    assert.match(r.stdout, /^Usage: sigil-controller \[options\]\n/);
    const listed = [...r.stdout.matchAll(/^ {2}(--[\w-]+)/gm)].map((m) => m[1]!);
    assert.deepEqual(FLAGS.filter((f) => !listed.includes(f)), [], 'flags missing from --help');
    for (const flag of listed.filter((f) => f !== '--help')) {
      assert.match(r.stdout, new RegExp(`^ {2}${flag}\\b.*[(,] ?env: ${envOf(flag)}\\)$`, 'm'), `${flag} names ${envOf(flag)}`);
    }
  });
});
