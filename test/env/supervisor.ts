/**
 * The background process behind `npm run testenv -- up`: starts the environment, reports through files in
 * DIR (`ready` with the versions, or `failed` with the reason), and keeps it running until SIGTERM/SIGINT
 * (`npm run testenv -- down`), when it stops every server. If it is killed outright, the watchdog of
 * processes.ts still stops them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnv } from './index.js';

const [dir, withList = ''] = process.argv.slice(2);
if (!dir) throw new Error('usage: supervisor.ts DIR [COMPONENT,…]');
const wanted = new Set(withList.split(',').filter(Boolean));
writeFileSync(join(dir, 'supervisor.pid'), String(process.pid));
try {
  const env = await startEnv({
    dir,
    controllerManager: wanted.has('controller-manager'),
    git: wanted.has('git'),
    vault: wanted.has('vault'),
    sealedSecrets: wanted.has('sealed-secrets'),
  });
  writeFileSync(join(dir, 'ready'), JSON.stringify({ versions: env.versions, startupMs: env.controlPlane.startupMs }, null, 2));
  setInterval(() => undefined, 1 << 30);
} catch (err) {
  writeFileSync(join(dir, 'failed'), `${(err as Error).message}\n`);
  process.exit(1);
}
