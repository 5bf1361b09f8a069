/**
 * Vault transit's figures, each beside the cluster-key reference measured in the same run, on one test
 * environment (`startEnv({ vault: true })`: a real kube-apiserver and etcd, a real Vault dev server with
 * transit and Kubernetes auth):
 *
 * - Sealing SEAL_DOCS Secrets × 5 keys in-process, one after the other, with `sealSecretWithVault` over one
 *   VaultTransit holding a least-privilege token (update on transit/encrypt/<key>, read on
 *   transit/keys/<key>): wall time, requests sent and logins (`stats()`), a fresh client each run so the
 *   key read is counted; beside `sealSecret` of the same Secrets with the RSA-4096 test certificate.
 *   Median of RUNS, interleaved.
 * - The same as whole processes when the built `seal` has `--vault-key`: `seal --vault-key K -f FILE`
 *   (VAULT_ADDR, VAULT_TOKEN in its environment) beside `seal --cert CERT -f FILE`, median of RUNS,
 *   interleaved; then one more `--vault-key` run with a Vault file audit device on, whose entries count
 *   the requests Vault received from that process (the timed runs have no audit device).
 * - N Vault-sealed SealedSecrets (5 keys each) → Secrets: the built controller as a process under its
 *   shipped RBAC, logging in to Vault with Kubernetes auth as its own ServiceAccount (role token TTL 1 h,
 *   so no renewal falls in a run; policy: update on transit/decrypt/<key> only), WORKERS workers; N
 *   SealedSecrets created as admin, 16 in flight, timed from the first create until a list shows all N
 *   Secrets. Its /metrics `sigil_vault_calls{kind="login"|"request"}` are read at convergence and again
 *   once they have not changed for SETTLE_MS. The reference: N cluster-key SealedSecrets (sealed
 *   in-process for the certificate the controller publishes) on the same control plane, through a
 *   controller started with the same flags. ROUNDS rounds, each a cluster-key run then a Vault run, the
 *   controller restarted and a fresh namespace for every run; medians reported. Sealing the objects is
 *   set-up, done before the clock starts.
 *
 * BENCH_N (default 1000) scales the controller runs; BENCH_RUNS (default 5) the sealing medians;
 * BENCH_VAULT_ROUNDS (default 3) the controller rounds; BENCH_VAULT_WORKERS (default 16) the controller's
 * --workers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { OWNER_LABEL } from '../../controller/unseal/secret-plan.js';
import { parseCertificate } from '../../shared/crypto/certificate.js';
import { sealedSecretObject } from '../../shared/manifest/sealed-secret.js';
import type { PlainSecret } from '../../shared/manifest/secret.js';
import { sealSecret } from '../../shared/sealing/seal-secret.js';
import { sealSecretWithVault } from '../../shared/sealing/vault-sealing.js';
import { VaultTransit } from '../../shared/vault/transit.js';
import { startEnv, type Env } from '../env/index.js';
import { waitUntil } from '../env/processes.js';
import { installController, type ControllerProcess } from '../helpers/controller-process.js';
import { startSigil } from './controller.js';
import { POLICIES, tokenWith } from '../helpers/vault-access.js';
import {
  clientsFor,
  createNamespace,
  createSealedSecrets,
  emptyNamespace,
  sealedSecrets,
  values,
  waitForSecrets,
  type Clients,
  type CountResult,
} from './cluster-load.js';
import { inParallel, median, sleep } from './measure.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SEAL = join(ROOT, 'dist/cli/main.js');
const CERT = join(ROOT, 'test/fixtures/keys/sealing-4096.crt');
const N = Number(process.env.BENCH_N ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROUNDS = Number(process.env.BENCH_VAULT_ROUNDS ?? 3);
const WORKERS = Number(process.env.BENCH_VAULT_WORKERS ?? 16);
/** Secrets sealed in the sealing rows. */
const SEAL_DOCS = 100;
/** Client requests in flight while creating SealedSecrets (as in controller.ts), and while sealing them as set-up. */
const CONCURRENCY = 16;
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
/** The controller's Vault counters count as settled once unchanged for this long. */
const SETTLE_MS = 3000;
const MOUNT = 'transit';
const KEY = 'bench';
const ROLE = 'sigil-controller';

