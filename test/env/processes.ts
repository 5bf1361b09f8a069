/**
 * Long-running servers of the test environment, each in its own process group with its output in a log
 * file. Nothing outlives its owner: groups are stopped by `stopAll`, on exit, on SIGINT/SIGTERM, and, if the
 * owner dies without running any handler (SIGKILL), by a detached watchdog whose stdin the owner holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** One running server. */
export interface Server {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code once it has exited (undefined when killed by a signal). */
  exited: Promise<number | undefined>;
  /** SIGTERM to its group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** What to start. */
export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Folder for `<name>.log`. */
  logDir: string;
}

const running = new Set<Server>();
let watchdog: ChildProcess | undefined;

function guard(pid: number, on: boolean): void {
  if (!watchdog) {
    watchdog = spawn(process.execPath, [new URL('./watchdog.mjs', import.meta.url).pathname], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    process.on('exit', () => {
      for (const s of running) killGroup(s.pid, 'SIGKILL');
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        void stopAll().finally(() => process.kill(process.pid, signal));
      });
    }
  }
  watchdog.stdin!.write(`${on ? pid : -pid}\n`);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Starts `command` in a new process group, output appended to `<logDir>/<name>.log`. */
export function startServer(name: string, command: string, args: readonly string[], options: StartOptions): Server {
  mkdirSync(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  const pid = child.pid;
  const exited = new Promise<number | undefined>((resolve) => {
    child.on('exit', (code) => resolve(code ?? undefined));
    child.on('error', () => resolve(127));
  });
  const server: Server = {
    name,
    pid,
    logFile,
    exited,
    async stop(graceMs = 5000): Promise<void> {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      // The child is unref'd; this keeps the owner alive until the exit has been seen.
      const keepAlive = setInterval(() => undefined, 1000);
      await exited;
      clearTimeout(timer);
      clearInterval(keepAlive);
      killGroup(pid, 'SIGKILL'); // anything the server itself started in its group
      running.delete(server);
      guard(pid, false);
    },
  };
  child.unref();
  running.add(server);
  guard(pid, true);
  return server;
}

/** Stops every server this process started, newest first. */
export async function stopAll(): Promise<void> {
  for (const s of [...running].reverse()) await s.stop();
}

/**
 * Polls `check` every `intervalMs` until it returns true. Throws naming `what`, with the server's log file,
 * when the time runs out or the server exits first.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; server?: Server; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exitedWith: number | undefined | null = null;
  void options.server?.exited.then((code) => (exitedWith = code));
  for (;;) {
    if (await check().catch(() => false)) return;
    const log = options.server ? ` (log: ${options.server.logFile})` : '';
    if (exitedWith !== null) throw new Error(`${what}: ${options.server!.name} exited with ${exitedWith ?? 'a signal'}${log}`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${options.timeoutMs} ms${log}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What one run printed and how it ended. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` to the end; never throws for a non-zero exit (see `execOk`). */
export function exec(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
