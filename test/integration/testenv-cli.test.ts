// `npm run testenv -- up/down`: the environment starts in the background, kubectl from env.sh talks to
// it, and down leaves no process behind.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, tempDir } from '../helpers/run-seal.js';

function testenv(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/env/cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Processes whose command line mentions `dir`. */
function processesIn(dir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(dir));
}

describe('npm run testenv', () => {
  it('up starts a cluster that kubectl from env.sh reaches; down stops every process', async () => {
    const dir = tempDir('sigil-testenv-');
    const up = testenv('up', '--dir', dir, '--with', 'git');
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /^ready in \d+\.\ds: kubernetes v1\.\d+\.\d+; etcd .*; git .*\nkubeconfig: .*\/kubeconfig\nuse it: {5}\. .*\/env\.sh\n$/);
    const shell = spawnSync('bash', ['-c', `. ${join(dir, 'env.sh')} && kubectl get namespace default -o name && echo "$SIGIL_GIT_HTTP_URL"`], { encoding: 'utf8' });
    assert.equal(shell.status, 0, shell.stderr);
    const [ns, gitUrl] = shell.stdout.trim().split('\n');
    assert.equal(ns, 'namespace/default');
    assert.match(gitUrl!, /^http:\/\/127\.0\.0\.1:\d+\/REPO\.git$/);
    assert.ok(processesIn(dir).length >= 3, 'etcd, apiserver and git servers run');
    const supervisor = Number(readFileSync(join(dir, 'supervisor.pid'), 'utf8'));

    const again = testenv('up', '--dir', dir);
    assert.deepEqual([again.code, again.stderr], [1, `error: an environment is already running in ${dir}; run down first\n`]);

    const down = testenv('down', '--dir', dir);
    assert.deepEqual([down.code, down.stdout], [0, `stopped the environment in ${dir}\n`]);
    for (let i = 0; i < 50 && processesIn(dir).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(processesIn(dir), []);
    assert.throws(() => process.kill(supervisor, 0));
  });

  it('refuses an unknown component and a missing --dir', () => {
    assert.deepEqual(testenv('up', '--dir', tempDir(), '--with', 'mongo').stderr, 'error: --with: unknown mongo; choose from controller-manager, git, vault, sealed-secrets\n');
    const noDir = testenv('down');
    assert.equal(noDir.code, 1);
    assert.match(noDir.stderr, /^error: down needs --dir DIR\nusage: /);
  });
});
