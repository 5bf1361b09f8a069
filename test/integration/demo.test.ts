// `npm run demo -- --once`, the README's first command, runs end to end: Git → cluster, SealedSecret →
// Secret, drift healed, prune; then it stops everything and exits 0.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { exec } from '../env/processes.js';
import { ROOT } from '../helpers/run-seal.js';

it('the demo shows sync, the unsealed Secret, a healed drift and a prune, then exits 0', async () => {
  const r = await exec(process.execPath, ['--import', 'tsx', 'test/demo/run.ts', '--once'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
  assert.equal(r.code, 0, r.stderr);
  const steps = r.stdout.split('\n').filter((l) => /^\[\d\] /.test(l)).map((l) => l.slice(0, 3));
  assert.deepEqual(steps, ['[0]', '[1]', '[2]', '[3]', '[4]', '[5]', '[6]', '[7]', '[8]']);
  assert.match(r.stdout, /^ {4}Ready: Synced; applied revision [0-9a-f]{7}: 3 objects$/m);
  assert.match(r.stdout, /^ {4}Secret prod\/db keys: password; password matches what was sealed: true$/m);
  assert.match(r.stdout, /^ {4}GREETING is back to: hello$/m);
  assert.match(r.stdout, /^ {4}event: healing ConfigMap prod\/web-config \(data\.GREETING\)$/m);
  assert.match(r.stdout, /^ {4}applied revision [0-9a-f]{7}: 2 objects, 1 pruned$/m);
  assert.match(r.stdout, /deployments\.apps "web" not found/);
  assert.ok(!r.stdout.includes('demo-password'), 'the demo never prints the plaintext');
});
