#!/usr/bin/env node
/**
 * `seal`: builds the commander program and is the one place that turns an error into `error: …` on stderr
 * and an exit code (1 for a failure, 2 for a usage error).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { errorMessage, UsageError } from '../shared/errors.js';
import { registerCert } from './commands/cert.js';
import { registerKeygen } from './commands/keygen.js';
import { registerReencrypt } from './commands/reencrypt.js';
import { registerRewrap } from './commands/rewrap.js';
import { registerSeal } from './commands/seal.js';
import { registerUnseal } from './commands/unseal.js';
import { registerVault } from './commands/vault.js';

/** The `seal` program with every command registered. */
export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('seal')
    .description('Encrypt Kubernetes Secrets so they can be kept in Git; only the cluster (or your Vault) can open them.')
    .version(pkg.version)
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerSeal(program);
  registerUnseal(program);
  registerCert(program);
  registerKeygen(program);
  registerReencrypt(program);
  registerRewrap(program);
  registerVault(program);
  return program;
}

async function main(): Promise<void> {
  // A reader that stops early (`seal --help | head`, `seal unseal … | grep -q`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its own `error: …` (or the help/version text).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}

await main();
