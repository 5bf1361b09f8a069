/**
 * Runs the built `seal` CLI as a real process, as a user would, and captures what it printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type ExecResult } from '../env/processes.js';

/** The repository root. */
export const ROOT = new URL('../../', import.meta.url).pathname;
/** The built CLI entry point (`npm test` builds it first). */
export const SEAL_BIN = join(ROOT, 'dist/cli/main.js');
/** Test-only sealing keys and certificates. */
export const KEYS = join(ROOT, 'test/fixtures/keys');

const tempDirs = new Set<string>();
const EMPTY_HOME = tempDir('sigil-home-');

/** What one run printed and how it ended. */
export type RunResult = ExecResult;

/** Runs `seal ...args` with `stdin` as input, in `cwd`, with only the given environment added. */
export function runSeal(
  args: readonly string[],
  options: { stdin?: string | Buffer; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  // A HOME of its own: no kubeconfig or other settings of the machine leak into a test.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: EMPTY_HOME, ...options.env };
  return exec(process.execPath, [SEAL_BIN, ...args], { env, cwd: options.cwd ?? ROOT, input: options.stdin });
}

/** A temporary folder removed when the test process exits (safe to call from hooks too). */
export function tempDir(prefix = 'sigil-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.size === 0) process.on('exit', () => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  tempDirs.add(dir);
  return dir;
}
