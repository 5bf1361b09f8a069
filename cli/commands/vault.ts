/**
 * `seal vault …`: setting up Vault transit for sealing. `create-key` makes the derived key `--vault-key` needs.
 */
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { vaultMountOption } from './options.js';

interface CreateKeyFlags {
  vaultMount: string;
}

const EXAMPLES = `
Example:
  # once per team or application, by someone allowed to update and read transit/keys/<name>
  seal vault create-key team-db
  seal --vault-key team-db < secret.yaml > sealed.yaml
`;

/** Registers `seal vault` and its subcommands. */
export function registerVault(program: Command): void {
  const vault = program.command('vault').description('set up Vault transit for sealing with --vault-key');
  vault
    .command('create-key')
    .description('create a transit key for sealing: aes256-gcm96 with key derivation, so each value is bound to where it may be opened')
    .argument('<name>', 'the key name, as --vault-key takes it')
    .addOption(vaultMountOption())
    .addHelpText('after', EXAMPLES)
    .action(async (name: string, flags: CreateKeyFlags) => {
      const { createVaultKey } = await import('../lib/vault-keys.js');
      const line = await createVaultKey({ mount: flags.vaultMount, key: name, env: process.env, home: homedir() });
      process.stderr.write(`${line}\n`);
    });
}
