/**
 * Secret ⇄ SealedSecret with Vault transit instead of the cluster key: the same SealedSecret shape (scope,
 * template) with `spec.vault: {mount, key}` and Vault ciphertexts (`vault:vN:…`) as values. Each value is
 * bound by the derived key's context to `<scope>:<label>/<key>` (`vaultContext`), as the cluster key binds it
 * with the OAEP label, so a value moved to another name, namespace, scope or key does not open. One batch
 * request per SealedSecret in each direction. Error text names the SealedSecret and key, never a value.
 */
import type { Scope } from '../crypto/scope.js';
import { StalledError, TransientError } from '../errors.js';
import type { SealedSecret, SealedSecretApi } from '../manifest/sealed-secret.js';
import type { PlainSecret } from '../manifest/secret.js';
import { BatchItemError, vaultContext, type VaultTransit } from '../vault/transit.js';
import { sealedSecretFor, sealTarget } from './seal-secret.js';
import { sealedSecretRef, secretObject, type SecretObject } from './unseal-secret.js';

/** Options for sealing a Secret with Vault transit. */
export interface VaultSealOptions {
  transit: VaultTransit;
  mount: string;
  key: string;
  scope: Scope;
  api: SealedSecretApi;
  /** Used when the Secret names no namespace. */
  defaultNamespace: string;
}

/**
 * Seals a validated Secret with Vault transit: one encrypt batch for all its values (keys sorted); a
 * SealedSecret with spec.vault {mount, key}, scope as for cluster keys, template as sealSecret makes it.
 * Reads the key first (once per client and key: derivation is fixed at creation) and refuses one without
 * derivation, since Vault then ignores the context and the values would open anywhere.
 * @throws StalledError('InvalidArgument') for api 'bitnami'; StalledError('VaultKeyNotDerived');
 *   StalledError('InvalidManifest') without a namespace; the VaultTransit errors (VaultDenied says when the
 *   key cannot be read).
 */
export async function sealSecretWithVault(secret: PlainSecret, options: VaultSealOptions): Promise<SealedSecret> {
  const { transit, mount, key } = options;
  if (options.api === 'bitnami') {
    throw new StalledError('InvalidArgument', 'bitnami.com SealedSecrets cannot carry Vault values; use --api sigil');
  }
  const target = sealTarget(secret, options.scope, options.defaultNamespace);
  await checkDerived(transit, mount, key);
  const names = [...secret.data.keys()].sort();
  const ciphertexts = await transit.encrypt(
    mount,
    key,
    names.map((name) => ({ plaintext: secret.data.get(name)!, context: vaultContext(target.scope, target.namespace, target.name, name) })),
  );
  const encryptedData = new Map(names.map((name, index) => [name, ciphertexts[index]!]));
  return { ...sealedSecretFor(secret, target, options.api, encryptedData), vault: { mount, key } };
}

/**
 * Opens a Vault SealedSecret (ss.vault set) with one decrypt batch; returns the Secret as unsealSecret does.
 * @throws StalledError('NotVaultSealed') for a cluster-key object; StalledError('DecryptFailed') naming the
 *   SealedSecret and the key (and "moved or altered" when the context does not match); the VaultTransit
 *   errors (VaultUnavailable, VaultDenied).
 */
export async function unsealWithVault(ss: SealedSecret, transit: VaultTransit): Promise<SecretObject> {
  const { vault, names, items } = vaultItems(ss);
  const plaintexts = await withKeyNames(ss, names, transit.decrypt(vault.mount, vault.key, items));
  return secretObject(
    ss,
    names.map((name, index) => [name, plaintexts[index]!.toString('base64')]),
  );
}

/**
 * Rewraps every value of a Vault SealedSecret to the key's newest version (one batch; the plaintext stays in
 * Vault); returns the new encryptedData map (same keys, same order).
 * @throws as unsealWithVault, with reason RewrapFailed for a value Vault cannot open.
 */
export async function rewrapSealedSecret(ss: SealedSecret, transit: VaultTransit): Promise<Map<string, string>> {
  const { vault, names, items } = vaultItems(ss);
  const ciphertexts = await withKeyNames(ss, names, transit.rewrap(vault.mount, vault.key, items));
  return new Map(names.map((name, index) => [name, ciphertexts[index]!]));
}

/** Keys already read and found derived, per client. */
const derivedKeys = new WeakMap<VaultTransit, Set<string>>();

async function checkDerived(transit: VaultTransit, mount: string, key: string): Promise<void> {
  const id = `${mount}\n${key}`;
  const known = derivedKeys.get(transit) ?? new Set<string>();
  if (known.has(id)) return;
  let derived: boolean;
  try {
    derived = (await transit.readKey(mount, key)).derived;
  } catch (err) {
    // Only a refusal of the keys path itself: a failed login (bad token, wrong secret ID) needs no policy hint.
    if (err instanceof TransientError && err.reason === 'VaultDenied' && err.message.includes(` ${mount}/keys/${key}:`)) {
      throw new TransientError(
        'VaultDenied',
        `${err.message} (sealing reads the key's settings to check that it is derived: grant read on ${mount}/keys/${key} besides update on ${mount}/encrypt/${key})`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!derived) {
    throw new StalledError(
      'VaultKeyNotDerived',
      `Vault transit key ${mount}/${key} is not derived: Vault would ignore the context binding each value to its Secret's name, namespace and key. ` +
        `Derivation is fixed when a key is created; create a new key with \`seal vault create-key NAME\` ` +
        `(or \`vault write -f ${mount}/keys/NAME derived=true type=aes256-gcm96\`)`,
    );
  }
  known.add(id);
  derivedKeys.set(transit, known);
}

const CIPHERTEXT = /^vault:v\d+:[A-Za-z0-9+/]+={0,2}$/;

/** The batch for `ss`: each value with its context, in encryptedData order. */
function vaultItems(ss: SealedSecret): {
  vault: { mount: string; key: string };
  names: string[];
  items: { ciphertext: string; context: string }[];
} {
  const ref = sealedSecretRef(ss);
  if (!ss.vault) throw new StalledError('NotVaultSealed', `SealedSecret ${ref} is sealed with a cluster key, not Vault transit`);
  const names = [...ss.encryptedData.keys()];
  const items = names.map((name) => {
    // YAML folding may have added whitespace; Vault's ciphertexts hold none.
    const ciphertext = ss.encryptedData.get(name)!.replace(/\s+/g, '');
    if (!CIPHERTEXT.test(ciphertext)) {
      throw new StalledError('DecryptFailed', `SealedSecret ${ref}: key ${name}: not a Vault transit ciphertext (vault:v<N>:<base64>)`);
    }
    return { ciphertext, context: vaultContext(ss.scope, ss.namespace ?? '', ss.name, name) };
  });
  return { vault: ss.vault, names, items };
}

/** Awaits a batch call, turning the failed item's index into the SealedSecret's key name. */
async function withKeyNames<T>(ss: SealedSecret, names: readonly string[], call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (!(err instanceof BatchItemError)) throw err;
    const name = names[err.index] ?? `#${err.index}`;
    const moved = /message authentication failed/.test(err.detail)
      ? 'moved or altered: it opens only as the key of the SealedSecret it was sealed for (same name, namespace, scope and key); '
      : '';
    const key = `${ss.vault!.mount}/${ss.vault!.key}`;
    throw new StalledError(err.reason, `SealedSecret ${sealedSecretRef(ss)}: key ${name}: ${moved}Vault transit key ${key} refused it: ${err.detail} (${err.at})`, {
      cause: err,
    });
  }
}
