/**
 * `seal rewrap`: moves Vault-sealed values to the transit key's newest version, in place.
 */
import { homedir } from 'node:os';
import type { Command } from 'commander';

const EXAMPLES = `
Example:
  # after rotating the transit key (vault write -f transit/keys/team-db/rotate)
  seal rewrap deploy/
  git diff    # only the ciphertext lines changed, vault:v1:… → vault:v2:…

Needs VAULT_ADDR and a token (VAULT_TOKEN, vault login, or VAULT_ROLE_ID + VAULT_SECRET_ID) allowed to
update transit/rewrap/<key>; the plaintext never leaves Vault.
`;

/** Registers `seal rewrap`. */
export function registerRewrap(program: Command): void {
  program
    .command('rewrap')
    .description("rewrap the Vault-sealed values of sealed files (or folder trees) to the transit key's newest version, in place")
    .argument('<paths...>', 'sealed files or folders')
    .addHelpText('after', EXAMPLES)
    .action(async (paths: string[]) => {
      const { rewrapFiles } = await import('../lib/rewrap.js');
      const summaries = await rewrapFiles({ paths, vault: { env: process.env, home: homedir() } });
      if (summaries.length === 0) process.stderr.write('no Vault SealedSecrets found\n');
      for (const s of summaries) {
        const objects = `${s.sealedSecrets} SealedSecret${s.sealedSecrets === 1 ? '' : 's'}`;
        process.stderr.write(`${s.file}: rewrapped ${s.rewrapped} of ${s.values} values in ${objects}\n`);
      }
    });
}
