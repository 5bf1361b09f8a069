// Signed commits through the real Git servers of the test environment: commits SSH-signed as a person would
// (test/env's commitFiles with signWith) and pushed, fetched by GitSource over git:// and SSH (shallowly, or
// with all history where the SSH server hands out ref tips only), then verified against the allowed signers
// of a Secret: a trusted signature passes, an unsigned or wrongly signed commit is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SigilError } from '../../shared/errors.js';
import { createLogger } from '../../controller/runtime/logger.js';
import { GitSource, type GitCredentials } from '../../controller/sync/git-source.js';
import { trustedKeysFromSecretData, type TrustedKeys } from '../../controller/sync/git-verify.js';
import { execOk } from '../env/git-exec.js';
import { startGitServers, type GitServers } from '../env/git.js';

let dir: string;
let servers: GitServers;
let keys: TrustedKeys;
let otherFingerprint: string;
const commits = { trusted: '', unsigned: '', wrong: '' };
/** Every verification error, checked at the end for key material. */
const messages: string[] = [];
const publicKeys: string[] = [];
let sources = 0;

function newSource(): { source: GitSource; cacheDir: string } {
  const cacheDir = join(dir, `cache-${++sources}`);
  const log = createLogger({ level: 'debug', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) });
  return { source: new GitSource({ cacheDir, log }), cacheDir };
}

/** An ed25519 key pair for signing: [private key path, `type base64` public key, SHA256 fingerprint]. */
async function signingKey(name: string): Promise<[string, string, string]> {
  const path = join(dir, name);
  await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], { env: servers.env });
  const fingerprint = (await execOk('ssh-keygen', ['-l', '-f', `${path}.pub`], { env: servers.env })).split(' ')[1]!;
  return [path, readFileSync(`${path}.pub`, 'utf8').split(' ').slice(0, 2).join(' '), fingerprint];
}

/** The VerificationFailed message `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SigilError, String(err));
  assert.deepEqual([err.name, err.reason], ['StalledError', 'VerificationFailed'], err.message);
  messages.push(err.message);
  return err.message;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-git-verify-int-'));
  servers = await startGitServers({ dir: join(dir, 'env') });
  const [trusted, trustedPub] = await signingKey('trusted');
  const [other, otherPub, otherFp] = await signingKey('other');
  publicKeys.push(trustedPub.split(' ')[1]!, otherPub.split(' ')[1]!);
  otherFingerprint = otherFp;
  keys = trustedKeysFromSecretData({ allowed_signers: Buffer.from(`deploy@example.com ${trustedPub}\n`).toString('base64') }, 'git-verify');
  await servers.createRepo('signed');
  commits.trusted = await servers.commitFiles('signed', { 'cm.yaml': 'kind: ConfigMap\n' }, 'signed by a trusted key', { signWith: trusted });
  commits.wrong = await servers.commitFiles('signed', { 'cm.yaml': 'kind: ConfigMap # 2\n' }, 'signed by another key', { signWith: other });
  commits.unsigned = await servers.commitFiles('signed', { 'cm.yaml': 'kind: ConfigMap # 3\n' }, 'not signed');
});

after(async () => {
  await servers?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('verifying commits fetched from real git servers', () => {
  const protocols = [
    { name: 'git://', url: (): string => servers.daemonUrl('signed'), creds: (): GitCredentials | undefined => undefined },
    {
      name: 'SSH',
      url: (): string => servers.sshUrl('signed'),
      // sshClientKey and sshKnownHosts are paths; a Secret holds their contents.
      creds: (): GitCredentials => ({ identity: readFileSync(servers.sshClientKey, 'utf8'), knownHosts: readFileSync(servers.sshKnownHosts, 'utf8') }),
    },
  ];

  for (const protocol of protocols) {
    describe(protocol.name, () => {
      it('the tip, unsigned, fetched one commit deep, is refused', async () => {
        const { source, cacheDir } = newSource();
        await source.checkout(protocol.url(), commits.unsigned, protocol.creds());
        const [repo] = readdirSync(join(cacheDir, 'repos'));
        const shallow = await execOk('git', ['--git-dir', join(cacheDir, 'repos', repo!), 'rev-parse', '--is-shallow-repository'], { env: servers.env });
        assert.equal(shallow.trim(), 'true');
        assert.equal(await refusal(source.verifyCommit(protocol.url(), commits.unsigned, keys)), `commit ${commits.unsigned.slice(0, 7)} is not signed`);
      });

      it('a commit signed by a trusted key passes, naming its principal', async () => {
        const { source, cacheDir } = newSource();
        await source.checkout(protocol.url(), commits.trusted, protocol.creds());
        assert.deepEqual(await source.verifyCommit(protocol.url(), commits.trusted, keys), { format: 'ssh', signer: 'deploy@example.com' });
        assert.deepEqual(readdirSync(join(cacheDir, 'tmp')), []);
      });

      it('a commit signed by a key the Secret does not hold is refused', async () => {
        const { source, cacheDir } = newSource();
        await source.checkout(protocol.url(), commits.wrong, protocol.creds());
        assert.equal(
          await refusal(source.verifyCommit(protocol.url(), commits.wrong, keys)),
          `commit ${commits.wrong.slice(0, 7)} is signed by a key that is not trusted (${otherFingerprint})`,
        );
        assert.deepEqual(readdirSync(join(cacheDir, 'tmp')), []);
      });
    });
  }

  it('no refusal holds key material', () => {
    assert.equal(messages.length, 4);
    for (const message of messages) for (const key of publicKeys) assert.ok(!message.includes(key), message);
  });
});
