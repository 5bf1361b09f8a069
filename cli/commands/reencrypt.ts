/**
 * `seal reencrypt`: re-seals sealed files to a new certificate, offline, in place.
 */
import { Option, type Command } from 'commander';
import { collectList, controllerNamespaceOption } from './options.js';
import { UsageError } from '../../shared/errors.js';

interface ReencryptFlags {
  key?: string[];
  cert?: string;
  controllerNamespace: string;
}

const EXAMPLES = `
Example:
  # after rotating to a new key: re-seal a whole repository's sealed files
  seal reencrypt --key old.key --cert new.crt deploy/
`;

/** Registers `seal reencrypt`. */
export function registerReencrypt(program: Command): void {
  program
    .command('reencrypt')
    .description('re-seal sealed files (or folder trees) to a new certificate, in place')
    .argument('<paths...>', 'sealed files or folders')
    .option('--key <files>', 'private keys that open the current values; comma-separated or repeated', collectList)
    .addOption(new Option('--cert <cert>', 'the new sealing certificate: PEM file or http(s) URL (default: the cluster\'s)').env('SEAL_CERT'))
    .addOption(controllerNamespaceOption())
    .addHelpText('after', EXAMPLES)
    .action(async (paths: string[], flags: ReencryptFlags) => {
      if (!flags.key?.length) throw new UsageError('reencrypt needs --key FILE[,FILE…]');
      const { reencryptFiles } = await import('../lib/reencrypt.js');
      const result = await reencryptFiles({ paths, keyFiles: flags.key, cert: flags.cert, controllerNamespace: flags.controllerNamespace, now: new Date() });
      process.stderr.write(`re-sealed ${result.sealedSecrets} SealedSecrets in ${result.files} files\n`);
    });
}
