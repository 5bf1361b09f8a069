/**
 * sigil-controller's command line: every flag has an environment equivalent (`SIGIL_<FLAG>`), and a bad
 * value is a usage error naming the flag.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONTROLLER_NAMESPACE } from '../shared/names.js';

/** The controller's settings after parsing. */
export interface ControllerConfig {
  kubeconfig?: string;
  namespace: string;
  /** Empty = all namespaces. */
  watchNamespaces: string[];
  workers: number;
  listen: string;
  metricsListen: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logFormat: 'json' | 'text';
  keyRenewPeriodMs: number;
  keyCutoffTime?: Date;
  keySize: number;
  importBitnamiKeys: boolean;
  watchBitnami: boolean;
  bitnamiNamespace: string;
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Runs the GitOps sync engine (Applications). */
  syncEngine: boolean;
  syncWorkers: number;
  kustomizePath: string;
  gitCacheDir: string;
  /** Name of the Secret (in `namespace`) whose `token` verifies `POST /hooks/git`. */
  webhookSecret: string;
  /** ServiceAccount (in `namespace`) the sync engine impersonates for everything it reads and writes. */
  syncServiceAccount: string;
  /** Impersonated (in the Application's namespace) for Applications that name no serviceAccountName. */
  defaultServiceAccount?: string;
  /** False: Secret references outside the Application's namespace are refused. */
  crossNamespaceRefs: boolean;
  /** Vault transit for Vault-sealed SealedSecrets; absent without --vault-addr. */
  vault?: VaultConfig;
}

/** How the controller reaches and logs in to Vault. */
export interface VaultConfig {
  addr: string;
  auth: 'kubernetes' | 'token' | 'approle';
  /** Kubernetes auth role. */
  role?: string;
  /** Auth method mount (default: the method's name). */
  authMount?: string;
  /** File holding the ServiceAccount token for Kubernetes auth (read at each login). */
  jwtFile: string;
  /** File holding a token (token auth; else VAULT_TOKEN). */
  tokenFile?: string;
  /** CA certificate file (PEM) for an https Vault. */
  caCert?: string;
  namespace?: string;
}

/** Parses a Go-style duration (`720h`, `1h30m`, `90s`, `0`) into milliseconds. */
export function parseDuration(value: string): number {
  if (value === '0') return 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) {
    throw new InvalidArgumentError('use a duration such as 720h, 30m or 0');
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('use a whole number of at least 1');
  return Number(value);
}

function hostPort(value: string): string {
  if (!/^([\w.-]*|\[[0-9a-fA-F:]+\]):\d{1,5}$/.test(value)) throw new InvalidArgumentError('use host:port or :port');
  return value;
}

function time(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('use an RFC 3339 time such as 2026-01-31T00:00:00Z');
  return date;
}

