/**
 * `npm run bench`: the figures of ../shared/TARGETS.md measured so far, each beside the reference measured
 * in the same run on the same machine (absolute times on a shared machine drift; ratios hold). A benchmark,
 * never a timed test: it prints a table for the README and fails only when a measurement cannot run.
 *
 * BENCH_ONLY (comma-separated names of BENCHES, e.g. `BENCH_ONLY=sync npm run bench`) runs only those;
 * by default all run, in this order. `sync-clusters` is a part of `sync`, runnable alone: it runs once when
 * both are named.
 */
import { availableParallelism } from 'node:os';
import { benchController } from './controller.js';
import { benchSealCli } from './seal-cli.js';
import { benchSync, benchSyncClusters } from './sync.js';
import { benchTestEnv } from './testenv.js';
import { benchUnsealKeys } from './unseal-keys.js';
import { benchVault } from './vault.js';

const BENCHES: Record<string, () => string[][] | Promise<string[][]>> = {
  'seal-cli': benchSealCli,
  'unseal-keys': benchUnsealKeys,
  testenv: () => benchTestEnv(),
  controller: benchController,
  sync: benchSync,
  'sync-clusters': benchSyncClusters,
  vault: benchVault,
};
/** Benchmarks another one runs as a part of itself: skipped when that one runs. */
const PART_OF: Record<string, string> = { 'sync-clusters': 'sync' };

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !(name in BENCHES)) ?? [];
if (unknown.length) throw new Error(`BENCH_ONLY names no benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
const rows: string[][] = [];
const runs = (name: string): boolean => !only?.length || only.includes(name);
for (const [name, bench] of Object.entries(BENCHES)) {
  const whole = PART_OF[name];
  if (runs(name) && !(whole !== undefined && runs(whole))) rows.push(...(await bench()));
}
console.log(`${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores\n`);
console.log('| What | Sigil | Reference, same run | Target |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
