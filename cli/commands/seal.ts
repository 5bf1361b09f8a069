/**
 * The default action: `seal [-f FILE] --cert CERT …` or `--vault-key NAME …`, plus its `--raw` and
 * `--merge-into` forms.
 */
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../../shared/errors.js';
import type { Scope } from '../../shared/crypto/scope.js';
import type { ManifestFormat } from '../../shared/manifest/parse.js';
import type { VaultSealing } from '../lib/vault-seal.js';
import { controllerNamespaceOption, parseFormat, parseScope, vaultMountOption } from './options.js';

interface SealFlags {
  file?: string;
  cert?: string;
  scope: Scope;
  namespace?: string;
  format?: ManifestFormat;
  write?: string;
  api: 'sigil' | 'bitnami';
  allowEmptyData?: boolean;
  raw?: boolean;
  name?: string;
  fromFile?: string;
  mergeInto?: string;
  controllerNamespace: string;
  vaultKey?: string;
  vaultMount: string;
}

const EXAMPLES = `
Examples:
  # seal a Secret manifest with the certificate of the cluster of your kubeconfig
  seal < secret.yaml > sealed.yaml

  # with a certificate file (offline)
  seal --cert cert.pem < secret.yaml > sealed.yaml

  # the same for a stock Sealed Secrets controller, namespace-wide
  seal --cert cert.pem --api bitnami --scope namespace-wide -f secret.yaml -w sealed.yaml

  # one value, for hand-editing a sealed file
  echo -n hunter2 | seal --cert cert.pem --raw --name db -n prod

  # add or replace keys in an existing sealed file; only those lines change
  seal --cert cert.pem --merge-into sealed.yaml < new-keys.yaml

  # with a Vault transit key instead of the cluster's certificate (VAULT_ADDR, VAULT_TOKEN or vault login)
  seal vault create-key team-db
  seal --vault-key team-db -f secret.yaml -w sealed.yaml
  seal --vault-key team-db --merge-into sealed.yaml < new-keys.yaml
`;

/** Registers the default action on the root program. */
export function registerSeal(program: Command): void {
  program
    .option('-f, --file <file>', 'Secret manifest(s) to seal, YAML or JSON (default: stdin)')
    .addOption(new Option('--cert <cert>', 'sealing certificate: PEM file or http(s) URL (default: the cluster\'s, from the controller\'s ConfigMap)').env('SEAL_CERT'))
    .addOption(controllerNamespaceOption())
    .option('--scope <scope>', 'strict | namespace-wide | cluster-wide', parseScope, 'strict')
    .option('-n, --namespace <namespace>', 'namespace for Secrets that name none')
    .option('-o, --format <format>', 'output yaml | json (default: as the input)', parseFormat)
    .option('-w, --write <file>', 'write the output to this file, atomically, only on success')
    .addOption(new Option('--api <api>', 'SealedSecret API to write').choices(['sigil', 'bitnami']).default('sigil'))
    .option('--allow-empty-data', 'seal Secrets that have no data')
    .option('--raw', 'seal one value (stdin or --from-file) and print it')
    .option('--name <name>', 'with --raw: the Secret name the value is for')
    .option('--from-file <file>', 'with --raw: read the value from this file')
    .option('--merge-into <file>', 'seal the input keys into this sealed file, in place')
    .option('--vault-key <name>', 'seal with this Vault transit key instead of the certificate (Vault from VAULT_ADDR, VAULT_TOKEN, …)')
    .addOption(vaultMountOption())
    .addHelpText('after', EXAMPLES)
    .action(async (flags: SealFlags, command: Command) => {
      const vault = vaultSealing(flags, command);
      const lib = await import('../lib/seal.js');
      const { openInput, writeOutput } = await import('../lib/io.js');
      const now = new Date();
      if (flags.raw) {
        if (vault) throw new UsageError('--raw does not take --vault-key: a Vault value is bound to its key name; use --merge-into');
        if (flags.mergeInto || flags.file) throw new UsageError('--raw reads stdin or --from-file; it takes no -f or --merge-into');
        const out = await lib.sealRaw({ ...openInput(flags.fromFile), cert: flags.cert, controllerNamespace: flags.controllerNamespace, now, name: flags.name, namespace: flags.namespace, scope: flags.scope });
        return writeOutput(out, flags.write);
      }
      if (flags.name || flags.fromFile) throw new UsageError('--name and --from-file go with --raw');
      if (flags.mergeInto) {
        if (flags.write) throw new UsageError('--merge-into rewrites that file; it takes no -w');
        return lib.mergeInto({ ...openInput(flags.file), cert: flags.cert, controllerNamespace: flags.controllerNamespace, now, file: flags.mergeInto, allowEmptyData: !!flags.allowEmptyData, vault });
      }
      const out = await lib.sealManifests({
        ...openInput(flags.file),
        cert: flags.cert,
        controllerNamespace: flags.controllerNamespace,
        now,
        scope: flags.scope,
        namespace: flags.namespace,
        api: flags.api,
        format: flags.format,
        allowEmptyData: !!flags.allowEmptyData,
        vault,
      });
      return writeOutput(out, flags.write);
    });
}

/**
 * The Vault key of `--vault-key`, or undefined. A `--cert` on the command line excludes it; one from
 * SEAL_CERT is ignored, as the flag is the more explicit choice.
 */
function vaultSealing(flags: SealFlags, command: Command): VaultSealing | undefined {
  if (!flags.vaultKey) {
    if (command.getOptionValueSource('vaultMount') === 'cli') throw new UsageError('--vault-mount goes with --vault-key');
    return undefined;
  }
  if (flags.cert && command.getOptionValueSource('cert') === 'cli') {
    throw new UsageError('--cert and --vault-key exclude each other: seal with a certificate or with a Vault key');
  }
  if (flags.api === 'bitnami') {
    throw new UsageError('--api bitnami cannot carry Vault values (Sealed Secrets has no Vault transit); use --api sigil');
  }
  return { mount: flags.vaultMount, key: flags.vaultKey, env: process.env, home: homedir() };
}
