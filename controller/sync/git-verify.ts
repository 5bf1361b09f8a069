/**
 * Signed commits (`spec.source.verify`): the trusted keys from a Secret, and the check of one commit's
 * signature against them. The commit object comes from the Git cache (`GitSource.verifyCommit`); its
 * signature is checked by the tools made for it, never by hand: `ssh-keygen -Y find-principals` and
 * `ssh-keygen -Y verify -n git` for SSH signatures, `gpgv` (no agent, no trust database, every key of its
 * keyring trusted) for OpenPGP ones. Both run without a shell, with a private HOME/GNUPGHOME (mode 0700)
 * holding the keys and the signature as 0600 files, deleted afterwards. Not `git verify-commit`: for OpenPGP
 * it runs gpg, which needs a home with the keys imported and a trust model, and starts a gpg-agent that
 * outlives the command; gpgv does neither, and reads the same keys as a plain keyring file.
 *
 * The payload is what git signs: the commit object without its `gpgsig` header (and the continuation lines
 * of it, each starting with a space). The object is read as UTF-8 text, as git writes it by default; a commit
 * declaring another encoding is refused rather than checked against altered bytes.
 *
 * Errors name the Secret or the commit (short sha) and at most a key's fingerprint, never key material:
 * StalledError('InvalidVerifyKeys') for the Secret, StalledError('VerificationFailed') for the commit (also
 * when ssh-keygen or gpgv cannot run), TransientError('VerificationFailed') when they time out.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StalledError, TransientError } from '../../shared/errors.js';
import { BASE64_PATTERN } from '../../shared/manifest/secret.js';

/** Trusted keys from a Secret, validated. */
export interface TrustedKeys {
  /** ssh-keygen ALLOWED SIGNERS text; a bare key line is given the principal `*`. */
  allowedSigners?: string;
  /** ASCII-armored OpenPGP public key blocks, one per Secret key. */
  pgpKeys: string[];
}

/** Who signed a verified commit: an allowed-signers principal (the key's fingerprint for `*`), or an OpenPGP primary key fingerprint. */
export interface CommitSigner {
  format: 'ssh' | 'openpgp';
  signer: string;
}

/** Where and how long verifyCommitObject may work. */
export interface VerifyOptions {
  /** A private folder (0700) in which a folder for the key and signature files is made and removed. */
  tmpDir: string;
  /** Per ssh-keygen or gpgv run, default 60000. */
  timeoutMs?: number;
}

const ALLOWED_SIGNERS = 'allowed_signers';
const PGP_SUFFIX = '.asc';
/** Key types an allowed-signers line may name (ssh-keygen's; DSA is not accepted by current OpenSSH). */
const SSH_KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;
const PUBLIC_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/;
const SIGNATURE_HEADERS = ['gpgsig', 'gpgsig-sha256'];

/**
 * Reads TrustedKeys from a Secret's `data` (base64 values): `allowed_signers` (ssh-keygen ALLOWED SIGNERS
 * format, `principals [options] key-type key [comment]`; a bare `key-type key` line gets the principal `*`)
 * and every key ending in `.asc` (ASCII-armored OpenPGP public keys). Other keys and empty values are
 * ignored. Throws StalledError('InvalidVerifyKeys', message naming the Secret and the key, and the line for
 * allowed_signers) when a value is not base64, holds a private key, a line or block is malformed, or there
 * is no trusted key at all.
 */
export function trustedKeysFromSecretData(data: Record<string, string> | undefined, secretName: string): TrustedKeys {
  const invalid = (message: string): StalledError => new StalledError('InvalidVerifyKeys', `Secret ${secretName}: ${message}`);
  const keys: TrustedKeys = { pgpKeys: [] };
  // In key order, so the keyring is the same whatever order the API server listed the data in.
  for (const [key, encoded] of Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key !== ALLOWED_SIGNERS && !key.endsWith(PGP_SUFFIX)) continue;
    if (!BASE64_PATTERN.test(encoded)) throw invalid(`"${key}" is not base64`);
    const value = Buffer.from(encoded, 'base64').toString('utf8');
    if (value.trim() === '') continue;
    if (PRIVATE_KEY.test(value)) throw invalid(`"${key}" holds a private key; only public keys belong here`);
    const problem = (text: string): StalledError => invalid(`"${key}" ${text}`);
    if (key === ALLOWED_SIGNERS) keys.allowedSigners = allowedSigners(value, problem);
    else {
      dearmorPublicKeys(value, problem);
      keys.pgpKeys.push(value);
    }
  }
  if (keys.allowedSigners === undefined && keys.pgpKeys.length === 0) {
    throw invalid(`no trusted keys: expected "${ALLOWED_SIGNERS}" (SSH allowed signers) or keys ending in "${PGP_SUFFIX}" (OpenPGP public keys)`);
  }
  return keys;
}

