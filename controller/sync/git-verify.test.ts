// Signed commits on local repositories made in a temp folder: SSH signatures (test/env's commitFiles with
// signWith) and OpenPGP ones (a key made with gpg in a private GNUPGHOME), checked through GitSource after a
// shallow fetch; and the trusted keys read from a Secret. The real servers are in
// test/integration/git-verify.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SigilError, StalledError, TransientError } from '../../shared/errors.js';
import { execOk, isolatedGitEnv } from '../../test/env/git-exec.js';
import { gitRepos, type GitRepos } from '../../test/env/git-repos.js';
import { createLogger } from '../runtime/logger.js';
import { GitSource } from './git-source.js';
import { trustedKeysFromSecretData, verifyCommitObject, type TrustedKeys } from './git-verify.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const short = (sha: string): string => sha.slice(0, 7);

/** The error `promise` rejects with, checked to be of `type` with `reason` and `message`. */
async function rejects(promise: Promise<unknown>, type: typeof SigilError, reason: string, message: string): Promise<void> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof type, `${String(err)} is not a ${type.name}`);
  assert.deepEqual([err.reason, err.message], [reason, message]);
}

/** Pids of live processes whose command line names `path` (the gpg-agent runs with `--homedir <path>/…`). */
function processesNaming(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** `fn`'s StalledError as [reason, message]. */
function stalled(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StalledError, String(err));
    return [err.reason, err.message];
  }
  return assert.fail('expected a StalledError');
}

