/**
 * `seal keygen`: an RSA sealing key and a self-signed certificate, for offline use and tests.
 */
import type { Command } from 'commander';
import { parseInteger } from './options.js';
import { UsageError } from '../../shared/errors.js';

interface KeygenFlags {
  keyOut?: string;
  certOut?: string;
  bits: number;
  validDays: number;
  force?: boolean;
}

const EXAMPLES = `
Example:
  seal keygen --key-out sealing.key --cert-out sealing.crt
  seal --cert sealing.crt < secret.yaml > sealed.yaml
`;

/** Registers `seal keygen`. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate an RSA sealing key and its self-signed certificate')
    .option('--key-out <file>', 'where to write the private key (PEM, mode 0600)')
    .option('--cert-out <file>', 'where to write the certificate (PEM)')
    .option('--bits <n>', 'RSA key size', parseInteger, 4096)
    .option('--valid-days <n>', 'certificate validity in days', parseInteger, 3650)
    .option('--force', 'replace existing files')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: KeygenFlags) => {
      if (!flags.keyOut || !flags.certOut) throw new UsageError('keygen needs --key-out and --cert-out');
      const { keygen } = await import('../lib/keygen.js');
      const result = await keygen({ keyOut: flags.keyOut, certOut: flags.certOut, bits: flags.bits, validDays: flags.validDays, force: !!flags.force, now: new Date() });
      process.stderr.write(`wrote ${result.keyOut} and ${result.certOut}\n`);
    });
}
