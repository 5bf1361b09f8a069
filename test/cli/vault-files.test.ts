// `seal vault create-key`, `seal rewrap` and `seal --vault-key --merge-into` as processes against a real
// Vault dev server, each with a token holding only what that command needs: files change only in their
// ciphertext lines, and nothing is written when any file fails.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Vault } from '../env/vault.js';
import { KEYS, runSeal, tempDir, type RunResult } from '../helpers/run-seal.js';
import { POLICIES, startVaultWithKeys, tokenWith } from '../helpers/vault-access.js';

const CERT = join(KEYS, 'sealing-2048.crt');
const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {user: admin, password: hunter2}\n';
const WEB = 'apiVersion: v1\nkind: Secret\nmetadata: {name: web, namespace: prod}\nstringData: {token: t0k}\n';

/** The numbers of the lines that differ between two texts of the same line count. */
function changedLines(before: string, after: string): number[] {
  const [a, b] = [before.split('\n'), after.split('\n')];
  assert.equal(b.length, a.length, 'same number of lines');
  return a.map((line, i) => (line === b[i] ? -1 : i)).filter((i) => i >= 0);
}

describe('Vault-sealed files', () => {
  let vault: Vault;
  const tokens = { seal: '', unseal: '', rewrap: '', createKey: '' };

  async function seal(args: string[], options: { token?: string; stdin?: string } = {}): Promise<RunResult> {
    const env: Record<string, string> = { VAULT_ADDR: vault.addr, ...(options.token ? { VAULT_TOKEN: options.token } : {}) };
    const r = await runSeal(args, { stdin: options.stdin, env });
    for (const token of [vault.rootToken, ...Object.values(tokens)]) {
      assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), 'a token was printed');
    }
    return r;
  }

  /** `seal --vault-key app` of `secret`, with a comment line above it so a file has more than values. */
  async function sealedFile(secret: string): Promise<string> {
    const r = await seal(['--vault-key', 'app'], { stdin: secret, token: tokens.seal });
    assert.equal(r.stderr, '');
    return `# owned by the storage team\n${r.stdout.replace('  encryptedData:\n', '  encryptedData:\n    # rotated with the key\n')}`;
  }

  before(async () => {
    vault = await startVaultWithKeys();
    tokens.seal = await tokenWith(vault, 'seal-app', POLICIES.seal('app'));
    tokens.unseal = await tokenWith(vault, 'unseal-app', POLICIES.unseal('app'));
    tokens.rewrap = await tokenWith(vault, 'rewrap-app', POLICIES.rewrap('app'));
    tokens.createKey = await tokenWith(vault, 'create-team', POLICIES.createKey('team-db'));
  });
  after(async () => {
    await vault?.stop();
  });

  describe('seal vault create-key', () => {
    it('creates a derived aes256-gcm96 key once, and says so', async () => {
      const r = await seal(['vault', 'create-key', 'team-db'], { token: tokens.createKey });
      assert.deepEqual(r, { code: 0, stdout: '', stderr: 'created Vault transit key transit/team-db (aes256-gcm96, derived)\n' });
      const key = (await vault.request('GET', 'transit/keys/team-db')) as { data: { derived: boolean; type: string; latest_version: number } };
      assert.deepEqual([key.data.derived, key.data.type, key.data.latest_version], [true, 'aes256-gcm96', 1]);
      const again = await seal(['vault', 'create-key', 'team-db'], { token: tokens.createKey });
      assert.deepEqual(again, {
        code: 0,
        stdout: '',
        stderr: 'Vault transit key transit/team-db exists already (aes256-gcm96, derived, version 1); nothing changed\n',
      });
      const sealed = await seal(['--vault-key', 'team-db', '--vault-mount', '/transit/'], { stdin: SECRET, token: vault.rootToken });
      assert.equal(sealed.stderr, '');
      assert.match(sealed.stdout, /vault:\n {4}mount: transit\n {4}key: team-db\n/);
    });

    it('refuses a name taken by a key without derivation', async () => {
      const r = await seal(['vault', 'create-key', 'plain'], { token: vault.rootToken });
      assert.deepEqual(r, {
        code: 1,
        stdout: '',
        stderr: 'error: Vault transit key transit/plain exists without key derivation; derivation is fixed when a key is created, so choose another name\n',
      });
    });
  });

  describe('seal rewrap', () => {
    it("rewraps a tree to the key's newest version, changing only the ciphertext lines", async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'apps/db'), { recursive: true });
      mkdirSync(join(dir, 'apps/web'), { recursive: true });
      const byCert = (await seal(['--cert', CERT], { stdin: WEB.replace('name: web', 'name: legacy') })).stdout;
      const files: Record<string, string> = {
        'apps/db/sealed.yaml': await sealedFile(SECRET),
        'apps/web/sealed.yaml': `${await sealedFile(WEB)}---\n${byCert}`,
        'apps/web/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n',
      };
      for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
      await vault.request('POST', 'transit/keys/app/rotate', {});

      const r = await seal(['rewrap', dir], { token: tokens.rewrap });
      assert.deepEqual(r, {
        code: 0,
        stdout: '',
        stderr:
          `${join(dir, 'apps/db/sealed.yaml')}: rewrapped 2 of 2 values in 1 SealedSecret\n` +
          `${join(dir, 'apps/web/sealed.yaml')}: rewrapped 1 of 1 values in 1 SealedSecret\n`,
      });
      const after: Record<string, string> = {};
      for (const path of Object.keys(files)) after[path] = readFileSync(join(dir, path), 'utf8');
      // Exactly the Vault values' lines changed, each now at version 2; the cluster-key value stayed.
      for (const path of ['apps/db/sealed.yaml', 'apps/web/sealed.yaml']) {
        const lines = after[path]!.split('\n');
        const vaultLines = files[path]!.split('\n').flatMap((line, i) => (/^ {4}\w+: vault:v1:/.test(line) ? [i] : []));
        assert.deepEqual(changedLines(files[path]!, after[path]!), vaultLines, path);
        for (const i of vaultLines) assert.match(lines[i]!, /^ {4}\w+: vault:v2:[A-Za-z0-9+/]+=*$/);
      }
      assert.equal(after['apps/web/deployment.yaml'], files['apps/web/deployment.yaml']);
      assert.ok(after['apps/web/sealed.yaml']!.endsWith(byCert));

      const opened = await seal(['unseal', '--vault', '-f', join(dir, 'apps/db/sealed.yaml')], { token: tokens.unseal });
      assert.equal(opened.stderr, '');
      assert.match(opened.stdout, /data:\n {2}password: aHVudGVyMg==\n {2}user: YWRtaW4=\n$/);

      // Already at the newest version: nothing to do, not a byte changes.
      const again = await seal(['rewrap', join(dir, 'apps/db/sealed.yaml')], { token: tokens.rewrap });
      assert.deepEqual(again, { code: 0, stdout: '', stderr: `${join(dir, 'apps/db/sealed.yaml')}: rewrapped 0 of 2 values in 1 SealedSecret\n` });
      assert.equal(readFileSync(join(dir, 'apps/db/sealed.yaml'), 'utf8'), after['apps/db/sealed.yaml']);
    });

    it('writes nothing when one file fails', async () => {
      const dir = tempDir();
      const good = await sealedFile(SECRET);
      const bad = (await sealedFile(WEB)).replace(/token: vault:v(\d+):(\S{4})/, 'token: vault:v$1:AAAA');
      writeFileSync(join(dir, 'a.yaml'), good);
      writeFileSync(join(dir, 'b.yaml'), bad);
      await vault.request('POST', 'transit/keys/app/rotate', {});
      const r = await seal(['rewrap', dir], { token: tokens.rewrap });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(`^error: ${join(dir, 'b.yaml')}: SealedSecret prod/web: key token: moved or altered: .*POST transit/rewrap/app.*\\n$`),
      );
      assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), good);
      assert.equal(readFileSync(join(dir, 'b.yaml'), 'utf8'), bad);
    });

    it('refuses a file given by name that holds no Vault SealedSecret', async () => {
      const file = join(tempDir(), 'legacy.yaml');
      writeFileSync(file, (await seal(['--cert', CERT], { stdin: WEB })).stdout);
      assert.deepEqual(await seal(['rewrap', file], { token: tokens.rewrap }), {
        code: 1,
        stdout: '',
        stderr: `error: ${file}: holds no Vault SealedSecret\n`,
      });
    });
  });

  describe('seal --vault-key --merge-into', () => {
    it("seals the input's keys into a Vault sealed file: only those lines change", async () => {
      const file = join(tempDir(), 'sealed.yaml');
      const before = await sealedFile(SECRET);
      writeFileSync(file, before);
      const input = 'apiVersion: v1\nkind: Secret\nmetadata: {name: ignored}\nstringData: {password: new, token: t0k}\n';
      const r = await seal(['--vault-key', 'app', '--merge-into', file], { stdin: input, token: tokens.seal });
      assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
      const after = readFileSync(file, 'utf8');
      const [a, b] = [before.split('\n'), after.split('\n')];
      const at = a.findIndex((line) => line.startsWith('    password: '));
      // password replaced where it stood, token appended after the last value; every other line identical.
      assert.deepEqual(b.slice(0, at), a.slice(0, at));
      assert.match(b[at]!, /^ {4}password: vault:v\d+:/);
      assert.notEqual(b[at], a[at]);
      assert.equal(b[at + 1], a[at + 1]);
      assert.match(b[at + 2]!, /^ {4}token: vault:v\d+:/);
      assert.deepEqual(b.slice(at + 3), a.slice(at + 2));
      const opened = await seal(['unseal', '--vault', '-f', file], { token: tokens.unseal });
      assert.equal(opened.stderr, '');
      assert.match(opened.stdout, /data:\n {2}password: bmV3\n {2}user: YWRtaW4=\n {2}token: dDBr\n$/);
    });

    it('refuses to mix Vault and certificate values, or two transit keys, in one SealedSecret', async () => {
      const dir = tempDir();
      const vaultFile = join(dir, 'vault.yaml');
      const certFile = join(dir, 'cert.yaml');
      writeFileSync(vaultFile, await sealedFile(SECRET));
      writeFileSync(certFile, (await seal(['--cert', CERT], { stdin: SECRET })).stdout);
      const cases = [
        { args: ['--vault-key', 'app', '--merge-into', certFile], stderr: `error: ${certFile}: SealedSecret prod/db is sealed with the cluster certificate; merge with --cert, not --vault-key\n` },
        { args: ['--cert', CERT, '--merge-into', vaultFile], stderr: `error: ${vaultFile}: SealedSecret db is sealed with Vault; merge with --vault-key\n` },
        { args: ['--vault-key', 'team-db', '--merge-into', vaultFile], stderr: `error: ${vaultFile}: SealedSecret prod/db is sealed with Vault key transit/app, not transit/team-db\n` },
      ];
      const texts = [readFileSync(vaultFile, 'utf8'), readFileSync(certFile, 'utf8')];
      for (const { args, stderr } of cases) {
        assert.deepEqual(await seal(args, { stdin: WEB, token: tokens.seal }), { code: 1, stdout: '', stderr }, args.join(' '));
      }
      assert.deepEqual([readFileSync(vaultFile, 'utf8'), readFileSync(certFile, 'utf8')], texts);
    });
  });
});