/**
 * The allowed-signers text with `* ` before bare keys, line for line (ssh-keygen's messages then name the
 * Secret's own line numbers); undefined when it has no key line.
 */
function allowedSigners(text: string, problem: (text: string) => Error): string | undefined {
  const lines: string[] = [];
  let signers = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '').trim();
    lines.push(line);
    if (line === '' || line.startsWith('#')) continue;
    // One word of options, whose quoted values may hold spaces: namespaces="git,file",valid-after="20240101".
    const words = line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    const at = words.findIndex((w) => SSH_KEY_TYPE.test(w));
    if (at < 0 || at > 2) throw problem(`line ${i + 1} is not "principals [options] key-type key"`);
    if (!isSshKey(words[at]!, words[at + 1])) throw problem(`line ${i + 1}: the ${words[at]!} key is malformed`);
    if (at === 0) lines[i] = `* ${line}`;
    signers++;
  }
  return signers ? `${lines.join('\n').replace(/\n*$/, '')}\n` : undefined;
}

/** Whether `blob` is base64 of an SSH public key whose wire format starts with the string `type`. */
function isSshKey(type: string, blob: string | undefined): boolean {
  if (blob === undefined || !BASE64_PATTERN.test(blob)) return false;
  const bytes = Buffer.from(blob, 'base64');
  return bytes.length > 4 && bytes.subarray(4, 4 + bytes.readUInt32BE(0)).toString('latin1') === type;
}

/**
 * The binary keyring (OpenPGP packets, as gpgv reads it) of every public key block in `text`. Armor headers
 * are skipped; the CRC-24 checksum is checked when present; the first packet of a block must be a public key.
 */
function dearmorPublicKeys(text: string, problem: (text: string) => Error): Buffer {
  const blocks: Buffer[] = [];
  for (const match of text.matchAll(PUBLIC_BLOCK)) {
    let lines = match[1]!.split(/\r?\n/).map((l) => l.trim());
    const blank = lines.indexOf('');
    if (blank >= 0 && lines.slice(0, blank).every((l) => /^[A-Za-z-]+: /.test(l))) lines = lines.slice(blank + 1);
    lines = lines.filter(Boolean);
    const checksum = lines.at(-1)?.startsWith('=') ? lines.pop()!.slice(1) : undefined;
    const body = lines.join('');
    if (!BASE64_PATTERN.test(body) || body === '') throw problem('is not an ASCII-armored OpenPGP public key block');
    const bytes = Buffer.from(body, 'base64');
    const crc = crc24(bytes);
    if (checksum !== undefined && Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]).toString('base64') !== checksum) {
      throw problem('holds a damaged OpenPGP block (checksum mismatch)');
    }
    const head = bytes[0]!;
    const tag = head & 0x40 ? head & 0x3f : (head >> 2) & 0x0f;
    if (!(head & 0x80) || tag !== 6) throw problem('is not an ASCII-armored OpenPGP public key block');
    blocks.push(bytes);
  }
  if (!blocks.length) throw problem('is not an ASCII-armored OpenPGP public key block');
  return Buffer.concat(blocks);
}

