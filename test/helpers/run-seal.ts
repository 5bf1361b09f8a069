/**
 * Runs the built `seal` CLI as a real process, as a user would, and captures what it printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = new URL('../../', import.meta.url).pathname;
/** The built CLI entry point (`npm test` builds it first). */
export const SEAL_BIN = join(ROOT, 'dist/cli/main.js');
/** Test-only sealing keys and certificates. */
export const KEYS = join(ROOT, 'test/fixtures/keys');

const tempDirs = new Set<string>();
const EMPTY_HOME = tempDir('sigil-home-');

/** What one run printed and how it ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `seal ...args` with `stdin` as input, in `cwd`, with only the given environment added. */
export function runSeal(
  args: readonly string[],
  options: { stdin?: string | Buffer; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // A HOME of its own: no kubeconfig or other settings of the machine leak into a test.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: EMPTY_HOME, ...options.env };
    const child = spawn(process.execPath, [SEAL_BIN, ...args], { cwd: options.cwd ?? ROOT, env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** A temporary folder removed when the test process exits (safe to call from hooks too). */
export function tempDir(prefix = 'sigil-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.size === 0) process.on('exit', () => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  tempDirs.add(dir);
  return dir;
}
