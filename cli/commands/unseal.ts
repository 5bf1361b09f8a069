/**
 * `seal unseal`: recovery with private keys held offline, or with your own Vault rights.
 */
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { collectList, parseFormat } from './options.js';
import type { ManifestFormat } from '../../shared/manifest/parse.js';
import { UsageError } from '../../shared/errors.js';

interface UnsealFlags {
  key?: string[];
  vault?: boolean;
  file?: string;
  format?: ManifestFormat;
  write?: string;
}

const EXAMPLES = `
Examples:
  # recover the Secret from a sealed file with a PEM private key
  seal unseal --key sealing.key -f sealed.yaml

  # with a key backup, as kubectl prints it (Sigil's or Sealed Secrets' keys)
  kubectl -n sigil-system get secret -l sigil.dev/sealing-key -o yaml > keys.yaml
  seal unseal --key keys.yaml < sealed.yaml

  # SealedSecrets sealed with Vault transit, with your Vault token (VAULT_ADDR, VAULT_TOKEN or vault login)
  seal unseal --vault -f sealed.yaml

  # a mixed tree: each SealedSecret is opened by what fits it
  cat deploy/*.yaml | seal unseal --vault --key sealing.key
`;

/** Registers `seal unseal`. */
export function registerUnseal(program: Command): void {
  program
    .command('unseal')
    .description('print the plain Secret of sealed manifests, with private keys (recovery) or through Vault')
    .option('--key <files>', 'private keys: PEM (PKCS#1/PKCS#8) or key backup YAML; comma-separated or repeated', collectList)
    .option('--vault', 'open Vault-sealed SealedSecrets through Vault (VAULT_ADDR, VAULT_TOKEN, …) with your own rights')
    .option('-f, --file <file>', 'sealed manifest(s) (default: stdin)')
    .option('-o, --format <format>', 'output yaml | json (default: as the input)', parseFormat)
    .option('-w, --write <file>', 'write the output to this file, atomically, only on success')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: UnsealFlags) => {
      if (!flags.key?.length && !flags.vault) throw new UsageError('unseal needs --key FILE[,FILE…] or --vault');
      const { unsealManifests } = await import('../lib/unseal.js');
      const { openInput, writeOutput } = await import('../lib/io.js');
      const vault = flags.vault ? { env: process.env, home: homedir() } : undefined;
      const out = await unsealManifests({ ...openInput(flags.file), keyFiles: flags.key ?? [], vault, format: flags.format });
      await writeOutput(out, flags.write);
    });
}