/** Measures and returns table rows: what, Sigil, reference, target. */
export async function benchVault(): Promise<string[][]> {
  const env = await startEnv({ vault: true });
  try {
    await env.vault!.request('POST', `${MOUNT}/keys/${KEY}`, { derived: true, type: 'aes256-gcm96' });
    const sealing = await benchSealing(env);
    const controller = await benchController(env);
    return [...sealing, ...controller];
  } finally {
    await env.stop();
    rmSync(env.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------- sealing

function plain(name: string, namespace: string): PlainSecret {
  return { name, namespace, labels: {}, annotations: {}, type: 'Opaque', data: values(name), where: 'bench' };
}

function secretYaml(name: string, namespace: string): string {
  const data = [...values(name)].map(([k, v]) => `  ${k}: ${v.toString('base64')}`);
  return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ntype: Opaque\ndata:\n${data.join('\n')}\n`;
}

/** Wall time of one whole-process run in ms, and its stdout; throws when the command fails. */
function timeProcess(args: string[], env: Record<string, string>): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { maxBuffer: 1 << 30, env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return { ms, stdout: r.stdout };
}

/** Whether the built `seal` has --vault-key. */
function cliHasVaultKey(): boolean {
  const r = spawnSync(process.execPath, [SEAL, '--help'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('--vault-key');
}

/** The Vault audit log's requests since line `from`: count, by path, logins. */
function auditRequests(file: string, from: number): { lines: number; requests: number; logins: number; byPath: Map<string, number> } {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const byPath = new Map<string, number>();
  let requests = 0;
  let logins = 0;
  for (const line of lines.slice(from)) {
    const entry = JSON.parse(line) as { type?: string; request?: { path?: string } };
    if (entry.type !== 'request') continue;
    const path = entry.request?.path ?? '?';
    requests += 1;
    if (/^auth\/.+\/login$/.test(path)) logins += 1;
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
  }
  return { lines: lines.length, requests, logins, byPath };
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;
const ratio = (a: number, b: number): string => `×${(a / b).toFixed(2)}`;

async function benchSealing(env: Env): Promise<string[][]> {
  const vault = env.vault!;
  const token = await tokenWith(vault, 'bench-seal', POLICIES.seal(KEY));
  const cert = parseCertificate(readFileSync(CERT, 'utf8'));
  const secrets = Array.from({ length: SEAL_DOCS }, (_, i) => plain(`s${i}`, 'bench'));

  const sealVault = async (): Promise<{ ms: number; logins: number; requests: number; values: number }> => {
    const transit = new VaultTransit({ addr: vault.addr, auth: { method: 'token', token } });
    try {
      const start = performance.now();
      let sealedValues = 0;
      for (const secret of secrets) {
        const ss = await sealSecretWithVault(secret, { transit, mount: MOUNT, key: KEY, scope: 'strict', api: 'sigil', defaultNamespace: 'bench' });
        sealedValues += [...ss.encryptedData.values()].filter((v) => v.startsWith('vault:v')).length;
      }
      return { ms: performance.now() - start, ...transit.stats(), values: sealedValues };
    } finally {
      transit.close();
    }
  };
  const sealCert = (): number => {
    const start = performance.now();
    for (const secret of secrets) sealSecret(secret, { publicKey: cert.publicKey, scope: 'strict', api: 'sigil', defaultNamespace: 'bench' });
    return performance.now() - start;
  };

  await sealVault(); // warm: JIT, Vault's key cache
  sealCert();
  const vaultRuns: Awaited<ReturnType<typeof sealVault>>[] = [];
  const certMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    vaultRuns.push(await sealVault());
    certMs.push(sealCert());
  }
  const v = median(vaultRuns.map((r) => r.ms));
  const c = median(certMs);
  const stats = vaultRuns.map((r) => `${r.requests}/${r.logins}`);
  const same = new Set(stats).size === 1;
  const last = vaultRuns[vaultRuns.length - 1]!;
  if (last.values !== SEAL_DOCS * 5) throw new Error(`Vault sealing made ${last.values} vault: values, not ${SEAL_DOCS * 5}`);
  const rows: string[][] = [
    [
      `sealing ${SEAL_DOCS} Secrets × 5 keys with Vault transit, in-process: \`sealSecretWithVault\` one after the other over one VaultTransit (fresh per run), least-privilege token (update on transit/encrypt/${KEY}, read on transit/keys/${KEY}), median of ${RUNS}`,
      `${ms(v)} (${((v / SEAL_DOCS)).toFixed(2)} ms/Secret); requests sent ${last.requests} (1 key read + ${SEAL_DOCS} encrypt batches), logins ${last.logins} (token auth)${same ? '' : `; runs requests/logins: ${stats.join(', ')}`}`,
      `\`sealSecret\` with the cluster certificate (RSA-4096), in-process, same ${SEAL_DOCS} Secrets: ${ms(c)} (Vault ${ratio(v, c)}); runs Vault ${vaultRuns.map((r) => r.ms.toFixed(0)).join('/')} ms, cert ${certMs.map((x) => x.toFixed(0)).join('/')} ms`,
      '—',
    ],
  ];

  if (!cliHasVaultKey()) {
    rows.push([`\`seal --vault-key\` on a ${SEAL_DOCS}-document file, whole process`, 'not measured: the built `seal` has no --vault-key', '—', '—']);
    return rows;
  }
  const file = join(env.dir, 'many.yaml');
  writeFileSync(file, Array.from({ length: SEAL_DOCS }, (_, i) => secretYaml(`s${i}`, 'bench')).join('---\n'));
  const vaultEnv = { VAULT_ADDR: vault.addr, VAULT_TOKEN: token };
  const vaultArgs = [SEAL, '--vault-key', KEY, '-f', file];
  const certArgs = [SEAL, '--cert', CERT, '-f', file];
  const check = (stdout: string): void => {
    const docs = (yaml.loadAll(stdout) as { spec?: { vault?: unknown; encryptedData?: Record<string, string> } }[]).filter(Boolean);
    const vaultValues = docs.flatMap((d) => Object.values(d.spec?.encryptedData ?? {})).filter((x) => x.startsWith('vault:v')).length;
    if (docs.length !== SEAL_DOCS || vaultValues !== SEAL_DOCS * 5 || !docs.every((d) => d.spec?.vault)) {
      throw new Error(`seal --vault-key printed ${docs.length} documents with ${vaultValues} vault: values`);
    }
  };
  check(timeProcess(vaultArgs, vaultEnv).stdout); // warm caches
  timeProcess(certArgs, {});
  const node0: number[] = [];
  const cliVault: number[] = [];
  const cliCert: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    node0.push(timeProcess(['-e', '0'], {}).ms);
    cliVault.push(timeProcess(vaultArgs, vaultEnv).ms);
    cliCert.push(timeProcess(certArgs, {}).ms);
  }
  // One more run with an audit device on: what Vault received from one `seal` process.
  const audit = join(env.dir, 'vault-audit.log');
  await vault.request('PUT', 'sys/audit/bench', { type: 'file', options: { file_path: audit } });
  const before = auditRequests(audit, 0).lines;
  check(timeProcess(vaultArgs, vaultEnv).stdout);
  const seen = auditRequests(audit, before);
  await vault.request('DELETE', 'sys/audit/bench');
  const paths = [...seen.byPath].map(([p, n]) => `${n} ${p}`).join(', ');
  const cv = median(cliVault);
  const cc = median(cliCert);
  rows.push([
    `\`seal --vault-key ${KEY} -f\` a ${SEAL_DOCS}-document file (5 keys each), whole process, VAULT_ADDR + least-privilege VAULT_TOKEN, median of ${RUNS}`,
    `${ms(cv)}; Vault received ${seen.requests} requests (${paths}; audit log, one extra run), logins ${seen.logins}`,
    `\`seal --cert\` (RSA-4096) on the same file: ${ms(cc)} (Vault ${ratio(cv, cc)}); node -e 0 ${ms(median(node0))}; runs Vault ${cliVault.map((x) => x.toFixed(0)).join('/')} ms, cert ${cliCert.map((x) => x.toFixed(0)).join('/')} ms`,
    '—',
  ]);
  return rows;
}

