/**
 * The sealing keys the controller holds, and opening SealedSecrets with them. Pure: no I/O.
 *
 * Cost: each RSA private-key operation is ~1 ms for 2048 bits and ~5 ms for 4096, while the AES part is
 * microseconds, so what matters is how many keys are tried. The ring tries the hinted key first (the one that
 * opened the object last time), then the newest, then the rest newest-first, and only for the first value:
 * the key that opened it is tried first for every later value. With the right hint that is one RSA operation
 * per value whatever the number of keys; a full search per value happens only when values were sealed with
 * different keys.
 */
import type { KeyObject } from 'node:crypto';
import type { SealingCert } from '../../shared/crypto/certificate.js';
import { openBody, openSessionKey, splitValue } from '../../shared/crypto/hybrid.js';
import { scopeLabel } from '../../shared/crypto/scope.js';
import type { SealedSecret } from '../../shared/manifest/sealed-secret.js';
import { unsealSecret, type SecretObject } from '../../shared/sealing/unseal-secret.js';
import type { KeySource } from './key-names.js';

/** One key Secret, parsed. */
export interface SealingKey {
  /** The Secret's name; names the key in the ring, in logs and in hints. */
  name: string;
  namespace: string;
  privateKey: KeyObject;
  cert: SealingCert;
  source: KeySource;
  /** Labelled `compromised`: never used to open a value again, never published. */
  compromised: boolean;
}

/** Recovers a value's session key with one private key (shared/crypto/hybrid.ts); replaced in tests to count. */
export type SessionKeyOpener = typeof openSessionKey;

/** A SealedSecret opened: the Secret, the key that opened its first value, and the key of every value. */
export interface RingUnsealed {
  secret: SecretObject;
  /** The key that opened the first value ('' when there are no values): the hint for next time. */
  keyName: string;
  /** Data key → name of the key that opened that value. */
  keyNames: Map<string, string>;
}

const SOURCE_RANK: Record<KeySource, number> = { sigil: 0, bitnami: 1 };

