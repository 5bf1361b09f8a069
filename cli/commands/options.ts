/**
 * Option parsers shared by several commands, so each flag means the same everywhere.
 */
import { InvalidArgumentError, Option } from 'commander';
import { isScope, SCOPES, type Scope } from '../../shared/crypto/scope.js';
import type { ManifestFormat } from '../../shared/manifest/parse.js';
import { DEFAULT_CONTROLLER_NAMESPACE } from '../../shared/names.js';

/** `--scope`: one of strict, namespace-wide, cluster-wide. */
export function parseScope(value: string): Scope {
  if (!isScope(value)) throw new InvalidArgumentError(`use one of ${SCOPES.join(', ')}`);
  return value;
}

/** `-o`: yaml or json. */
export function parseFormat(value: string): ManifestFormat {
  if (value !== 'yaml' && value !== 'json') throw new InvalidArgumentError('use yaml or json');
  return value;
}

/** `--key A,B`, repeatable: a list of files. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

/** A whole number option. */
export function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('give a whole number');
  return Number(value);
}

/** `--controller-namespace`: where `seal` finds the controller's published certificate. */
export function controllerNamespaceOption(): Option {
  return new Option('--controller-namespace <ns>', 'namespace of sigil-controller, whose certificate is used when no --cert is given')
    .env('SEAL_CONTROLLER_NAMESPACE')
    .default(DEFAULT_CONTROLLER_NAMESPACE);
}

/** `--vault-mount`: where Vault's transit engine is mounted, without the slashes users may write around it. */
export function vaultMountOption(): Option {
  return new Option('--vault-mount <path>', 'where the Vault transit engine is mounted')
    .argParser((value: string) => value.replace(/^\/+|\/+$/g, ''))
    .default('transit');
}
