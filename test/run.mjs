#!/usr/bin/env node
// Runs every *.test.ts of the project with node:test under tsx. The files are listed explicitly: on Node 20,
// `node --test DIR` finds no TypeScript tests and passes silently. Extra arguments are passed to node --test
// (e.g. --test-name-pattern). TEST_FILTER=substring keeps only the files whose path contains it.
// First it builds (or finds cached) the real programs of test/env/build.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
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
process.exit(result.status ?? 1);