/** OpenPGP's armor checksum (RFC 4880 §6.1). */
function crc24(bytes: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/**
 * Verifies the signature of the commit `commit` (its sha, named in messages by its first 7 digits) whose
 * object text (`git cat-file commit`) is `object`, against `keys`. Resolves with the signer. Throws
 * StalledError('VerificationFailed') when the commit is not signed (`commit abc1234 is not signed`), is signed
 * by a key `keys` does not hold (`commit abc1234 is signed by a key that is not trusted (SHA256:…)`; an
 * OpenPGP key by its fingerprint), the signature does not verify (`commit abc1234 has a bad signature (…)`),
 * is of a kind Sigil does not read (x509), or ssh-keygen / gpgv cannot run; TransientError when they time out.
 */
export async function verifyCommitObject(commit: string, object: string, keys: TrustedKeys, options: VerifyOptions): Promise<CommitSigner> {
  const short = commit.slice(0, 7);
  const { payload, signature, encoding } = splitSignature(object);
  if (signature === undefined) throw new StalledError('VerificationFailed', `commit ${short} is not signed`);
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
    throw new StalledError('VerificationFailed', `commit ${short} is encoded in ${encoding}; only UTF-8 commits can be verified`);
  }
  const format = signature.startsWith('-----BEGIN SSH SIGNATURE-----') ? 'ssh' : signature.startsWith('-----BEGIN PGP SIGNATURE-----') ? 'openpgp' : undefined;
  if (format === undefined) throw new StalledError('VerificationFailed', `commit ${short} has a signature that is neither SSH nor OpenPGP`);
  const dir = await mkdtemp(join(options.tmpDir, 'verify-'));
  try {
    const tool = { dir, short, timeoutMs: options.timeoutMs ?? 60_000 };
    await writeFile(join(dir, 'signature'), signature, { mode: 0o600 });
    return format === 'ssh' ? await verifySsh(tool, signature, payload, keys) : await verifyPgp(tool, payload, keys);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The object without its signature headers (what was signed), the signature, and the `encoding` header. */
function splitSignature(object: string): { payload: string; signature?: string; encoding?: string } {
  const end = object.indexOf('\n\n');
  const headers = end < 0 ? object : object.slice(0, end + 1);
  let payload = '';
  let signature: string | undefined;
  let encoding: string | undefined;
  let inside: string | undefined;
  for (const line of headers.match(/[^\n]*\n?/g) ?? []) {
    if (line === '') continue;
    const name = SIGNATURE_HEADERS.find((h) => line.startsWith(`${h} `));
    if (name !== undefined || (inside !== undefined && line.startsWith(' '))) {
      inside = name ?? inside;
      // A SHA-1 repository's signature is `gpgsig`; git leaves the other algorithm's out of the payload too.
      if (inside === 'gpgsig') signature = (signature ?? '') + line.slice(name !== undefined ? name.length + 1 : 1);
      continue;
    }
    inside = undefined;
    if (line.startsWith('encoding ')) encoding = line.slice('encoding '.length).trim();
    payload += line;
  }
  return { payload: payload + (end < 0 ? '' : object.slice(end + 1)), signature, encoding };
}

/** One verification's private folder (holding `signature`), the commit's short sha, the tools' time limit. */
interface ToolContext {
  dir: string;
  short: string;
  timeoutMs: number;
}

async function verifySsh(tool: ToolContext, signature: string, payload: string, keys: TrustedKeys): Promise<CommitSigner> {
  const fingerprint = sshSignatureFingerprint(signature);
  if (fingerprint === undefined) throw new StalledError('VerificationFailed', `commit ${tool.short} has an SSH signature that cannot be read`);
  const untrusted = (detail = ''): StalledError =>
    new StalledError('VerificationFailed', `commit ${tool.short} is signed by a key that is not trusted (${fingerprint})${detail ? `: ${detail}` : ''}`);
  if (keys.allowedSigners === undefined) throw untrusted();
  const allowed = join(tool.dir, ALLOWED_SIGNERS);
  await writeFile(allowed, keys.allowedSigners, { mode: 0o600 });
  const sig = join(tool.dir, 'signature');
  // Several principals: the first; each names the same key. None: not trusted, with why when ssh-keygen says
  // more than that (the key's line has expired, has an option it does not know).
  const found = await run('ssh-keygen', ['-Y', 'find-principals', '-f', allowed, '-s', sig], '', tool);
  const principal = found.code === 0 ? found.stdout.split('\n')[0]!.trim() : '';
  if (principal === '') throw untrusted(lastLine(found.stderr.replace(/^No principal matched\.$/m, ''), tool.dir));
  const verified = await run('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', principal, '-n', 'git', '-s', sig], payload, tool);
  if (verified.code !== 0) {
    const detail = lastLine(verified.stderr, tool.dir);
    throw new StalledError('VerificationFailed', `commit ${tool.short} has a bad signature (${fingerprint})${detail ? `: ${detail}` : ''}`);
  }
  return { format: 'ssh', signer: principal === '*' ? fingerprint : principal };
}

/** `SHA256:…` of the public key inside an armored SSHSIG signature (PROTOCOL.sshsig), as ssh-keygen prints it. */
function sshSignatureFingerprint(signature: string): string | undefined {
  const body = signature.replace(/-----(BEGIN|END) SSH SIGNATURE-----/g, '').replace(/\s+/g, '');
  if (!BASE64_PATTERN.test(body)) return undefined;
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length < 14 || bytes.subarray(0, 6).toString('latin1') !== 'SSHSIG') return undefined;
  const length = bytes.readUInt32BE(10);
  if (14 + length > bytes.length) return undefined;
  const digest = createHash('sha256').update(bytes.subarray(14, 14 + length)).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** gpgv's status keywords for a signature that does not count, and what each means. */
const PGP_REFUSALS: Record<string, string> = {
  BADSIG: 'the content does not match',
  EXPSIG: 'the signature has expired',
  EXPKEYSIG: 'the key has expired',
  REVKEYSIG: 'the key is revoked',
};

async function verifyPgp(tool: ToolContext, payload: string, keys: TrustedKeys): Promise<CommitSigner> {
  const keyring = join(tool.dir, 'trusted.gpg');
  // Already checked by trustedKeysFromSecretData; an empty keyring still lets gpgv name the signing key.
  await writeFile(keyring, Buffer.concat(keys.pgpKeys.map((k) => dearmorPublicKeys(k, (t) => new Error(t)))), { mode: 0o600 });
  const args = ['--homedir', tool.dir, '--keyring', keyring, '--status-fd', '1', join(tool.dir, 'signature'), '-'];
  const result = await run('gpgv', args, payload, tool);
  const status = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const [prefix, keyword, ...fields] = line.trim().split(' ');
    if (prefix === '[GNUPG:]' && keyword !== undefined && !status.has(keyword)) status.set(keyword, fields);
  }
  const key = signingKey(status);
  if (status.has('NO_PUBKEY')) throw new StalledError('VerificationFailed', `commit ${tool.short} is signed by a key that is not trusted (${key})`);
  const refusal = Object.keys(PGP_REFUSALS).find((k) => status.has(k));
  if (refusal !== undefined) throw new StalledError('VerificationFailed', `commit ${tool.short} has a bad signature (${key}): ${PGP_REFUSALS[refusal]!}`);
  if (result.code !== 0 || !status.has('GOODSIG') || !status.has('VALIDSIG')) {
    throw new StalledError('VerificationFailed', `commit ${tool.short} has a bad signature (${key}): gpgv exited with code ${String(result.code)}`);
  }
  return { format: 'openpgp', signer: key };
}

