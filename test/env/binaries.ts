/**
 * Where built test binaries are cached, outside the repository: `$SIGIL_TESTBIN`, by default
 * `~/.cache/sigil/testbin/<name>-<version>/`. build.ts finds and builds them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache folder of the test binaries. */
export const TESTBIN_CACHE = process.env.SIGIL_TESTBIN ?? join(homedir(), '.cache/sigil/testbin');
