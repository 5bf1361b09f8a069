/**
 * The per-connection processes of the Git servers, read from Linux /proc. They need more than a process-group
 * kill: sshd moves each connection into a session of its own, and a process killed together with its parent
 * is left to init to reap. So connections are ended deepest first, each process reaped by its still-running
 * parent, before the server itself stops.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** A process, identified by pid and start time so that a reused pid is never mistaken for it. */
export interface ProcessId {
  pid: number;
  start: string;
  depth: number;
}

function stat(pid: number): { ppid: number; state: string; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
    return { state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Live (not zombie) descendants of `pid`, parents before children. */
export function descendantsOf(pid: number): ProcessId[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const children = new Map<number, { pid: number; start: string }[]>();
  for (const e of entries) {
    const s = stat(Number(e));
    if (!s || s.state === 'Z') continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), { pid: Number(e), start: s.start }]);
  }
  const out: ProcessId[] = [];
  let level = [pid];
  for (let depth = 1; level.length; depth++) {
    const next = level.flatMap((p) => children.get(p) ?? []).map((c) => ({ ...c, depth }));
    out.push(...next);
    level = next.map((c) => c.pid);
  }
  return out;
}

/** True while `p` runs: a zombie has ended (only its reaping is missing), a reused pid is another process. */
export function isRunning(p: number | ProcessId): boolean {
  const s = stat(typeof p === 'number' ? p : p.pid);
  return s !== undefined && s.state !== 'Z' && (typeof p === 'number' || s.start === p.start);
}

/** True once `p` is gone from the process table (reaped), or its pid belongs to another process. */
function reaped(p: ProcessId): boolean {
  const s = stat(p.pid);
  return s === undefined || s.start !== p.start;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone meanwhile
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs every descendant of `pid`, deepest level first, waiting (up to `levelMs`) for each level to be
 * reaped by its parents before the next; repeats while new descendants appear (at most a few rounds). A
 * parent blocked elsewhere (http-backend reading a request body) does not reap: its dead child is left to
 * init once the parent is killed, which is why the wait is short.
 */
export async function killDescendants(pid: number, levelMs = 250): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const all = descendantsOf(pid);
    if (!all.length) return;
    const deepest = Math.max(...all.map((p) => p.depth));
    for (let depth = deepest; depth >= 1; depth--) {
      const level = all.filter((p) => p.depth === depth && !reaped(p));
      for (const p of level) kill(p.pid, 'SIGKILL');
      const deadline = Date.now() + levelMs;
      while (level.some((p) => !reaped(p)) && Date.now() < deadline) await sleep(10);
    }
  }
}

/** SIGKILLs whatever of `processes` still runs (e.g. moved away from its parent); throws when some will not end. */
export async function killLeftovers(processes: readonly ProcessId[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = processes.filter(isRunning);
    if (!alive.length) return;
    if (Date.now() > deadline) throw new Error(`git servers: processes still running: ${alive.map((p) => p.pid).join(' ')}`);
    for (const p of alive) kill(p.pid, 'SIGKILL');
    await sleep(20);
  }
}
