/**
 * The sealing CLI's figures, each beside the reference measured in the same run on the same machine:
 *
 * - `seal --cert` on a 5-key Secret, whole process, median of RUNS runs; beside `kubeseal --cert` and `node -e 0`.
 * - sealing a 1,000-document file, whole process; beside kubeseal on the same file.
 *
 * kubeseal is the one the tests run (test/env/build.ts); `npm run testenv -- build kubeseal` builds it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from '../env/build.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SEAL = join(ROOT, 'dist/cli/main.js');
const CERT = join(ROOT, 'test/fixtures/keys/sealing-4096.crt');
/** Runs per measurement (median taken); BENCH_RUNS overrides. */
export const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const DOCS = 1000;

function secret(name: string, keys: number): string {
  const data = Array.from({ length: keys }, (_, i) => `  key${i}: ${Buffer.from(`value-${name}-${i}`).toString('base64')}`);
  return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: bench\ntype: Opaque\ndata:\n${data.join('\n')}\n`;
}

/** Wall time of one whole-process run in ms; throws when the command fails. */
function timeOnce(cmd: string, args: string[], input: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30, env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 300)}`);
  return ms;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median of `runs` runs, the commands interleaved so drift hits each alike. */
function medians(commands: Record<string, [string, string[], string]>, runs: number): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const [cmd, args, input] of Object.values(commands)) timeOnce(cmd, args, input); // warm caches
  for (let i = 0; i < runs; i++) {
    for (const [name, [cmd, args, input]] of Object.entries(commands)) times[name]!.push(timeOnce(cmd, args, input));
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

/** Measures and returns table rows: what, Sigil, reference, target. */
export function benchSealCli(): string[][] {
  const kubeseal = binaryPath('kubeseal', 'kubeseal');
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-'));
  try {
    const five = secret('five', 5);
    const many = Array.from({ length: DOCS }, (_, i) => secret(`s${i}`, 5)).join('---\n');
    const manyFile = join(dir, 'many.yaml');
    writeFileSync(manyFile, many);

    const small: Record<string, [string, string[], string]> = {
      'node -e 0': [process.execPath, ['-e', '0'], ''],
      'seal --cert': [process.execPath, [SEAL, '--cert', CERT], five],
      'kubeseal --cert': [kubeseal, ['--cert', CERT, '-o', 'yaml'], five],
    };
    const t = medians(small, RUNS);

    const bulkRuns = Math.max(3, Math.round(RUNS / 3));
    const bulk: Record<string, [string, string[], string]> = {
      seal: [process.execPath, [SEAL, '--cert', CERT, '-f', manyFile], ''],
      kubeseal: [kubeseal, ['--cert', CERT, '-o', 'yaml', '-f', manyFile], ''],
    };
    const b = medians(bulk, bulkRuns);

    const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
    const rate = (ms: number): string => `${Math.round((DOCS * 1000) / ms)} docs/s`;
    const rows: string[][] = [
      [`\`seal --cert\` (RSA-4096), 5-key Secret, whole process, median of ${RUNS}`, fmt(t['seal --cert']!), `kubeseal ${fmt(t['kubeseal --cert']!)} (×${(t['seal --cert']! / t['kubeseal --cert']!).toFixed(2)}); node -e 0 ${fmt(t['node -e 0']!)}`, '≤ 1.3× kubeseal'],
      [`sealing a ${DOCS}-document file (5 keys each), median of ${bulkRuns}`, `${rate(b['seal']!)} (${fmt(b['seal']!)})`, `kubeseal ${rate(b['kubeseal']!)} (${fmt(b['kubeseal']!)})`, '≥ kubeseal'],
    ];
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
