/**
 * `npm run testenv -- build [NAME…]`: builds (or finds cached) the real programs the tests need.
 * With no NAME it builds every component.
 */
import { COMPONENTS, ensureBuilt, type ComponentName } from './build.js';

const [command, ...names] = process.argv.slice(2);
if (command !== 'build') {
  process.stderr.write('usage: npm run testenv -- build [' + Object.keys(COMPONENTS).join('|') + ' …]\n');
  process.exit(2);
}
const wanted = (names.length ? names : Object.keys(COMPONENTS)) as ComponentName[];
try {
  for (const name of wanted) {
    const c = COMPONENTS[name];
    if (!c) throw new Error(`unknown component ${name}; known: ${Object.keys(COMPONENTS).join(', ')}`);
    process.stderr.write(`${c.name} ${c.version}: ${await ensureBuilt(c)}\n`);
  }
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(1);
}
