// The test environment leaves no orphan: servers die with their owner, even when the owner is SIGKILLed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startServer, waitUntil, isAlive } from './processes.js';


/** Starts an owner process that starts `sleep` as a server and prints the server's pid. */
function owner(): Promise<{ ownerPid: number; serverPid: number }> {
  const script = `import { startServer } from ${JSON.stringify(new URL('./processes.ts', import.meta.url).pathname)};
const s = startServer('sleeper', 'sleep', ['600'], { logDir: ${JSON.stringify(mkdtempSync(join(tmpdir(), 'sigil-proc-')))} });
console.log(s.pid); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve({ ownerPid: child.pid!, serverPid: Number(d.toString().trim()) }));
    child.once('exit', (code) => reject(new Error(`owner exited ${code}`)));
  });
}

describe('processes', () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
    it(`stops a server when its owner gets ${signal}`, async () => {
      const { ownerPid, serverPid } = await owner();
      assert.equal(isAlive(serverPid), true);
      process.kill(ownerPid, signal);
      await waitUntil(`sleep ${serverPid} gone`, async () => !isAlive(serverPid), { timeoutMs: 10_000 });
    });
  }

  it('stop() ends the whole group and logs its output', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'sigil-proc-'));
    const s = startServer('echoer', 'sh', ['-c', 'echo started; sleep 600 & wait'], { logDir });
    await waitUntil('echo', async () => readFileSync(s.logFile, 'utf8') === 'started\n', { timeoutMs: 5000, server: s });
    await s.stop();
    assert.equal(isAlive(s.pid), false);
  });

  it('waitUntil names the server and its log when it exits early', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'sigil-proc-'));
    const s = startServer('quitter', 'sh', ['-c', 'exit 3'], { logDir });
    await assert.rejects(waitUntil('quitter ready', async () => false, { timeoutMs: 5000, server: s }), {
      message: `quitter ready: quitter exited with 3 (log: ${join(logDir, 'quitter.log')})`,
    });
  });
});
