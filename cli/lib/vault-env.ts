/**
 * How `seal` reaches Vault: the environment Vault's own CLI reads, so a `vault login` on the same machine
 * is enough. Tokens only travel into the VaultTransit options; they are never printed, logged or put in an
 * error message.
 *
 * | variable                     | meaning                                                               |
 * |------------------------------|-----------------------------------------------------------------------|
 * | `VAULT_ADDR`                 | the Vault address (required)                                          |
 * | `VAULT_TOKEN`                | a token; else AppRole when `VAULT_ROLE_ID` is set; else `~/.vault-token` |
 * | `VAULT_ROLE_ID`, `VAULT_SECRET_ID`, `VAULT_APPROLE_MOUNT` | AppRole login (mount default `approle`)  |
 * | `VAULT_NAMESPACE`            | Vault Enterprise namespace                                            |
 * | `VAULT_CACERT`               | CA certificate file (PEM) of an https Vault                           |
 * | `VAULT_SKIP_VERIFY`          | `true`/`1`: do not verify the server's certificate                    |
 * | `SEAL_VAULT_ADDR_ALLOWLIST`  | comma-separated origins `VAULT_ADDR` must be one of                   |
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StalledError, UsageError } from '../../shared/errors.js';
import { VaultTransit, type VaultAuth, type VaultOptions } from '../../shared/vault/transit.js';
import { osReason } from './io.js';

/** Where `seal` reads its Vault settings: the environment and the home folder (for `~/.vault-token`). */
export interface VaultSource {
  env: NodeJS.ProcessEnv;
  home: string;
}

/** A Vault transit key: the mount of the transit engine and the key's name. */
export interface VaultKeyRef {
  mount: string;
  key: string;
}

/** A VaultTransit client for `source`; throws like vaultFromEnv. */
export function connectVault(source: VaultSource): VaultTransit {
  return new VaultTransit(vaultFromEnv(source.env, source.home));
}

/**
 * The Vault options of `env` (see the table above). The allowlist is checked first, before any credential
 * is read, so a wrong VAULT_ADDR never receives a token.
 * @throws UsageError when VAULT_ADDR is not set; StalledError('VaultAddrNotAllowed') when it is not in
 *   SEAL_VAULT_ADDR_ALLOWLIST; StalledError('VaultConfig') for a malformed setting, no credentials at all,
 *   or an unreadable token or CA file.
 */
export function vaultFromEnv(env: NodeJS.ProcessEnv, home: string): VaultOptions {
  const addr = env.VAULT_ADDR?.trim();
  if (!addr) {
    throw new UsageError('VAULT_ADDR is not set: export the address of your Vault, e.g. VAULT_ADDR=https://vault.example.com:8200');
  }
  const origin = httpOrigin(addr);
  if (origin === undefined) throw new StalledError('VaultConfig', 'VAULT_ADDR is not an http(s) URL');
  checkAllowlist(origin, env.SEAL_VAULT_ADDR_ALLOWLIST);
  const namespace = env.VAULT_NAMESPACE?.trim();
  const caCertFile = env.VAULT_CACERT?.trim();
  return {
    addr: addr.replace(/\/+$/, ''),
    auth: authFromEnv(env, home),
    ...(namespace ? { namespace } : {}),
    ...(caCertFile ? { caCert: readCaCert(caCertFile) } : {}),
    ...(skipVerify(env.VAULT_SKIP_VERIFY) ? { skipVerify: true } : {}),
  };
}

/** `https://host:port` of an http(s) URL, without credentials or path; undefined for anything else. */
function httpOrigin(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

function checkAllowlist(origin: string, allowlist: string | undefined): void {
  if (allowlist === undefined || allowlist.trim() === '') return;
  const allowed = allowlist
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const o = httpOrigin(entry);
      if (o === undefined) {
        throw new StalledError('VaultConfig', `SEAL_VAULT_ADDR_ALLOWLIST: ${entry} is not an origin like https://vault.example.com:8200`);
      }
      return o;
    });
  if (!allowed.includes(origin)) {
    throw new StalledError('VaultAddrNotAllowed', `VAULT_ADDR ${origin} is not in SEAL_VAULT_ADDR_ALLOWLIST; refusing to send a token there`);
  }
}

/** VAULT_TOKEN, else AppRole (explicit settings win over a token file left by an old `vault login`), else ~/.vault-token. */
function authFromEnv(env: NodeJS.ProcessEnv, home: string): VaultAuth {
  const token = env.VAULT_TOKEN?.trim();
  if (token) return { method: 'token', token };
  const roleId = env.VAULT_ROLE_ID?.trim();
  const secretId = env.VAULT_SECRET_ID?.trim();
  if (roleId || secretId) {
    if (!roleId || !secretId) throw new StalledError('VaultConfig', 'AppRole login needs both VAULT_ROLE_ID and VAULT_SECRET_ID');
    const mount = env.VAULT_APPROLE_MOUNT?.trim();
    return { method: 'approle', roleId, secretId, ...(mount ? { mount } : {}) };
  }
  const tokenFile = join(home, '.vault-token');
  let fileToken: string;
  try {
    fileToken = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StalledError('VaultConfig', 'no Vault credentials: set VAULT_TOKEN, run vault login (~/.vault-token), or set VAULT_ROLE_ID and VAULT_SECRET_ID');
    }
    throw new StalledError('VaultConfig', `cannot read ${tokenFile}: ${osReason(err)}`);
  }
  if (!fileToken) throw new StalledError('VaultConfig', `${tokenFile} is empty; run vault login or set VAULT_TOKEN`);
  return { method: 'token', token: fileToken };
}

function readCaCert(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StalledError('VaultConfig', `cannot read VAULT_CACERT ${path}: ${osReason(err)}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new StalledError('VaultConfig', `VAULT_CACERT ${path} holds no PEM certificate`);
  return text;
}

/** As the Vault CLI reads it: true/1 skip verification, false/0/empty do not; anything else is a mistake. */
function skipVerify(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase() ?? '';
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new StalledError('VaultConfig', `VAULT_SKIP_VERIFY must be true, 1, false or 0, not ${value}`);
}
