/**
 * The bare repositories the Git servers serve, and how tests change them: commits are made in a persistent
 * scratch clone per repository (cloned by file path) and pushed, as a person would; branches and tags are
 * moved directly in the bare repository. Operations on one repository run one at a time.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execOk, exec, GIT_IDENTITY } from './git-exec.js';

/** Who made a commit. */
export interface GitPerson {
  name: string;
  email: string;
}

/** What `commitFiles` may be told besides the files and the message. */
export interface CommitOptions {
  /** Branch to commit on (default `main`). A new branch starts at `main`, or empty when there is no `main`. */
  branch?: string;
  /** Path of an SSH private key (mode 0600, no passphrase): the commit is SSH-signed with it (`gpg.format=ssh`). */
  signWith?: string;
  /** Author (default: the fixed test identity, which is always the committer). */
  author?: GitPerson;
}

/** Changing the repositories under one root. */
export interface GitRepos {
  /** Creates the bare repository `<root>/<name>.git`, default branch `main`, pushable over HTTP. Throws if it exists. */
  createRepo(name: string): Promise<void>;
  /**
   * Commits on top of the branch's current tip: each file set to its content, `null` deletes it. Always makes
   * a commit (also when nothing changed) and pushes it; resolves with its sha.
   */
  commitFiles(repo: string, files: Record<string, string | null>, message: string, options?: CommitOptions): Promise<string>;
  /** Points `refs/heads/<branch>` at `sha` (any commit of the repo, also backwards); creates the branch if needed. */
  moveBranch(repo: string, branch: string, sha: string): Promise<void>;
  /** Points `refs/tags/<tag>` at `sha`, replacing an existing tag; annotated when a `message` is given. */
  tag(repo: string, tag: string, sha: string, options?: { message?: string }): Promise<void>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

/** The repositories under `root`, with scratch clones under `scratch`, every git run with `env`. */
export function gitRepos(root: string, scratch: string, env: NodeJS.ProcessEnv): GitRepos {
  const queues = new Map<string, Promise<unknown>>();

  function serial<T>(repo: string, work: () => Promise<T>): Promise<T> {
    const next = (queues.get(repo) ?? Promise.resolve()).then(work, work);
    queues.set(repo, next.catch(() => undefined));
    return next;
  }

  function bare(repo: string): string {
    if (!NAME.test(repo) || repo.endsWith('.git')) throw new Error(`git repo name not allowed: ${JSON.stringify(repo)} (no .git suffix)`);
    return join(root, `${repo}.git`);
  }

  function existing(repo: string): string {
    const path = bare(repo);
    if (!existsSync(path)) throw new Error(`git repo ${repo} does not exist (createRepo first)`);
    return path;
  }

  const git = (cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> =>
    execOk('git', args, { cwd, env: { ...env, ...extraEnv } });

  async function commitSha(gitDir: string, rev: string): Promise<string | undefined> {
    const r = await exec('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { env });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  async function refName(gitDir: string, kind: 'branch' | 'tag', name: string): Promise<string> {
    const ref = `refs/${kind === 'branch' ? 'heads' : 'tags'}/${name}`;
    const r = await exec('git', ['--git-dir', gitDir, 'check-ref-format', ref], { env });
    if (r.code !== 0) throw new Error(`git ${kind} name not allowed: ${JSON.stringify(name)}`);
    return ref;
  }

  return {
    createRepo: (name) =>
      serial(name, async () => {
        const path = bare(name);
        if (existsSync(path)) throw new Error(`git repo ${name} exists already`);
        mkdirSync(dirname(path), { recursive: true });
        await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', path]);
        await git(path, ['config', 'http.receivepack', 'true']);
      }),

    commitFiles: (repo, files, message, options = {}) =>
      serial(repo, async () => {
        const origin = existing(repo);
        const branch = options.branch ?? 'main';
        await refName(origin, 'branch', branch);
        const work = join(scratch, repo);
        if (!existsSync(join(work, '.git'))) {
          mkdirSync(dirname(work), { recursive: true });
          await git(scratch, ['clone', '--quiet', origin, work]);
        }
        await git(work, ['fetch', '--quiet', '--prune', 'origin']);
        const gitDir = join(work, '.git');
        const base = (await commitSha(gitDir, `refs/remotes/origin/${branch}`)) ?? (await commitSha(gitDir, 'refs/remotes/origin/main'));
        if (base) {
          await git(work, ['checkout', '--quiet', '--force', '-B', branch, base]);
        } else {
          // Nothing to start from: an orphan branch with an empty index.
          await exec('git', ['update-ref', '-d', `refs/heads/${branch}`], { cwd: work, env });
          await git(work, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
          await git(work, ['read-tree', '--empty']);
        }
        await git(work, ['clean', '--quiet', '-ffdx']);

        for (const [file, content] of Object.entries(files)) {
          const segments = file.split('/');
          if (file.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..' || s === '.git')) {
            throw new Error(`file path not allowed in a commit: ${JSON.stringify(file)}`);
          }
          const path = join(work, file);
          if (content === null) {
            rmSync(path, { force: true });
          } else {
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, content);
          }
        }
        await git(work, ['add', '--all']);
        const author = options.author ?? GIT_IDENTITY;
        const identity = {
          GIT_AUTHOR_NAME: author.name,
          GIT_AUTHOR_EMAIL: author.email,
          GIT_COMMITTER_NAME: GIT_IDENTITY.name,
          GIT_COMMITTER_EMAIL: GIT_IDENTITY.email,
        };
        const sign = options.signWith ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${options.signWith}`] : [];
        const commit = ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', message, ...(options.signWith ? ['-S'] : [])];
        await git(work, [...sign, ...commit], identity);
        const sha = (await git(work, ['rev-parse', 'HEAD'])).trim();
        await git(work, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`]);
        return sha;
      }),

    moveBranch: (repo, branch, sha) =>
      serial(repo, async () => {
        const path = existing(repo);
        const ref = await refName(path, 'branch', branch);
        const target = await commitSha(path, sha);
        if (!target) throw new Error(`git repo ${repo} has no commit ${sha}`);
        await git(path, ['update-ref', ref, target]);
      }),

    tag: (repo, tag, sha, options = {}) =>
      serial(repo, async () => {
        const path = existing(repo);
        const ref = await refName(path, 'tag', tag);
        const target = await commitSha(path, sha);
        if (!target) throw new Error(`git repo ${repo} has no commit ${sha}`);
        if (options.message === undefined) await git(path, ['update-ref', ref, target]);
        else await git(path, ['tag', '--force', '--annotate', '--message', options.message, tag, target]);
      }),
  };
}
