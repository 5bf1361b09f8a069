/**
 * Git credentials: read from a Kubernetes Secret (Flux's key names), and handed to one git command without
 * leaking — never in argv (visible in `ps`), never in the URL, never in a message. HTTP credentials travel as
 * an `http.extraHeader` set through GIT_CONFIG_COUNT in the environment, and then redirects are not followed
 * (git would send the header to the redirect's host); SSH keys and known_hosts are files in a private temp
 * folder that the caller deletes after the command.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StalledError } from '../../shared/errors.js';

/** Credentials from a Kubernetes Secret's data (already base64-decoded to strings), Flux's key names. */
export interface GitCredentials {
  username?: string;
  password?: string;
  bearerToken?: string;
  /** SSH private key, PEM or OpenSSH format, without a passphrase. */
  identity?: string;
  /** known_hosts content pinning the SSH server's host key. */
  knownHosts?: string;
}

/** How git reaches a repository, from its URL's form. */
export type Transport = 'http' | 'ssh' | 'git' | 'file';

/** The Secret key of each credential field. */
const SECRET_KEYS = {
  username: 'username',
  password: 'password',
  bearerToken: 'bearerToken',
  identity: 'identity',
  knownHosts: 'known_hosts',
} as const satisfies Record<keyof GitCredentials, string>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** Line breaks and other control characters cannot be part of an HTTP header. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Reads GitCredentials from a Secret's `data` (base64 values) — keys: username, password, bearerToken,
 * identity, known_hosts; other keys are ignored, and so are empty values. Trailing line breaks of username,
 * password and bearerToken are dropped (the usual `echo token | base64` mistake). Throws
 * StalledError('InvalidCredentials', message naming the Secret and the key) when a value is not base64, a
 * value cannot be used (control characters, `:` in username, identity not a private key, known_hosts without
 * a host key line), or the combination is malformed (password without username, bearerToken with username or
 * password).
 */
export function credentialsFromSecretData(data: Record<string, string> | undefined, secretName: string): GitCredentials {
  const invalid = (message: string): StalledError => new StalledError('InvalidCredentials', `Secret ${secretName}: ${message}`);
  const creds: GitCredentials = {};
  for (const [field, key] of Object.entries(SECRET_KEYS) as Array<[keyof GitCredentials, string]>) {
    const encoded = data?.[key];
    if (encoded === undefined) continue;
    if (!BASE64.test(encoded)) throw invalid(`"${key}" is not base64`);
    let value = Buffer.from(encoded, 'base64').toString('utf8');
    if (field === 'username' || field === 'password' || field === 'bearerToken') {
      value = value.replace(/[\r\n]+$/, '');
      if (CONTROL.test(value)) throw invalid(`"${key}" holds a line break or another control character`);
    }
    if (value !== '') creds[field] = value;
  }
  if (creds.username?.includes(':')) throw invalid('"username" holds a ":", which basic auth cannot carry');
  if (creds.password !== undefined && creds.username === undefined) throw invalid('"password" is set but "username" is not');
  if (creds.bearerToken !== undefined && (creds.username !== undefined || creds.password !== undefined)) {
    throw invalid(`"bearerToken" cannot be used together with "${creds.username !== undefined ? 'username' : 'password'}"`);
  }
  if (creds.identity !== undefined && !PRIVATE_KEY.test(creds.identity)) throw invalid('"identity" is not a private key (PEM or OpenSSH)');
  if (creds.knownHosts !== undefined && !hasHostKeyLine(creds.knownHosts)) throw invalid('"known_hosts" has no host key line');
  return creds;
}

function hasHostKeyLine(knownHosts: string): boolean {
  return knownHosts.split('\n').some((line) => !line.trim().startsWith('#') && line.trim().split(/\s+/).length >= 3);
}

const SCHEME_URL = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is;
/** `user:password@host:path`: the only way an scp-like address could carry a password. */
const SCP_WITH_PASSWORD = /^([^@/:]+):[^@/]*@([^/:]+:.*)$/s;

/**
 * The URL with any userinfo removed (user:pass@ → nothing), for every message/log/status. Non-URL (scp-like
 * `git@host:path`) returned with user part kept but never a password. Otherwise returned as written (no
 * normalization). Never throws.
 */
export function scrubUrl(url: string): string {
  const m = SCHEME_URL.exec(url);
  if (m) {
    const authority = m[2]!;
    return `${m[1]!}${authority.slice(authority.lastIndexOf('@') + 1)}${m[3]!}`;
  }
  const scp = SCP_WITH_PASSWORD.exec(url);
  return scp ? `${scp[1]!}@${scp[2]!}` : url;
}

/** Whether the URL's userinfo holds a password (`scheme://user:pass@host/…` or `user:pass@host:path`). */
export function urlHasPassword(url: string): boolean {
  const m = SCHEME_URL.exec(url);
  if (m) {
    const authority = m[2]!;
    const at = authority.lastIndexOf('@');
    return at >= 0 && authority.slice(0, at).includes(':');
  }
  return SCP_WITH_PASSWORD.test(url);
}

