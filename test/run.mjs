#!/usr/bin/env node
// Runs every *.test.ts of the project with node:test under tsx. The files are listed explicitly: on Node 20,
// `node --test DIR` finds no TypeScript tests and passes silently. Extra arguments are passed to node --test
// (e.g. --test-name-pattern). TEST_FILTER=substring keeps only the files whose path contains it.
// First it builds (or finds cached) the real programs of test/env/build.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['cli', 'controller', 'shared', 'test'];
const filter = process.env.TEST_FILTER ?? '';

const files = roots
  .flatMap((dir) => readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath ?? e.path, e.name))))
  .filter((f) => !f.includes('node_modules') && f.includes(filter))
  .sort();

if (files.length === 0) {
  console.error(`no test files found${filter ? ` matching TEST_FILTER=${filter}` : ''}`);
  process.exit(1);
}
// The real programs the integration tests run against: built once from the Go module proxy, then cached.
const prepared = spawnSync(process.execPath, ['--import', 'tsx', 'test/env/cli.ts', 'build'], { cwd: root, stdio: 'inherit' });
if (prepared.status !== 0) process.exit(prepared.status ?? 1);

const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...process.argv.slice(2), ...files];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });

// No process the tests started may outlive them: servers of test/env run from the binary cache or in
// sigil-* temporary folders. The watchdog gives a dead owner's servers 3 s to stop.
const testbin = process.env.SIGIL_TESTBIN ?? join(homedir(), '.cache/sigil/testbin');
const leftovers = () => spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout.split('\n')
  .filter((l) => (l.includes(testbin) || /\/sigil-[^ /]+\//.test(l) || l.includes('test/env/watchdog.mjs')) && !l.includes('ps -eo'));
let orphans = leftovers();
for (let i = 0; i < 50 && orphans.length; i++) {
  spawnSync('sleep', ['0.2']);
  orphans = leftovers();
}
if (orphans.length) {
  console.error(`processes started by the tests are still running:\n${orphans.join('\n')}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
