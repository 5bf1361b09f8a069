/**
 * `seal vault create-key`: the transit key `seal --vault-key` seals with. It must be derived (each value's
 * context, `<scope>:<label>/<key>`, yields its own key, so a value copied into another SealedSecret does
 * not open there); aes256-gcm96 is Vault's default type.
 */
import { StalledError } from '../../shared/errors.js';
import { connectVault, type VaultKeyRef, type VaultSource } from './vault-env.js';

/**
 * Creates the derived aes256-gcm96 key unless it exists, and returns the line that says what happened.
 * An existing key is never changed: fine when derived, StalledError('VaultKeyNotDerived') when not.
 * Throws the VaultTransit errors (VaultUnavailable, VaultDenied, VaultKeyExists) and vaultFromEnv's.
 */
export async function createVaultKey(options: VaultKeyRef & VaultSource): Promise<string> {
  const transit = connectVault(options);
  const { mount, key } = options;
  const existing = await transit.readKey(mount, key).catch((err: unknown) => {
    if (err instanceof StalledError && err.reason === 'VaultKeyNotFound') return undefined;
    throw err;
  });
  if (existing === undefined) {
    await transit.createKey(mount, key);
    return `created Vault transit key ${mount}/${key} (aes256-gcm96, derived)`;
  }
  if (!existing.derived) {
    throw new StalledError(
      'VaultKeyNotDerived',
      `Vault transit key ${mount}/${key} exists without key derivation; derivation is fixed when a key is created, so choose another name`,
    );
  }
  return `Vault transit key ${mount}/${key} exists already (${existing.type}, derived, version ${existing.latestVersion}); nothing changed`;
}
