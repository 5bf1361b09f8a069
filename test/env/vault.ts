/**
 * A real Vault (or OpenBao, same HTTP API) dev server on loopback: a known root token, transit mounted,
 * and the Kubernetes auth method pointed at the test kube-apiserver, so logins are checked by a real
 * TokenReview.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath, COMPONENTS } from './build.js';
import { freePort, startServer, waitUntil, type Server } from './processes.js';

/** The running dev server. */
export interface Vault {
  addr: string;
  rootToken: string;
  version: string;
  /** Calls the Vault HTTP API with the root token; throws with Vault's errors on a non-2xx answer. */
  request(method: string, path: string, body?: unknown, token?: string): Promise<unknown>;
  /** Points the Kubernetes auth method (mounted at `kubernetes`) at a cluster, reviewing with `reviewerJwt`. */
  configureKubernetesAuth(options: { host: string; caPem: string; reviewerJwt: string }): Promise<void>;
  stop(): Promise<void>;
}

/** The dev root token of every test Vault. */
export const VAULT_ROOT_TOKEN = 'sigil-root';

/** Starts the dev server, mounts transit at `transit` and enables Kubernetes auth at `kubernetes`. */
export async function startVault(options: { dir: string; logDir?: string }): Promise<Vault> {
  const binary = binaryPath('vault', COMPONENTS.vault.binaries[0]);
  mkdirSync(options.dir, { recursive: true });
  const port = await freePort();
  const addr = `http://127.0.0.1:${port}`;
  const logDir = options.logDir ?? join(options.dir, 'logs');
  const env = { PATH: process.env.PATH, HOME: options.dir, VAULT_DISABLE_MLOCK: 'true', BAO_DISABLE_MLOCK: 'true' };
  const server: Server = startServer(
    'vault',
    binary,
    ['server', '-dev', `-dev-root-token-id=${VAULT_ROOT_TOKEN}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'],
    { env, cwd: options.dir, logDir },
  );
  await waitUntil('vault ready', async () => (await fetch(`${addr}/v1/sys/health`)).status === 200, { timeoutMs: 30_000, server });

  async function request(method: string, path: string, body?: unknown, token = VAULT_ROOT_TOKEN): Promise<unknown> {
    const response = await fetch(`${addr}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`vault ${method} ${path}: HTTP ${response.status} ${text.trim()}`);
    return text ? JSON.parse(text) : undefined;
  }

  await request('POST', 'sys/mounts/transit', { type: 'transit' });
  await request('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  const version = execFileSync(binary, ['version'], { encoding: 'utf8' }).trim();
  return {
    addr,
    rootToken: VAULT_ROOT_TOKEN,
    version,
    request,
    async configureKubernetesAuth({ host, caPem, reviewerJwt }): Promise<void> {
      await request('POST', 'auth/kubernetes/config', { kubernetes_host: host, kubernetes_ca_cert: caPem, token_reviewer_jwt: reviewerJwt });
    },
    stop: () => server.stop(),
  };
}