describe('trustedKeysFromSecretData', () => {
  // Real public keys (their content does not matter here, only their form).
  const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  const PGP_BODY = 'mDMEawxMlRYJKwYBBAHaRw8BAQdAvg+Iqqm/SBcVlkjCGNB8YDupRMIUIYQirlXCaGHWmVa0FFRlc3QgPHRAZXhhbXBsZS5jb20+';
  const block = (body: string, checksum?: string, kind = 'PUBLIC'): string =>
    `-----BEGIN PGP ${kind} KEY BLOCK-----\nComment: test\n\n${body.match(/.{1,64}/g)!.join('\n')}\n${checksum === undefined ? '' : `=${checksum}\n`}-----END PGP ${kind} KEY BLOCK-----\n`;
  const crc = (body: string): string => {
    let c = 0xb704ce;
    for (const byte of Buffer.from(body, 'base64')) {
      c ^= byte << 16;
      for (let i = 0; i < 8; i++) {
        c <<= 1;
        if (c & 0x1000000) c ^= 0x1864cfb;
      }
    }
    return Buffer.from([(c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff]).toString('base64');
  };

  it('reads allowed_signers (bare keys get "*", line for line) and every .asc key, in key order', () => {
    const signers = `# team\nalice@example.com ${ED} alice's laptop\r\n\n${ED}\nbob@example.com namespaces="git,file",valid-after="20240101" ${ED}\n`;
    const keys = trustedKeysFromSecretData(
      { allowed_signers: b64(signers), 'z.asc': b64(block(PGP_BODY, crc(PGP_BODY))), 'a.asc': b64(block(PGP_BODY)), username: b64('ignored'), 'empty.asc': '' },
      'trusted',
    );
    assert.deepEqual(keys, {
      allowedSigners: `# team\nalice@example.com ${ED} alice's laptop\n\n* ${ED}\nbob@example.com namespaces="git,file",valid-after="20240101" ${ED}\n`,
      pgpKeys: [block(PGP_BODY), block(PGP_BODY, crc(PGP_BODY))],
    });
  });

  it('an OpenPGP key alone is enough', () => {
    assert.deepEqual(trustedKeysFromSecretData({ 'k.asc': b64(block(PGP_BODY)) }, 's'), { pgpKeys: [block(PGP_BODY)] });
  });

  const noKeys = 'Secret s: no trusted keys: expected "allowed_signers" (SSH allowed signers) or keys ending in ".asc" (OpenPGP public keys)';
  const cases: Array<[string, Record<string, string> | undefined, string]> = [
    ['no data', undefined, noKeys],
    ['only other keys', { identity: b64('x'), 'key.pub': b64(ED) }, noKeys],
    ['only comments and empty values', { allowed_signers: b64('# nobody yet\n\n'), 'a.asc': '' }, noKeys],
    ['allowed_signers not base64', { allowed_signers: 'not base64!' }, 'Secret s: "allowed_signers" is not base64'],
    ['a line without a key', { allowed_signers: b64(`alice@example.com ${ED}\nbob@example.com\n`) }, 'Secret s: "allowed_signers" line 2 is not "principals [options] key-type key"'],
    ['the key type too late', { allowed_signers: b64(`a b c ${ED}\n`) }, 'Secret s: "allowed_signers" line 1 is not "principals [options] key-type key"'],
    ['a key of another type', { allowed_signers: b64(`a ssh-rsa ${ED.split(' ')[1]!}\n`) }, 'Secret s: "allowed_signers" line 1: the ssh-rsa key is malformed'],
    ['a key that is not base64', { allowed_signers: b64('a ssh-ed25519 AAAA@@\n') }, 'Secret s: "allowed_signers" line 1: the ssh-ed25519 key is malformed'],
    ['a key type without a key', { allowed_signers: b64('a ssh-ed25519\n') }, 'Secret s: "allowed_signers" line 1: the ssh-ed25519 key is malformed'],
    [
      'an SSH private key',
      { allowed_signers: b64('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n') },
      'Secret s: "allowed_signers" holds a private key; only public keys belong here',
    ],
    ['.asc not base64', { 'a.asc': '%%' }, 'Secret s: "a.asc" is not base64'],
    ['.asc not armored', { 'a.asc': b64(PGP_BODY) }, 'Secret s: "a.asc" is not an ASCII-armored OpenPGP public key block'],
    ['.asc an OpenPGP private key', { 'a.asc': b64(block(PGP_BODY, undefined, 'PRIVATE')) }, 'Secret s: "a.asc" holds a private key; only public keys belong here'],
    ['.asc with a wrong checksum', { 'a.asc': b64(block(PGP_BODY, 'AAAA')) }, 'Secret s: "a.asc" holds a damaged OpenPGP block (checksum mismatch)'],
    ['.asc whose body is not base64', { 'a.asc': b64(block('mDME@@@@')) }, 'Secret s: "a.asc" is not an ASCII-armored OpenPGP public key block'],
    // An old-format signature packet (tag 2) armored as a public key.
    ['.asc holding no public key', { 'a.asc': b64(block(Buffer.from([0x88, 0x01, 0x00]).toString('base64'))) }, 'Secret s: "a.asc" is not an ASCII-armored OpenPGP public key block'],
  ];
  for (const [name, data, message] of cases) {
    it(`${name} → InvalidVerifyKeys`, () => assert.deepEqual(stalled(() => trustedKeysFromSecretData(data, 's')), ['InvalidVerifyKeys', message]));
  }
});

describe('verifying signed commits', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let gpgEnv: NodeJS.ProcessEnv;
  let repos: GitRepos;
  let url: string;
  let source: GitSource;
  let cacheDir: string;
  const ssh = { trusted: '', other: '', trustedPub: '', otherPub: '', trustedFp: '', otherFp: '' };
  const pgp = { trustedFpr: '', otherFpr: '', trustedPub: '', otherPub: '' };
  const commits = { ssh: '', unsigned: '', otherSsh: '', pgp: '', otherPgp: '' };
  let sshKeys: TrustedKeys;
  let pgpKeys: TrustedKeys;

  /** An ed25519 key pair: [private key path, public key line, SHA256 fingerprint]. */
  async function sshKey(name: string): Promise<[string, string, string]> {
    const path = join(dir, name);
    await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], { env });
    const fingerprint = (await execOk('ssh-keygen', ['-l', '-f', `${path}.pub`], { env })).split(' ')[1]!;
    return [path, readFileSync(`${path}.pub`, 'utf8').split(' ').slice(0, 2).join(' '), fingerprint];
  }

  /** A new OpenPGP signing key: [fingerprint, armored public key]. */
  async function pgpKey(uid: string): Promise<[string, string]> {
    await execOk('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], { env: gpgEnv });
    const listing = await execOk('gpg', ['--batch', '--with-colons', '--list-keys', uid], { env: gpgEnv });
    const fpr = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(listing)![1]!;
    return [fpr, await execOk('gpg', ['--batch', '--armor', '--export', fpr], { env: gpgEnv })];
  }

  /** An empty commit on branch `pgp`, signed with the OpenPGP key `fpr` (as `git commit -S` does it). */
  async function pgpCommit(fpr: string, message: string): Promise<string> {
    const work = join(dir, 'pgp-work');
    await execOk('git', ['-c', 'gpg.program=gpg', '-c', `user.signingkey=${fpr}`, 'commit', '--quiet', '--allow-empty', '-S', '-m', message], { cwd: work, env: gpgEnv });
    await execOk('git', ['push', '--quiet', 'origin', 'HEAD:refs/heads/pgp'], { cwd: work, env: gpgEnv });
    return (await execOk('git', ['rev-parse', 'HEAD'], { cwd: work, env: gpgEnv })).trim();
  }

  /** The commit object text, as the cache holds it. */
  const object = (sha: string): Promise<string> => execOk('git', ['--git-dir', join(dir, 'repos', 'app.git'), 'cat-file', 'commit', sha], { env });
  const verify = async (sha: string, keys: TrustedKeys): Promise<unknown> => {
    await source.checkout(url, sha);
    return source.verifyCommit(url, sha, keys);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-git-verify-'));
    env = isolatedGitEnv(join(dir, 'home'));
    mkdirSync(join(dir, 'gnupg'), { mode: 0o700 });
    gpgEnv = { ...env, GNUPGHOME: join(dir, 'gnupg') };
    repos = gitRepos(join(dir, 'repos'), join(dir, 'scratch'), env);
    url = join(dir, 'repos', 'app.git');
    cacheDir = join(dir, 'cache');
    source = new GitSource({ cacheDir, log: createLogger({ level: 'debug', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) }) });

    [ssh.trusted, ssh.trustedPub, ssh.trustedFp] = await sshKey('trusted');
    [ssh.other, ssh.otherPub, ssh.otherFp] = await sshKey('other');
    [pgp.trustedFpr, pgp.trustedPub] = await pgpKey('Test <t@example.com>');
    [pgp.otherFpr, pgp.otherPub] = await pgpKey('Other <o@example.com>');
    sshKeys = trustedKeysFromSecretData({ allowed_signers: b64(`alice@example.com ${ssh.trustedPub}\n`) }, 'verify');
    pgpKeys = trustedKeysFromSecretData({ 'test.asc': b64(pgp.trustedPub) }, 'verify');

    await repos.createRepo('app');
    commits.ssh = await repos.commitFiles('app', { 'cm.yaml': 'kind: ConfigMap\n' }, 'signed', { signWith: ssh.trusted });
    commits.unsigned = await repos.commitFiles('app', { 'cm.yaml': 'kind: ConfigMap # 2\n' }, 'unsigned');
    commits.otherSsh = await repos.commitFiles('app', { 'cm.yaml': 'kind: ConfigMap # 3\n' }, 'signed by another key', { signWith: ssh.other });
    await execOk('git', ['clone', '--quiet', url, join(dir, 'pgp-work')], { env });
    commits.pgp = await pgpCommit(pgp.trustedFpr, 'pgp signed');
    commits.otherPgp = await pgpCommit(pgp.otherFpr, 'pgp signed by another key');
  });

  after(async () => {
    // Key generation and signing started a gpg-agent (detached) for this GNUPGHOME: stop it, see it gone.
    if (gpgEnv) {
      await execOk('gpgconf', ['--kill', 'all'], { env: gpgEnv });
      const deadline = Date.now() + 5000;
      while (processesNaming(dir).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(processesNaming(dir), []);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an SSH signature by a trusted key names its principal; a bare key line, its fingerprint', async () => {
    assert.deepEqual(await verify(commits.ssh, sshKeys), { format: 'ssh', signer: 'alice@example.com' });
    const bare = trustedKeysFromSecretData({ allowed_signers: b64(`${ssh.otherPub}\n${ssh.trustedPub}\n`) }, 'verify');
    assert.deepEqual(await verify(commits.ssh, bare), { format: 'ssh', signer: ssh.trustedFp });
    // What was fetched is one commit deep.
    const [bareRepo] = readdirSync(join(cacheDir, 'repos'));
    assert.equal((await execOk('git', ['--git-dir', join(cacheDir, 'repos', bareRepo!), 'rev-parse', '--is-shallow-repository'], { env })).trim(), 'true');
  });

  it('an unsigned commit is refused', async () => {
    await rejects(verify(commits.unsigned, sshKeys), StalledError, 'VerificationFailed', `commit ${short(commits.unsigned)} is not signed`);
  });

  it('an SSH signature by a key the Secret does not hold is refused, naming its fingerprint', async () => {
    const message = `commit ${short(commits.otherSsh)} is signed by a key that is not trusted (${ssh.otherFp})`;
    await rejects(verify(commits.otherSsh, sshKeys), StalledError, 'VerificationFailed', message);
    // Trusting OpenPGP keys only does not make an SSH signature good.
    await rejects(verify(commits.otherSsh, pgpKeys), StalledError, 'VerificationFailed', message);
  });

  it('a trusted key whose line has expired is not trusted, and ssh-keygen says why', async () => {
    const expired = trustedKeysFromSecretData({ allowed_signers: b64(`# expired\nalice@example.com valid-before="20200101" ${ssh.trustedPub}\n`) }, 'verify');
    const err = await verify(commits.ssh, expired).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StalledError && err.reason === 'VerificationFailed', String(err));
    const prefix = `commit ${short(commits.ssh)} is signed by a key that is not trusted (${ssh.trustedFp}): allowed_signers:2: key has expired: verify time `;
    assert.ok(err.message.startsWith(prefix) && err.message.endsWith(' > valid-before 2020-01-01T00:00:00'), err.message);
  });

  it('an OpenPGP signature by a trusted key names its fingerprint', async () => {
    assert.deepEqual(await verify(commits.pgp, pgpKeys), { format: 'openpgp', signer: pgp.trustedFpr });
    const both = trustedKeysFromSecretData({ 'other.asc': b64(pgp.otherPub), 'test.asc': b64(pgp.trustedPub), allowed_signers: b64(ssh.trustedPub) }, 'verify');
    assert.deepEqual(await verify(commits.otherPgp, both), { format: 'openpgp', signer: pgp.otherFpr });
  });

  it('an OpenPGP signature by a key the Secret does not hold is refused, naming its fingerprint', async () => {
    const message = `commit ${short(commits.otherPgp)} is signed by a key that is not trusted (${pgp.otherFpr})`;
    await rejects(verify(commits.otherPgp, pgpKeys), StalledError, 'VerificationFailed', message);
    await rejects(verify(commits.otherPgp, sshKeys), StalledError, 'VerificationFailed', message);
  });

  it('a signature that does not match the commit is refused, for both formats', async () => {
    const options = { tmpDir: join(cacheDir, 'tmp') };
    const sshObject = (await object(commits.ssh)).replace('\nsigned\n', '\nsigned, then changed\n');
    await rejects(
      verifyCommitObject(commits.ssh, sshObject, sshKeys, options),
      StalledError,
      'VerificationFailed',
      `commit ${short(commits.ssh)} has a bad signature (${ssh.trustedFp}): Signature verification failed: incorrect signature`,
    );
    const pgpObject = (await object(commits.pgp)).replace('\npgp signed\n', '\npgp signed, then changed\n');
    await rejects(
      verifyCommitObject(commits.pgp, pgpObject, pgpKeys, options),
      StalledError,
      'VerificationFailed',
      `commit ${short(commits.pgp)} has a bad signature (${pgp.trustedFpr}): the content does not match`,
    );
  });

  it('signatures of other kinds, and commits in another encoding, are refused', async () => {
    const options = { tmpDir: join(cacheDir, 'tmp') };
    const signed = await object(commits.ssh);
    const x509 = signed.replace(/gpgsig [\s\S]*?-----END SSH SIGNATURE-----\n/, 'gpgsig -----BEGIN SIGNED MESSAGE-----\n MIAGCSqGSIb3DQEHAqCAMIACAQEx\n -----END SIGNED MESSAGE-----\n');
    await rejects(verifyCommitObject(commits.ssh, x509, sshKeys, options), StalledError, 'VerificationFailed', `commit ${short(commits.ssh)} has a signature that is neither SSH nor OpenPGP`);
    const latin1 = signed.replace(/\ngpgsig /, '\nencoding ISO-8859-1\ngpgsig ');
    await rejects(verifyCommitObject(commits.ssh, latin1, sshKeys, options), StalledError, 'VerificationFailed', `commit ${short(commits.ssh)} is encoded in ISO-8859-1; only UTF-8 commits can be verified`);
  });

  it('a commit that was not fetched is GitFailed; a short sha is a RangeError', async () => {
    const missing = '0123456789012345678901234567890123456789';
    const err = await source.verifyCommit(url, missing, sshKeys).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransientError && err.reason === 'GitFailed', String(err));
    await assert.rejects(source.verifyCommit(url, 'abc1234', sshKeys), RangeError);
  });

  it('leaves no key or signature file behind', () => {
    assert.deepEqual(readdirSync(join(cacheDir, 'tmp')), []);
  });
});
