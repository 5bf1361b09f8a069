/**
 * The controller's Vault: one VaultTransit for every SealedSecret (so 1,000 objects share one login), its
 * login built from the flags. Tokens and role secrets are read from files or the environment, never logged.
 */
import { readFileSync } from 'node:fs';
import { StalledError } from '../../shared/errors.js';
import type { SealedSecret } from '../../shared/manifest/sealed-secret.js';
import { unsealWithVault } from '../../shared/sealing/vault-sealing.js';
import type { SecretObject } from '../../shared/sealing/unseal-secret.js';
import { VaultTransit, type VaultAuth } from '../../shared/vault/transit.js';
import type { VaultConfig } from '../config.js';

/** Opens Vault SealedSecrets, and says how many logins and requests it made. */
export interface VaultOpener {
  unseal(ss: SealedSecret): Promise<SecretObject>;
  stats(): { logins: number; requests: number };
}

/** The opener for `config`. Throws StalledError('VaultConfig') when a needed credential is missing. */
export function vaultOpener(config: VaultConfig, env: NodeJS.ProcessEnv = process.env): VaultOpener {
  const file = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new StalledError('VaultConfig', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  let auth: VaultAuth;
  if (config.auth === 'token') {
    const token = config.tokenFile ? file(config.tokenFile, '--vault-token-file') : env.VAULT_TOKEN;
    if (!token) throw new StalledError('VaultConfig', '--vault-auth token needs VAULT_TOKEN or --vault-token-file');
    auth = { method: 'token', token };
  } else if (config.auth === 'approle') {
    const roleId = env.VAULT_ROLE_ID;
    const secretId = env.VAULT_SECRET_ID;
    if (!roleId || !secretId) throw new StalledError('VaultConfig', '--vault-auth approle needs VAULT_ROLE_ID and VAULT_SECRET_ID');
    auth = { method: 'approle', roleId, secretId, ...(config.authMount ? { mount: config.authMount } : {}) };
  } else {
    if (!config.role) throw new StalledError('VaultConfig', '--vault-auth kubernetes needs --vault-role');
    file(config.jwtFile, '--vault-jwt-file');
    auth = { method: 'kubernetes', role: config.role, jwt: () => file(config.jwtFile, '--vault-jwt-file'), ...(config.authMount ? { mount: config.authMount } : {}) };
  }
  const transit = new VaultTransit({
    addr: config.addr,
    auth,
    ...(config.namespace ? { namespace: config.namespace } : {}),
    ...(config.caCert ? { caCert: file(config.caCert, '--vault-cacert') } : {}),
  });
  return { unseal: (ss) => unsealWithVault(ss, transit), stats: () => transit.stats() };
}