/**
 * The transport of a repository URL: http(s)://, ssh:// (also git+ssh://, ssh+git://), scp-like
 * `[user@]host:path`, git://, file:// or an absolute path. Undefined for anything else (relative paths,
 * other schemes such as `ext::`), which Sigil does not fetch from.
 */
export function transportOf(url: string): Transport | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'http' || scheme === 'https') return 'http';
    if (scheme === 'ssh' || scheme === 'git+ssh' || scheme === 'ssh+git') return 'ssh';
    if (scheme === 'git' || scheme === 'file') return scheme;
    return undefined;
  }
  if (url.startsWith('/')) return 'file';
  // git's rule: a colon before the first slash makes `host:path` (a path needs `./` to contain one).
  return /^[^/:]+:/.test(url) && !url.includes('::') ? 'ssh' : undefined;
}

/** What one git command needs for its credentials; see `authPlan`. */
export interface AuthPlan {
  /** `[key, value]` git config entries (passed through GIT_CONFIG_COUNT, never argv). */
  config: Array<readonly [string, string]>;
  /** For ssh: the files to write and pin. */
  ssh?: { identity?: string; knownHosts: string };
  /** Texts that must never appear in a message: passwords, tokens, header values, key lines. */
  secrets: string[];
}

/**
 * How credentials reach git for `url` over `transport`: HTTP basic auth or a bearer token as an
 * Authorization header, with redirects refused; for ssh, the key and known_hosts files. Credentials that do
 * not apply to the transport (a token for ssh, anything for git:// or file://) are ignored. Pure. Throws
 * StalledError('InvalidCredentials') when ssh has no known_hosts (a server that is not pinned is never
 * trusted).
 */
export function authPlan(transport: Transport, url: string, credentials: GitCredentials | undefined): AuthPlan {
  const creds = credentials ?? {};
  if (transport === 'ssh') {
    if (creds.knownHosts === undefined) {
      throw new StalledError('InvalidCredentials', `ssh needs known_hosts to verify the server of ${scrubUrl(url)}: add "known_hosts" to the credentials Secret`);
    }
    return { config: [], ssh: { identity: creds.identity, knownHosts: creds.knownHosts }, secrets: keyLines(creds.identity) };
  }
  if (transport !== 'http') return { config: [], secrets: [] };
  let header: string | undefined;
  const secrets: string[] = [];
  if (creds.bearerToken !== undefined) {
    header = `Bearer ${creds.bearerToken}`;
    secrets.push(creds.bearerToken);
  } else if (creds.username !== undefined) {
    const basic = Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64');
    header = `Basic ${basic}`;
    secrets.push(basic);
    if (creds.password !== undefined) secrets.push(creds.password);
  }
  if (header === undefined) return { config: [], secrets };
  return {
    config: [
      ['http.extraHeader', `Authorization: ${header}`],
      // git sends extra headers along a redirect, to whichever host it points at (even with the header scoped
      // by `http.<url>.extraHeader`): with credentials, a redirect is an error instead.
      ['http.followRedirects', 'false'],
    ],
    secrets,
  };
}

/** Lines of a private key long enough to be key material (not the BEGIN/END markers). */
function keyLines(identity: string | undefined): string[] {
  return (identity ?? '').split(/\r?\n/).filter((l) => l.length >= 16 && !l.startsWith('-----'));
}

/**
 * Writes the plan's ssh files (mode 0600) into `dir` — a folder only this process can read (mode 0700), which
 * the caller deletes after the command — and returns the environment that makes git's ssh use exactly them:
 * no ssh config, no agent, no other identity, strict checking against that known_hosts only, never a prompt.
 * Returns `{}` when the plan has no ssh part.
 */
export async function writeSshFiles(plan: AuthPlan, dir: string): Promise<Record<string, string>> {
  if (!plan.ssh) return {};
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, withNewline(plan.ssh.knownHosts), { mode: 0o600 });
  let identity = ['-o IdentityFile=none'];
  if (plan.ssh.identity !== undefined) {
    const key = join(dir, 'identity');
    // ssh refuses a key file whose last line has no line break.
    await writeFile(key, withNewline(plan.ssh.identity), { mode: 0o600 });
    identity = [`-i ${shellQuote(key)}`];
  }
  const command = [
    'ssh',
    '-F /dev/null',
    ...identity,
    '-o IdentitiesOnly=yes',
    '-o IdentityAgent=none',
    `-o UserKnownHostsFile=${shellQuote(knownHosts)}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    '-o BatchMode=yes',
    '-o LogLevel=ERROR',
  ].join(' ');
  return { GIT_SSH_COMMAND: command, GIT_SSH_VARIANT: 'ssh' };
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** A single-quoted word for the POSIX shell git runs GIT_SSH_COMMAND with. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** What a secret is replaced with in text. */
export const REDACTED_TEXT = '[REDACTED]';

/**
 * `text` (git's stderr, typically) with the userinfo of every URL in it removed and every one of `secrets`
 * replaced by "[REDACTED]". Never throws.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"]*@/gi, '$1');
  for (const secret of secrets) if (secret !== '') out = out.split(secret).join(REDACTED_TEXT);
  return out;
}
