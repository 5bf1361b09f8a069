/**
 * `seal cert`: prints the sealing certificate `seal` would use, for saving it and sealing offline.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { controllerNamespaceOption } from './options.js';

interface CertFlags {
  cert?: string;
  controllerNamespace: string;
  write?: string;
}

const EXAMPLES = `
Examples:
  # save the cluster's certificate (from the controller's ConfigMap, through your kubeconfig)
  seal cert > cert.pem
  seal --cert cert.pem < secret.yaml > sealed.yaml

  # from the controller's HTTP endpoint instead
  seal cert --cert http://127.0.0.1:8080/v1/cert.pem
`;

/** Registers `seal cert`. */
export function registerCert(program: Command): void {
  program
    .command('cert')
    .description("print the sealing certificate (default: the cluster's, from the controller's ConfigMap)")
    .addOption(new Option('--cert <cert>', 'read it from this PEM file or http(s) URL instead').env('SEAL_CERT'))
    .addOption(controllerNamespaceOption())
    .option('-w, --write <file>', 'write it to this file, atomically')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: CertFlags) => {
      const { loadSealingCert } = await import('../lib/cert-source.js');
      const { writeOutput } = await import('../lib/io.js');
      const cert = await loadSealingCert({ cert: flags.cert, controllerNamespace: flags.controllerNamespace, now: new Date() });
      await writeOutput(cert.pem, flags.write);
    });
}