function env(flag: string): string {
  return `SIGIL_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/** The commander program; its action receives the parsed config. */
export function controllerProgram(run: (config: ControllerConfig) => Promise<void>): Command {
  const opt = (flags: string, description: string, name: string): Option => new Option(flags, description).env(env(name));
  return new Command('sigil-controller')
    .description('Keeps the sealing keys, turns SealedSecrets into Secrets, serves the sealing certificate, and syncs Applications from Git.')
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster config)').env('KUBECONFIG'))
    .addOption(opt('--namespace <ns>', 'namespace of the keys, the certificate ConfigMap and the lease', 'namespace').default(DEFAULT_CONTROLLER_NAMESPACE))
    .addOption(opt('--watch-namespaces <list>', 'comma-separated namespaces to watch (default: all)', 'watch-namespaces').default(''))
    .addOption(opt('--workers <n>', 'SealedSecrets unsealed in parallel', 'workers').argParser(positiveInt).default(4))
    .addOption(opt('--listen <addr>', 'HTTP address of the API (/v1/cert.pem, /healthz, …)', 'listen').argParser(hostPort).default(':8080'))
    .addOption(opt('--metrics-listen <addr>', 'HTTP address of /metrics', 'metrics-listen').argParser(hostPort).default(':8081'))
    .addOption(opt('--log-level <level>', 'debug | info | warn | error', 'log-level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(opt('--log-format <format>', 'json | text', 'log-format').choices(['json', 'text']).default('json'))
    .addOption(opt('--key-renew-period <duration>', 'make a new sealing key this often; 0 turns renewal off', 'key-renew-period').argParser(parseDuration).default(720 * 3_600_000, '720h'))
    .addOption(opt('--key-cutoff-time <time>', 'make a new key at start when the newest is older than this', 'key-cutoff-time').argParser(time))
    .addOption(opt('--key-size <bits>', 'RSA size of new sealing keys', 'key-size').argParser(positiveInt).default(4096))
    .addOption(opt('--import-bitnami-keys', "also load Sealed Secrets' keys, to open files sealed for it", 'import-bitnami-keys'))
    .addOption(opt('--bitnami-namespace <ns>', "namespace of Sealed Secrets' keys", 'bitnami-namespace').default('kube-system'))
    .addOption(opt('--watch-bitnami', 'also unseal bitnami.com/v1alpha1 SealedSecrets, to replace a Sealed Secrets controller in place', 'watch-bitnami'))
    .addOption(opt('--no-leader-elect', 'reconcile without a Lease (one replica only)', 'leader-elect'))
    .addOption(opt('--leader-elect-lease-duration <duration>', 'how long a leader holds the Lease unrenewed', 'leader-elect-lease-duration').argParser(parseDuration).default(15_000, '15s'))
    .addOption(opt('--leader-elect-renew-deadline <duration>', 'how long the leader keeps trying to renew', 'leader-elect-renew-deadline').argParser(parseDuration).default(10_000, '10s'))
    .addOption(opt('--leader-elect-retry-period <duration>', 'how often candidates try the Lease', 'leader-elect-retry-period').argParser(parseDuration).default(2_000, '2s'))
    .addOption(opt('--no-sync-engine', 'do not sync Applications (unseal only)', 'sync-engine'))
    .addOption(opt('--sync-workers <n>', 'Applications synced in parallel', 'sync-workers').argParser(positiveInt).default(4))
    .addOption(opt('--kustomize-path <file>', 'the kustomize binary, for paths holding a kustomization.yaml', 'kustomize-path').default('kustomize'))
    .addOption(opt('--git-cache-dir <dir>', 'where Git repositories and checkouts are kept', 'git-cache-dir').default(join(tmpdir(), 'sigil-git')))
    .addOption(opt('--sync-service-account <name>', 'ServiceAccount in --namespace whose rights the sync engine uses (impersonated)', 'sync-service-account').default('sigil-sync'))
    .addOption(opt('--default-service-account <name>', 'ServiceAccount impersonated, in their own namespace, for Applications that name none', 'default-service-account'))
    .addOption(opt('--no-cross-namespace-refs', 'refuse Applications that name Secrets outside their own namespace', 'cross-namespace-refs'))
    .addOption(opt('--vault-addr <url>', 'Vault address, for SealedSecrets sealed with Vault transit', 'vault-addr'))
    .addOption(opt('--vault-auth <method>', 'kubernetes | token | approle (token: VAULT_TOKEN or --vault-token-file; approle: VAULT_ROLE_ID and VAULT_SECRET_ID)', 'vault-auth').choices(['kubernetes', 'token', 'approle']).default('kubernetes'))
    .addOption(opt('--vault-role <name>', 'Vault role of the Kubernetes auth login', 'vault-role').default('sigil-controller'))
    .addOption(opt('--vault-auth-mount <path>', 'where the auth method is mounted (default: its name)', 'vault-auth-mount'))
    .addOption(opt('--vault-jwt-file <file>', 'ServiceAccount token for Kubernetes auth, read at each login', 'vault-jwt-file').default('/var/run/secrets/kubernetes.io/serviceaccount/token'))
    .addOption(opt('--vault-token-file <file>', 'token for --vault-auth token (else VAULT_TOKEN)', 'vault-token-file'))
    .addOption(opt('--vault-cacert <file>', 'CA certificate (PEM) of an https Vault', 'vault-cacert'))
    .addOption(opt('--vault-namespace <ns>', 'Vault Enterprise namespace', 'vault-namespace'))
    .addOption(opt('--webhook-secret <name>', 'Secret in --namespace whose `token` verifies POST /hooks/git', 'webhook-secret').default('sigil-webhook'))
    .action(async (flags: Record<string, unknown>, command: Command) => {
      // commander turns a boolean flag on when its variable is set at all, whatever the value
      // (SIGIL_LEADER_ELECT=true turned leader election off): read true/false (1/0), refuse the rest.
      for (const option of command.options) {
        const variable = option.envVar;
        if (option.required || option.optional || !variable || command.getOptionValueSource(option.attributeName()) !== 'env') continue;
        const value = process.env[variable] ?? '';
        if (!/^(true|false|1|0)$/i.test(value)) command.error(`error: option '${option.flags}' value '${value}' from env '${variable}' is invalid. use true or false`, { exitCode: 2 });
        flags[option.attributeName()] = /^(true|1)$/i.test(value);
      }
      await run({
        kubeconfig: flags.kubeconfig as string | undefined,
        namespace: flags.namespace as string,
        watchNamespaces: String(flags.watchNamespaces ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        workers: flags.workers as number,
        listen: flags.listen as string,
        metricsListen: flags.metricsListen as string,
        logLevel: flags.logLevel as ControllerConfig['logLevel'],
        logFormat: flags.logFormat as ControllerConfig['logFormat'],
        keyRenewPeriodMs: flags.keyRenewPeriod as number,
        keyCutoffTime: flags.keyCutoffTime as Date | undefined,
        keySize: flags.keySize as number,
        importBitnamiKeys: flags.importBitnamiKeys === true,
        watchBitnami: flags.watchBitnami === true,
        bitnamiNamespace: flags.bitnamiNamespace as string,
        leaderElect: flags.leaderElect !== false,
        leaseDurationMs: flags.leaderElectLeaseDuration as number,
        renewDeadlineMs: flags.leaderElectRenewDeadline as number,
        retryPeriodMs: flags.leaderElectRetryPeriod as number,
        syncEngine: flags.syncEngine !== false,
        syncWorkers: flags.syncWorkers as number,
        kustomizePath: flags.kustomizePath as string,
        gitCacheDir: flags.gitCacheDir as string,
        webhookSecret: flags.webhookSecret as string,
        syncServiceAccount: flags.syncServiceAccount as string,
        defaultServiceAccount: flags.defaultServiceAccount as string | undefined,
        crossNamespaceRefs: flags.crossNamespaceRefs !== false,
        ...(flags.vaultAddr
          ? {
              vault: {
                addr: flags.vaultAddr as string,
                auth: flags.vaultAuth as VaultConfig['auth'],
                role: flags.vaultRole as string,
                authMount: flags.vaultAuthMount as string | undefined,
                jwtFile: flags.vaultJwtFile as string,
                tokenFile: flags.vaultTokenFile as string | undefined,
                caCert: flags.vaultCacert as string | undefined,
                namespace: flags.vaultNamespace as string | undefined,
              },
            }
          : {}),
      });
    });
}
