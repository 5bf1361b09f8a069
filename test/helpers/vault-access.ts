/**
 * Least-privilege Vault access for tests, made with the dev server's root token: a policy per command, a
 * token holding only that policy (and Vault's `default`), and AppRole logins.
 */
import { startVault, type Vault } from '../env/vault.js';
import { tempDir } from './run-seal.js';

/** The policy text each `seal` command needs for transit key `key` (mount `transit`), as the README lists it. */
export const POLICIES = {
  /** `seal --vault-key`: encrypt, and read the key's settings (it must be derived). */
  seal: (key: string): string => `path "transit/encrypt/${key}" { capabilities = ["update"] }\npath "transit/keys/${key}" { capabilities = ["read"] }\n`,
  /** Encrypt alone: sealing is refused, as it cannot check that the key is derived. */
  encryptOnly: (key: string): string => `path "transit/encrypt/${key}" { capabilities = ["update"] }\n`,
  /** `seal unseal --vault`. */
  unseal: (key: string): string => `path "transit/decrypt/${key}" { capabilities = ["update"] }\n`,
  /** `seal rewrap`. */
  rewrap: (key: string): string => `path "transit/rewrap/${key}" { capabilities = ["update"] }\n`,
  /** `seal vault create-key`: POST on the key path is `update` in Vault's terms (transit has no existence check), `read` to tell an existing key. */
  createKey: (key: string): string => `path "transit/keys/${key}" { capabilities = ["update", "read"] }\n`,
} as const;

/** A token with only `policy` (named `name`) besides `default`. */
export async function tokenWith(vault: Vault, name: string, policy: string): Promise<string> {
  await vault.request('PUT', `sys/policies/acl/${name}`, { policy });
  const answer = (await vault.request('POST', 'auth/token/create', { policies: [name], ttl: '1h' })) as { auth: { client_token: string } };
  return answer.auth.client_token;
}

/** Enables AppRole (once) and makes role `role` with `policy`; returns its role ID and a fresh secret ID. */
export async function appRoleWith(vault: Vault, role: string, policy: string): Promise<{ roleId: string; secretId: string }> {
  const auths = (await vault.request('GET', 'sys/auth')) as { data?: Record<string, unknown> } & Record<string, unknown>;
  if (!('approle/' in (auths.data ?? auths))) await vault.request('POST', 'sys/auth/approle', { type: 'approle' });
  await vault.request('PUT', `sys/policies/acl/${role}`, { policy });
  await vault.request('POST', `auth/approle/role/${role}`, { token_policies: [role], token_ttl: '10m' });
  const roleId = (await vault.request('GET', `auth/approle/role/${role}/role-id`)) as { data: { role_id: string } };
  const secretId = (await vault.request('POST', `auth/approle/role/${role}/secret-id`, {})) as { data: { secret_id: string } };
  return { roleId: roleId.data.role_id, secretId: secretId.data.secret_id };
}

/** A Vault dev server with transit keys `app` (derived, as `seal vault create-key` makes) and `plain` (not derived). */
export async function startVaultWithKeys(): Promise<Vault> {
  const vault = await startVault({ dir: tempDir('sigil-vault-') });
  await vault.request('POST', 'transit/keys/app', { type: 'aes256-gcm96', derived: true });
  await vault.request('POST', 'transit/keys/plain', {});
  return vault;
}
