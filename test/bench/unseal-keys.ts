/**
 * What opening a SealedSecret costs as sealing keys pile up: a KeyRing of 1, 10 and 120 keys (120 = ten
 * years of monthly rotation), a 5-value SealedSecret sealed for the OLDEST key, `ring.unseal()` timed
 * in-process, median of many runs:
 *
 * - hinted: with the name of the key that opened the object last time, as the controller remembers it;
 * - unhinted: the first time the controller sees the object (or after it restarts: the hints live in
 *   memory), when the ring searches newest first and so tries every key before the oldest.
 *
 * Keys are RSA-2048, not the controller's default 4096: 120 4096-bit keys take minutes to generate. The
 * ratio between key counts is what the target is about, and it does not depend on the key size. The keys
 * are generated once and cached under `os.tmpdir()/sigil-bench-keys` for later runs.
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing, type SealingKey } from '../../controller/keys/key-ring.js';
import { parseCertificate } from '../../shared/crypto/certificate.js';
import { generateSealingKey } from '../../shared/crypto/generate-key.js';
import type { SealedSecret } from '../../shared/manifest/sealed-secret.js';
import { sealSecret } from '../../shared/sealing/seal-secret.js';
import { median } from './measure.js';

const KEY_COUNTS = [1, 10, 120] as const;
const BITS = 2048;
const CACHE = join(tmpdir(), 'sigil-bench-keys');
/** The oldest key's notBefore; key i is i months younger. Fixed, so cached keys keep their order. */
const FIRST_MONTH = Date.UTC(2016, 0, 1);
/** Hinted unseals per key count (median taken); BENCH_UNSEAL_RUNS overrides. Unhinted get a fifth. */
const RUNS = Number(process.env.BENCH_UNSEAL_RUNS ?? 201);

/** Key `i` (0 = oldest) from the cache, generated and cached when missing. */
async function cachedKey(i: number): Promise<SealingKey> {
  const file = join(CACHE, `key-${BITS}-${String(i).padStart(3, '0')}.json`);
  if (!existsSync(file)) {
    const notBefore = new Date(FIRST_MONTH);
    notBefore.setUTCMonth(notBefore.getUTCMonth() + i);
    const generated = await generateSealingKey(BITS, notBefore);
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(generated), { mode: 0o600 });
    renameSync(`${file}.tmp`, file); // a run killed mid-write leaves no half file
  }
  const { keyPem, certPem } = JSON.parse(readFileSync(file, 'utf8')) as { keyPem: string; certPem: string };
  return {
    name: `sigil-sealing-key-${String(i).padStart(3, '0')}`,
    namespace: 'sigil-system',
    privateKey: createPrivateKey(keyPem),
    cert: parseCertificate(certPem),
    source: 'sigil',
    compromised: false,
  };
}

/** A 5-value SealedSecret sealed for `key`. */
function sealedFor(key: SealingKey): SealedSecret {
  const data = new Map(Array.from({ length: 5 }, (_, i) => [`key${i}`, Buffer.from(`value-${i}-`.padEnd(32, 'x'))] as const));
  return sealSecret(
    { name: 'db', namespace: 'bench', labels: {}, annotations: {}, type: 'Opaque', data, where: 'bench' },
    { publicKey: key.cert.publicKey, scope: 'strict', api: 'sigil', defaultNamespace: 'bench' },
  );
}

function timeMs(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Measures and returns table rows: what, Sigil, reference, target. */
export async function benchUnsealKeys(): Promise<string[][]> {
  const keys: SealingKey[] = [];
  for (let i = 0; i < Math.max(...KEY_COUNTS); i++) keys.push(await cachedKey(i));
  const oldest = keys[0]!;
  const ss = sealedFor(oldest);
  const rings = KEY_COUNTS.map((n) => {
    const ring = new KeyRing();
    for (const key of keys.slice(0, n)) ring.upsert(key);
    if (ring.unseal(ss, oldest.name).keyName !== oldest.name) throw new Error(`the ring of ${n} keys did not open the value with the oldest key`);
    return ring;
  });

  // Interleaved rounds, so that drift on a shared machine hits every key count alike.
  const hinted: number[][] = rings.map(() => []);
  const unhinted: number[][] = rings.map(() => []);
  const unhintedRuns = Math.max(5, Math.round(RUNS / 5));
  for (let round = 0; round < RUNS; round++) {
    rings.forEach((ring, k) => hinted[k]!.push(timeMs(() => ring.unseal(ss, oldest.name))));
    if (round < unhintedRuns) rings.forEach((ring, k) => unhinted[k]!.push(timeMs(() => ring.unseal(ss))));
  }
  const h = hinted.map(median);
  const u = unhinted.map(median);
  const base = h[0]!;
  const fmt = (ms: number): string => `${ms.toFixed(2)} ms (×${(ms / base).toFixed(2)})`;
  const what = `unseal of a 5-value SealedSecret sealed for the oldest of N RSA-${BITS} keys, in-process`;
  return [
    [`${what}, hinted (the key the controller remembers), median of ${RUNS}`, `120 keys: ${fmt(h[2]!)}; 10 keys: ${fmt(h[1]!)}`, `1 key: ${base.toFixed(2)} ms`, '≤ 1.2× the 1-key time'],
    [`${what}, unhinted (first sight, or after a restart), median of ${unhintedRuns}`, `120 keys: ${fmt(u[2]!)}; 10 keys: ${fmt(u[1]!)}`, `1 key: ${u[0]!.toFixed(2)} ms (×${(u[0]! / base).toFixed(2)})`, '— (once per object per controller start)'],
  ];
}