/**
 * The fingerprint gpgv's status names for the signing key: the primary key of a good signature, the issuer
 * fingerprint of ERRSIG (when the signature carries one, as gpg ≥ 2.2 writes them), the key gpgv considered;
 * else the signature's long key id.
 */
function signingKey(status: ReadonlyMap<string, string[]>): string {
  const errsig = status.get('ERRSIG');
  const issuer = errsig?.[6] !== undefined && errsig[6] !== '-' ? errsig[6] : undefined;
  return status.get('VALIDSIG')?.at(-1) ?? issuer ?? status.get('KEY_CONSIDERED')?.[0] ?? errsig?.[0] ?? status.get('BADSIG')?.[0] ?? 'an unknown key';
}

/** The last line of a tool's stderr, its private folder left out of file names. */
function lastLine(text: string, dir: string): string {
  return text.split(`${dir}/`).join('').split('\n').map((l) => l.trim()).filter(Boolean).at(-1)?.slice(0, 300) ?? '';
}

/**
 * Runs `program args` (no shell) with `input` on stdin and an environment of PATH and the private folder as
 * HOME and GNUPGHOME, so no user's ssh or gpg configuration applies. Resolves with the exit code and output;
 * throws StalledError when the program cannot start, TransientError when it is killed on timeout.
 */
function run(program: string, args: string[], input: string, tool: ToolContext): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tool.dir, GNUPGHOME: tool.dir, LANG: 'C', LC_ALL: 'C' };
    const child = execFile(program, args, { env, cwd: tool.dir, timeout: tool.timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
      if (e?.killed === true) reject(new TransientError('VerificationFailed', `cannot verify commit ${tool.short}: ${program} gave no result after ${tool.timeoutMs} ms`));
      else if (typeof e?.code === 'string') reject(new StalledError('VerificationFailed', `cannot verify commit ${tool.short}: cannot run ${program}: ${e.code}`));
      else resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
    // The program may exit before reading all of it (a signature it refuses at once).
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
