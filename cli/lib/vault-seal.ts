/**
 * `seal --vault-key`: the Vault transit half of sealing, loaded only when that flag is given so the
 * certificate path never imports Vault code. Values are bound to `<scope>:<label>/<key>` by the derived
 * key's context; the files carry the mount and key name, never Vault's address.
 */
import type { Scope } from '../../shared/crypto/scope.js';
import { StalledError } from '../../shared/errors.js';
import type { SealedSecret, SealedSecretApi } from '../../shared/manifest/sealed-secret.js';
import type { PlainSecret } from '../../shared/manifest/secret.js';
import { sealSecretWithVault } from '../../shared/sealing/vault-sealing.js';
import { sealedSecretRef } from '../../shared/sealing/unseal-secret.js';
import { connectVault, type VaultKeyRef, type VaultSource } from './vault-env.js';

/** `--vault-key`/`--vault-mount` and where the Vault settings come from. */
export type VaultSealing = VaultKeyRef & VaultSource;

/**
 * Seals each Secret with the transit key, one after the other, through one client (one login).
 * Throws StalledError('VaultKeyNotDerived') for a key without derivation, the VaultTransit errors
 * (VaultUnavailable, VaultDenied) and vaultFromEnv's.
 */
export async function sealSecretsWithVault(
  secrets: readonly PlainSecret[],
  options: { vault: VaultSealing; scope: Scope; api: SealedSecretApi },
): Promise<SealedSecret[]> {
  const { vault } = options;
  const transit = connectVault(vault);
  const sealed: SealedSecret[] = [];
  for (const secret of secrets) {
    sealed.push(
      await sealSecretWithVault(secret, { transit, mount: vault.mount, key: vault.key, scope: options.scope, api: options.api, defaultNamespace: 'default' }),
    );
  }
  return sealed;
}

/**
 * The input's values sealed for the Vault SealedSecret `target` of `file` (its name, namespace and scope),
 * to merge into it. Throws StalledError('InvalidManifest') when the target is sealed with the cluster
 * certificate or with another transit key: one SealedSecret never mixes the two.
 */
export async function sealMergeWithVault(secret: PlainSecret, target: SealedSecret, file: string, vault: VaultSealing): Promise<Map<string, string>> {
  const ref = sealedSecretRef(target);
  if (!target.vault) {
    throw new StalledError('InvalidManifest', `${file}: SealedSecret ${ref} is sealed with the cluster certificate; merge with --cert, not --vault-key`);
  }
  if (target.vault.mount !== vault.mount || target.vault.key !== vault.key) {
    throw new StalledError(
      'InvalidManifest',
      `${file}: SealedSecret ${ref} is sealed with Vault key ${target.vault.mount}/${target.vault.key}, not ${vault.mount}/${vault.key}`,
    );
  }
  const asTarget: PlainSecret = { ...secret, name: target.name, namespace: target.namespace ?? '' };
  const [sealed] = await sealSecretsWithVault([asTarget], { vault, scope: target.scope, api: 'sigil' });
  return sealed!.encryptedData;
}
