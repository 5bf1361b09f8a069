/**
 * Running git (and ssh-keygen) for the Git servers of the test environment: one isolated environment, so
 * nothing of the machine's or the user's configuration (system gitconfig, ~/.gitconfig, credential helpers,
 * ~/.ssh/config) changes what the servers or the test clients do, and nothing ever prompts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from './processes.js';

export { exec, type ExecResult } from './processes.js';

/** Runs `command args` and returns its stdout; throws with the command line and its stderr on a non-zero exit. */
export async function execOk(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer },
): Promise<string> {
  const r = await exec(command, args, options);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * A repository name no server has (createRepo refuses a leading dot): readiness probes ask for it and wait for
 * the protocol's own "no such repository" answer, which takes a working listener, transport, auth and git.
 */
export const PROBE_REPO = '.sigil-probe';

/** The fixed identity of the commits and tags the test environment makes. */
export const GIT_IDENTITY = { name: 'Sigil Test', email: 'test@sigil.dev' } as const;

/**
 * Prepares `home` as the HOME of every git the environment runs (servers and scratch clones) and returns the
 * environment for it: no system config, a global config with only what the tests rely on (identity, `main`
 * as default branch, every directory safe, no automatic gc or maintenance), no terminal prompts, C locale
 * (the tests match git's and ssh's messages).
 */
export function isolatedGitEnv(home: string): NodeJS.ProcessEnv {
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, '.gitconfig'),
    [
      '[user]',
      `\tname = ${GIT_IDENTITY.name}`,
      `\temail = ${GIT_IDENTITY.email}`,
      '[init]',
      '\tdefaultBranch = main',
      '[safe]',
      '\tdirectory = *',
      '[advice]',
      '\tdetachedHead = false',
      // No detached background work (auto gc, maintenance) that would outlive a server's stop.
      '[gc]',
      '\tauto = 0',
      '\tautoDetach = false',
      '[maintenance]',
      '\tauto = false',
      '[receive]',
      '\tautogc = false',
      '',
    ].join('\n'),
  );
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_TERMINAL_PROMPT: '0',
    LANG: 'C',
    LC_ALL: 'C',
  };
}

/** A single-quoted word for a POSIX shell (GIT_SSH_COMMAND, authorized_keys commands). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