// ------------------------------------------------------------------------------------------- controller

interface VaultCalls {
  logins: number;
  requests: number;
  /** sigil_unseal_total summed: reconciles that went past the "already settled" check and opened the object. */
  unseals: number;
}

async function vaultCalls(controller: ControllerProcess): Promise<VaultCalls> {
  const text = await (await fetch(`${controller.metrics}/metrics`)).text();
  const read = (kind: string): number => Number(new RegExp(`^sigil_vault_calls\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  const unseals = [...text.matchAll(/^sigil_unseal_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { logins: read('login'), requests: read('request'), unseals };
}

/** The counters once unchanged for SETTLE_MS (at most 60 s). */
async function settledVaultCalls(controller: ControllerProcess): Promise<VaultCalls> {
  let last = await vaultCalls(controller);
  let since = performance.now();
  const deadline = performance.now() + 60_000;
  while (performance.now() - since < SETTLE_MS && performance.now() < deadline) {
    await sleep(250);
    const now = await vaultCalls(controller);
    if (now.requests !== last.requests || now.logins !== last.logins || now.unseals !== last.unseals) {
      last = now;
      since = performance.now();
    }
  }
  return last;
}

interface ControllerRun {
  converged: CountResult;
  atConvergence: VaultCalls;
  settled: VaultCalls;
}

/** Creates the SealedSecrets (CONCURRENCY in flight) and counts Secrets until all are there, timed from the first create. */
async function converge(clients: Clients, bodies: Record<string, unknown>[], namespace: string): Promise<CountResult> {
  const since = performance.now();
  let failure: unknown;
  const creating = createSealedSecrets(clients, 'sigil', bodies, CONCURRENCY).catch((err: unknown) => {
    failure = err;
  });
  const result = await waitForSecrets(clients, { namespace, labelSelector: OWNER_LABEL, count: bodies.length, since, timeoutMs: TIMEOUT_MS, stop: () => failure !== undefined });
  await creating;
  if (failure !== undefined) throw failure;
  return result;
}

/** N SealedSecrets in `namespace` sealed with Vault transit (as admin, root token), CONCURRENCY in flight. */
async function vaultSealedBodies(env: Env, namespace: string): Promise<Record<string, unknown>[]> {
  const transit = new VaultTransit({ addr: env.vault!.addr, auth: { method: 'token', token: env.vault!.rootToken } });
  try {
    const bodies: Record<string, unknown>[] = new Array(N);
    await inParallel(N, CONCURRENCY, async (i) => {
      const ss = await sealSecretWithVault(plain(`s${i}`, namespace), { transit, mount: MOUNT, key: KEY, scope: 'strict', api: 'sigil', defaultNamespace: namespace });
      bodies[i] = sealedSecretObject(ss);
    });
    return bodies;
  } finally {
    transit.close();
  }
}

async function benchController(env: Env): Promise<string[][]> {
  const vault = env.vault!;
  const cp = env.controlPlane;
  const admin = clientsFor(cp.kubeconfig);
  const dir = join(env.dir, 'bench-controller');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = await installController(cp, dir);
  const saToken = (yaml.load(await cp.kubeconfigForServiceAccount('sigil-system', 'sigil-controller')) as { users: { user: { token: string } }[] }).users[0]!.user.token;
  const jwtFile = join(dir, 'sa.token');
  writeFileSync(jwtFile, saToken, { mode: 0o600 });
  await vault.request('PUT', `sys/policies/acl/${ROLE}`, { policy: `path "${MOUNT}/decrypt/${KEY}" { capabilities = ["update"] }` });
  await vault.request('POST', `auth/kubernetes/role/${ROLE}`, {
    bound_service_account_names: ['sigil-controller'],
    bound_service_account_namespaces: ['sigil-system'],
    policies: [ROLE],
    token_ttl: '1h',
    token_max_ttl: '2h',
  });
  const args = [`--workers=${WORKERS}`, `--vault-addr=${vault.addr}`, '--vault-auth=kubernetes', `--vault-role=${ROLE}`, `--vault-jwt-file=${jwtFile}`];

  let count = 0;
  const once = async (kind: 'cluster-key' | 'vault'): Promise<ControllerRun> => {
    const namespace = `bench-${kind}-${count++}`;
    await createNamespace(admin, namespace);
    const controller = await startSigil(kubeconfig, dir, `sigil-controller-${kind}-${count}`, args);
    try {
      let bodies: Record<string, unknown>[];
      if (kind === 'vault') {
        bodies = await vaultSealedBodies(env, namespace);
      } else {
        const cert = parseCertificate(await (await fetch(`${controller.http}/v1/cert.pem`)).text());
        bodies = sealedSecrets({ publicKey: cert.publicKey, api: 'sigil', namespace, count: N, prefix: 's' });
      }
      const converged = await converge(admin, bodies, namespace);
      const atConvergence = await vaultCalls(controller);
      const settled = await settledVaultCalls(controller);
      return { converged, atConvergence, settled };
    } finally {
      await controller.stop();
      await emptyNamespace(admin, namespace, { apis: ['sigil'] });
    }
  };

  const clusterRuns: ControllerRun[] = [];
  const vaultRuns: ControllerRun[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    clusterRuns.push(await once('cluster-key'));
    vaultRuns.push(await once('vault'));
  }
  return controllerRows(clusterRuns, vaultRuns);
}

function controllerRows(clusterRuns: ControllerRun[], vaultRuns: ControllerRun[]): string[][] {
  const seconds = (v: number): string => `${(v / 1000).toFixed(2)} s`;
  const rate = (v: number): string => `${Math.round((N * 1000) / v)}/s`;
  const outcome = (r: CountResult): string => (r.done ? seconds(r.ms) : `not done: ${r.seen}/${N} after ${seconds(r.ms)}`);
  const done = (runs: ControllerRun[]): number[] => runs.filter((r) => r.converged.done).map((r) => r.converged.ms);
  const vaultDone = done(vaultRuns);
  const clusterDone = done(clusterRuns);
  const v = vaultDone.length ? median(vaultDone) : undefined;
  const c = clusterDone.length ? median(clusterDone) : undefined;
  const calls = (runs: ControllerRun[], which: 'atConvergence' | 'settled'): string => runs.map((r) => `${r[which].logins}/${r[which].requests}`).join(', ');
  const maxLogins = Math.max(...vaultRuns.map((r) => r.settled.logins));
  // Every request but the logins is a decrypt batch (no renewal falls in a 1 h token's run).
  const perObject = Math.max(...vaultRuns.map((r) => (r.settled.requests - r.settled.logins) / N));
  const clusterCalls = clusterRuns.map((r) => r.settled.requests + r.settled.logins);
  const unseals = (runs: ControllerRun[]): string => runs.map((r) => r.settled.unseals).join(', ');
  const what = `${N} Vault-sealed SealedSecrets (5 keys each, one transit key) → Secrets, built controller --workers ${WORKERS}, Kubernetes-auth login, decrypt-only policy; ${CONCURRENCY} creates in flight, first create → all Secrets listed, median of ${ROUNDS}`;
  return [
    [
      what,
      `${v === undefined ? 'no run converged' : `${seconds(v)} (${rate(v)})`}; runs ${vaultRuns.map((r) => outcome(r.converged)).join(', ')}; Vault logins/requests per run at convergence ${calls(vaultRuns, 'atConvergence')}, settled (${SETTLE_MS / 1000} s unchanged) ${calls(vaultRuns, 'settled')}; objects opened (sigil_unseal_total) ${unseals(vaultRuns)}`,
      `${N} cluster-key SealedSecrets, same control plane and controller flags: ${c === undefined ? 'no run converged' : `${seconds(c)} (${rate(c)})`}; runs ${clusterRuns.map((r) => outcome(r.converged)).join(', ')}; Vault calls ${clusterCalls.every((n) => n === 0) ? 'none' : clusterCalls.join(', ')}; objects opened (sigil_unseal_total) ${unseals(clusterRuns)}`,
      '—',
    ],
    [
      `… Vault / cluster-key convergence time; Vault logins; decrypt requests per object (settled /metrics, worst run)`,
      `${v === undefined || c === undefined ? 'n/a' : ratio(v, c)}; ${maxLogins} login${maxLogins === 1 ? '' : 's'}; ${perObject.toFixed(3)} decrypt requests per object`,
      `cluster-key ${c === undefined ? 'n/a' : seconds(c)}`,
      '1 login; ≤ 1 decrypt request per object; ≤ 2× the cluster-key time',
    ],
  ];
}
