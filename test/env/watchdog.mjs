// Kills the process groups its owner started once the owner is gone, however it went (exit, crash, Ctrl-C,
// SIGKILL): the owner holds the write end of this process's stdin, and the kernel closes it on death.
// Each stdin line is a process-group id to guard; "-<pgid>" stops guarding one that was stopped cleanly.
import { createInterface } from 'node:readline';

const groups = new Set();
createInterface({ input: process.stdin }).on('line', (line) => {
  const id = Number(line);
  if (id > 0) groups.add(id);
  else if (id < 0) groups.delete(-id);
});
process.stdin.on('end', () => {
  for (const g of groups) try { process.kill(-g, 'SIGTERM'); } catch { /* already gone */ }
  setTimeout(() => {
    for (const g of groups) try { process.kill(-g, 'SIGKILL'); } catch { /* already gone */ }
    process.exit(0);
  }, 3000);
});
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
