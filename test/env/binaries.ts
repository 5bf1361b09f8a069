/**
 * Finding the real programs the tests and benchmarks compare against (kubeseal, …): `$KUBEBUILDER_ASSETS`
 * first (envtest's convention), then the cache outside the repo (`~/.cache/sigil/testbin/<name>-<version>/`),
 * then PATH. Returns undefined when a program is nowhere, so the caller can fail or report with the reason.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where built test binaries are cached, outside the repository. */
export const TESTBIN_CACHE = process.env.SIGIL_TESTBIN ?? join(homedir(), '.cache/sigil/testbin');

/** The path of `name`, or undefined when it is neither in KUBEBUILDER_ASSETS, the cache nor PATH. */
export function findBinary(name: string): string | undefined {
  const dirs: string[] = [];
  if (process.env.KUBEBUILDER_ASSETS) dirs.push(process.env.KUBEBUILDER_ASSETS);
  if (existsSync(TESTBIN_CACHE)) {
    const cached = readdirSync(TESTBIN_CACHE).filter((d) => d.startsWith(`${name}-`)).sort().reverse();
    dirs.push(...cached.map((d) => join(TESTBIN_CACHE, d)));
  }
  dirs.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}
