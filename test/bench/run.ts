/**
 * `npm run bench`: the figures of ../shared/TARGETS.md measured so far, each beside the reference measured
 * in the same run on the same machine (absolute times on a shared machine drift; ratios hold). A benchmark,
 * never a timed test: it prints a table for the README and fails only when a measurement cannot run.
 *
 * BENCH_ONLY (comma-separated names of BENCHES, e.g. `BENCH_ONLY=sync npm run bench`) runs only those;
 * by default all run, in this order.
 */
import { availableParallelism } from 'node:os';
import { benchController } from './controller.js';
import { benchSealCli } from './seal-cli.js';
import { benchSync } from './sync.js';
import { benchTestEnv } from './testenv.js';
import { benchUnsealKeys } from './unseal-keys.js';

const BENCHES: Record<string, () => string[][] | Promise<string[][]>> = {
  'seal-cli': benchSealCli,
  'unseal-keys': benchUnsealKeys,
  testenv: () => benchTestEnv(),
  controller: benchController,
  sync: benchSync,
};

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !(name in BENCHES)) ?? [];
if (unknown.length) throw new Error(`BENCH_ONLY names no benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
const rows: string[][] = [];
for (const [name, bench] of Object.entries(BENCHES)) if (!only?.length || only.includes(name)) rows.push(...(await bench()));
console.log(`${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores\n`);
console.log('| What | Sigil | Reference, same run | Target |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
