/**
 * `npm run bench`: the figures of ../shared/TARGETS.md measured so far, each beside the reference measured
 * in the same run on the same machine (absolute times on a shared machine drift; ratios hold). A benchmark,
 * never a timed test: it prints a table for the README and fails only when a measurement cannot run.
 */
import { availableParallelism } from 'node:os';
import { benchController } from './controller.js';
import { benchSealCli } from './seal-cli.js';
import { benchTestEnv } from './testenv.js';
import { benchUnsealKeys } from './unseal-keys.js';

const rows = [...benchSealCli(), ...(await benchUnsealKeys()), ...(await benchTestEnv()), ...(await benchController())];
console.log(`${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores\n`);
console.log('| What | Sigil | Reference, same run | Target |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