/** Newest certificate first; Sigil's key before an adopted one on a tie; then by name, for a stable order. */
function newestFirst(a: SealingKey, b: SealingKey): number {
  const byTime = b.cert.notBefore.getTime() - a.cert.notBefore.getTime();
  if (byTime !== 0) return byTime;
  const bySource = SOURCE_RANK[a.source] - SOURCE_RANK[b.source];
  if (bySource !== 0) return bySource;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The keys the controller holds, by Secret name, and the order they are tried in. */
export class KeyRing {
  private readonly keys = new Map<string, SealingKey>();
  /** Usable keys newest first; undefined after a change, rebuilt on demand. */
  private order: SealingKey[] | undefined;
  private readonly open: SessionKeyOpener;

  /** `openSessionKey` defaults to shared/crypto's; tests pass a wrapper that counts RSA operations. */
  constructor(options: { openSessionKey?: SessionKeyOpener } = {}) {
    this.open = options.openSessionKey ?? openSessionKey;
  }

  /** Adds the key, or replaces the one of the same name (a relabelled or restored Secret). */
  upsert(key: SealingKey): void {
    this.keys.set(key.name, key);
    this.order = undefined;
  }

  /** Forgets the key named `name`; false when there was none. */
  remove(name: string): boolean {
    const removed = this.keys.delete(name);
    if (removed) this.order = undefined;
    return removed;
  }

  /** The key named `name`, compromised or not. */
  get(name: string): SealingKey | undefined {
    return this.keys.get(name);
  }

  /** How many keys the ring holds, compromised ones included. */
  size(): number {
    return this.keys.size;
  }

  /** The key new values are sealed for: the latest notBefore among the keys not compromised. */
  newest(): SealingKey | undefined {
    return this.sorted()[0];
  }

  /** The keys not compromised, newest first. */
  usable(): SealingKey[] {
    return [...this.sorted()];
  }

  /**
   * Opens every value of a cluster-key SealedSecret: the hinted key first (when it is usable), then newest
   * first, and each later value with the key that opened the previous one before any other.
   * Throws what unsealSecret throws, with the same text: StalledError `DecryptFailed` naming the SealedSecret,
   * the data key and why (not base64, truncated, no key opens it, altered), StalledError `VaultSealed`.
   */
  unseal(ss: SealedSecret, hint?: string): RingUnsealed {
    // The Secret around the values (and the refusal of a Vault-sealed object) come from unsealSecret itself:
    // given no values, it tries no key.
    const shape = unsealSecret({ ...ss, encryptedData: new Map() }, []).secret;
    const order = this.tryOrder(hint);
    const label = scopeLabel(ss.scope, ss.namespace ?? '', ss.name);
    const data: [string, string][] = [];
    const keyNames = new Map<string, string>();
    let previous: SealingKey | undefined;
    for (const [dataKey, value] of ss.encryptedData) {
      const opened = this.openValue(value, label, order, previous) ?? searchOrFail(ss, dataKey, value, order);
      previous = opened.key;
      data.push([dataKey, opened.plaintext.toString('base64')]);
      keyNames.set(dataKey, opened.key.name);
    }
    const first = keyNames.values().next();
    return { secret: { ...shape, data: Object.fromEntries(data) }, keyName: first.done ? '' : first.value, keyNames };
  }

  private sorted(): SealingKey[] {
    this.order ??= [...this.keys.values()].filter((k) => !k.compromised).sort(newestFirst);
    return this.order;
  }

  /** Usable keys in the order to try them: the hinted one first, then newest first. */
  private tryOrder(hint: string | undefined): SealingKey[] {
    const sorted = this.sorted();
    const hinted = hint === undefined ? undefined : this.keys.get(hint);
    if (!hinted || hinted.compromised || hinted === sorted[0]) return sorted;
    return [hinted, ...sorted.filter((k) => k !== hinted)];
  }

  /** Opens one value trying `first`, then `order`; undefined when it does not open (the caller says why). */
  private openValue(
    value: string,
    label: Buffer,
    order: readonly SealingKey[],
    first: SealingKey | undefined,
  ): { plaintext: Buffer; key: SealingKey } | undefined {
    const bytes = decodeBase64(value);
    if (!bytes) return undefined;
    let parts: { rsaPart: Buffer; aesPart: Buffer };
    try {
      parts = splitValue(bytes);
    } catch {
      return undefined;
    }
    const candidates = first ? [first, ...order.filter((k) => k !== first)] : order;
    for (const key of candidates) {
      const sessionKey = this.open(key.privateKey, label, parts.rsaPart);
      if (!sessionKey) continue;
      try {
        return { plaintext: openBody(sessionKey, parts.aesPart), key };
      } catch {
        return undefined; // altered: as in hybridDecrypt, the first key that fits decides
      }
    }
    return undefined;
  }
}

/**
 * A value no key opened on the fast path: unsealSecret, given this one value, searches every key once more
 * and throws its DecryptFailed error, so the text is exactly the one `seal unseal` prints. Only the failure
 * path pays this second search.
 */
function searchOrFail(
  ss: SealedSecret,
  dataKey: string,
  value: string,
  order: readonly SealingKey[],
): { plaintext: Buffer; key: SealingKey } {
  const { secret, keyIndexes } = unsealSecret({ ...ss, encryptedData: new Map([[dataKey, value]]) }, order.map((k) => k.privateKey));
  // Reached only if unsealSecret opens what the fast path could not; take its answer.
  const [, base64] = Object.entries(secret.data)[0]!;
  return { plaintext: Buffer.from(base64, 'base64'), key: order[keyIndexes.get(dataKey)!]! };
}

/** unsealSecret's base64 rule (strict, whitespace tolerated), so both accept the same values. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(value: string): Buffer | undefined {
  const compact = value.replace(/\s+/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}
