/**
 * `startEnv`: the whole test environment from one call — a real kube-apiserver and etcd (and optionally
 * kube-controller-manager), real Git servers, a real Vault and the real Sealed Secrets controller — with
 * `DIR/kubeconfig` and `DIR/env.sh` written for people and scripts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { binaryPath } from './build.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startGitServers, type GitServers } from './git.js';
import { stopAll } from './processes.js';
import { startSealedSecretsController, type SealedSecretsController } from './sealed-secrets.js';
import { startVault, type Vault } from './vault.js';

/** What to start besides the control plane. */
export interface EnvOptions {
  /** Where everything lives; a new temporary folder when not given. */
  dir?: string;
  controllerManager?: boolean;
  git?: boolean;
  vault?: boolean;
  sealedSecrets?: boolean;
}

/** The running environment. */
export interface Env {
  dir: string;
  controlPlane: ControlPlane;
  git?: GitServers;
  vault?: Vault;
  sealedSecrets?: SealedSecretsController;
  /** Component → version line, for test output. */
  versions: Record<string, string>;
  /** `DIR/env.sh`: `source` it to use the environment from a shell. */
  envFile: string;
  stop(): Promise<void>;
}

/** The components `--with` accepts. */
export const OPTIONAL_COMPONENTS = ['controller-manager', 'git', 'vault', 'sealed-secrets'] as const;

/** Starts the control plane and the asked-for components; on any failure stops what it started and throws. */
export async function startEnv(options: EnvOptions = {}): Promise<Env> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sigil-env-'));
  mkdirSync(dir, { recursive: true });
  const logDir = join(dir, 'logs');
  try {
    const controlPlane = await startControlPlane({ dir: join(dir, 'cluster'), controllerManager: options.controllerManager, logDir });
    const env: Env = {
      dir,
      controlPlane,
      versions: { ...controlPlane.versions },
      envFile: join(dir, 'env.sh'),
      stop: stopAll,
    };
    if (options.git) {
      env.git = await startGitServers({ dir: join(dir, 'git'), logDir });
      env.versions.git = env.git.versions.git;
      env.versions.openssh = env.git.versions.openssh;
    }
    if (options.vault) {
      env.vault = await startVault({ dir: join(dir, 'vault'), logDir });
      await env.vault.configureKubernetesAuth({
        host: controlPlane.server,
        caPem: controlPlane.caPem,
        reviewerJwt: await reviewerToken(controlPlane),
      });
      env.versions.vault = env.vault.version;
    }
    if (options.sealedSecrets) {
      env.sealedSecrets = await startSealedSecretsController({ dir: join(dir, 'sealed-secrets'), controlPlane, logDir });
      env.versions['sealed-secrets'] = env.sealedSecrets.version;
    }
    writeFileSync(env.envFile, envScript(env));
    copyFileSync(controlPlane.kubeconfig, join(dir, 'kubeconfig'));
    return env;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A token of a ServiceAccount allowed to create TokenReviews, for Vault's Kubernetes auth. */
async function reviewerToken(cp: ControlPlane): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const kubectl = (...args: string[]): string => execFileSync(binaryPath('kubernetes', 'kubectl'), ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8' });
  const config = yaml.load(await cp.kubeconfigForServiceAccount('kube-system', 'vault-auth')) as { users: { user: { token: string } }[] };
  kubectl('create', 'clusterrolebinding', 'vault-auth-delegator', '--clusterrole=system:auth-delegator', '--serviceaccount=kube-system:vault-auth');
  return config.users[0]!.user.token;
}

function envScript(env: Env): string {
  const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  const bins = new Set([dirname(binaryPath('kubernetes', 'kubectl')), dirname(binaryPath('kubeseal', 'kubeseal'))]);
  const lines = [
    `# The Sigil test environment in ${env.dir}. Source it: . ${env.envFile}`,
    `export KUBECONFIG=${q(join(env.dir, 'kubeconfig'))}`,
    `export PATH=${q([...bins].join(':'))}:"$PATH"`,
  ];
  if (env.vault) lines.push(`export VAULT_ADDR=${q(env.vault.addr)}`, `export VAULT_TOKEN=${q(env.vault.rootToken)}`);
  if (env.git) {
    lines.push(
      `export SIGIL_GIT_DAEMON_URL=${q(env.git.daemonUrl('REPO'))}`,
      `export SIGIL_GIT_HTTP_URL=${q(env.git.httpUrl('REPO'))}`,
      `export SIGIL_GIT_SSH_URL=${q(env.git.sshUrl('REPO'))}`,
    );
  }
  if (env.sealedSecrets) lines.push(`export SEAL_CERT=${q(env.sealedSecrets.certUrl)}`);
  return lines.join('\n') + '\n';
}
