/**
 * `npm run testenv -- …`, the test environment for people and scripts:
 *
 * - `build [NAME…]`: builds (or finds cached) the real programs the tests need; by default every one that
 *   can be built here.
 * - `up --dir DIR [--with vault,git,controller-manager,sealed-secrets]`: starts the environment in the
 *   background and returns once everything is ready; writes DIR/kubeconfig and DIR/env.sh.
 * - `down --dir DIR`: stops all of it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { COMPONENTS, ensureBuilt, type Component, type ComponentName } from './build.js';
import { OPTIONAL_COMPONENTS } from './index.js';
import { isAlive } from './processes.js';

const USAGE = `usage: npm run testenv -- build [${Object.keys(COMPONENTS).join('|')} …]
       npm run testenv -- up --dir DIR [--with ${OPTIONAL_COMPONENTS.join(',')}]
       npm run testenv -- down --dir DIR`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Builds the named components; with none, every component that can be built here (and says which cannot). */
async function build(names: string[]): Promise<void> {
  for (const name of names.length ? names : Object.keys(COMPONENTS)) {
    const c: Component | undefined = COMPONENTS[name as ComponentName];
    if (!c) throw new Error(`unknown component ${name}; known: ${Object.keys(COMPONENTS).join(', ')}`);
    if (c.blocked && !names.length) {
      process.stderr.write(`${c.name} ${c.version}: not built, cannot be built here (see test/env/build.ts)\n`);
      continue;
    }
    process.stderr.write(`${c.name} ${c.version}: ${await ensureBuilt(c)}\n`);
  }
}

async function up(dir: string, withList: string): Promise<void> {
  const unknown = withList.split(',').filter((w) => w && !(OPTIONAL_COMPONENTS as readonly string[]).includes(w));
  if (unknown.length) throw new Error(`--with: unknown ${unknown.join(', ')}; choose from ${OPTIONAL_COMPONENTS.join(', ')}`);
  if (existsSync(join(dir, 'supervisor.pid')) && isAlive(Number(readFileSync(join(dir, 'supervisor.pid'), 'utf8')))) {
    throw new Error(`an environment is already running in ${dir}; run down first`);
  }
  const wanted = withList.split(',').filter(Boolean);
  await build(['kubernetes', 'etcd', ...(wanted.includes('vault') ? ['vault'] : []), ...(wanted.includes('sealed-secrets') ? ['kubeseal'] : [])]);
  mkdirSync(dir, { recursive: true });
  for (const f of ['ready', 'failed', 'supervisor.pid']) rmSync(join(dir, f), { force: true });
  const log = openSync(join(dir, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./supervisor.ts', import.meta.url).pathname, dir, withList], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  const started = Date.now();
  while (!existsSync(join(dir, 'ready')) && !existsSync(join(dir, 'failed'))) {
    if (child.exitCode !== null || !isAlive(child.pid!)) break;
    await sleep(200);
  }
  if (!existsSync(join(dir, 'ready'))) {
    const why = existsSync(join(dir, 'failed')) ? readFileSync(join(dir, 'failed'), 'utf8').trim() : `see ${join(dir, 'supervisor.log')}`;
    throw new Error(`the environment did not start: ${why}`);
  }
  const { versions } = JSON.parse(readFileSync(join(dir, 'ready'), 'utf8')) as { versions: Record<string, string> };
  process.stdout.write(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join('; ')}\n`);
  process.stdout.write(`kubeconfig: ${join(dir, 'kubeconfig')}\nuse it:     . ${join(dir, 'env.sh')}\n`);
}

async function down(dir: string): Promise<void> {
  const pidFile = join(dir, 'supervisor.pid');
  if (!existsSync(pidFile)) throw new Error(`no environment in ${dir} (no supervisor.pid)`);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && isAlive(pid); i++) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
  rmSync(join(dir, 'ready'), { force: true });
  process.stdout.write(`stopped the environment in ${dir}\n`);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'build') await build(rest);
  else if (command === 'up' || command === 'down') {
    const { values } = parseArgs({ args: rest, options: { dir: { type: 'string' }, with: { type: 'string', default: '' } } });
    if (!values.dir) throw new Error(`${command} needs --dir DIR\n${USAGE}`);
    if (command === 'up') await up(resolve(values.dir), values.with ?? '');
    else await down(resolve(values.dir));
  } else {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(1);
}
