// `seal` (the default action) run as a process: output shape, every scope against the independent
// implementation of the format, both APIs, JSON, -w, SEAL_CERT, a URL, and every rejection.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { independentOpen } from '../independent/sealed-secrets-format.js';
import { KEYS, runSeal, SEAL_BIN, tempDir } from '../helpers/run-seal.js';

const CERT = join(KEYS, 'sealing-2048.crt');
const KEY = readFileSync(join(KEYS, 'sealing-2048.key'), 'utf8');

const SECRET = `# a comment
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db}
  annotations:
    team: storage
    kubectl.kubernetes.io/last-applied-configuration: '{"secret": "plain"}'
type: Opaque
data:
  password: aHVudGVyMg==
stringData:
  user: admin
`;

interface Sealed {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: { scope?: string; encryptedData: Record<string, string>; template: Record<string, unknown> };
}

function open(sealed: Sealed, key: string, label: string): string {
  return independentOpen(KEY, label, sealed.spec.encryptedData[key]!).toString('utf8');
}

describe('seal --cert', () => {
  it('writes a sigil.dev/v1 SealedSecret whose values open with the label of each scope', async () => {
    const cases = [
      { scope: 'strict', label: 'prod/db' },
      { scope: 'namespace-wide', label: 'prod' },
      { scope: 'cluster-wide', label: '' },
    ];
    for (const { scope, label } of cases) {
      const r = await runSeal(['--cert', CERT, '--scope', scope], { stdin: SECRET });
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      const sealed = yaml.load(r.stdout) as Sealed;
      assert.deepEqual(Object.keys(sealed.spec.encryptedData), ['password', 'user']);
      assert.equal(open(sealed, 'password', label), 'hunter2');
      assert.equal(open(sealed, 'user', label), 'admin');
      assert.throws(() => open(sealed, 'password', 'prod/other'));
      assert.deepEqual(
        { ...sealed, spec: { ...sealed.spec, encryptedData: {} } },
        {
          apiVersion: 'sigil.dev/v1',
          kind: 'SealedSecret',
          metadata: { name: 'db', namespace: 'prod' },
          spec: {
            scope,
            encryptedData: {},
            template: { metadata: { labels: { app: 'db' }, annotations: { team: 'storage' } }, type: 'Opaque' },
          },
        },
      );
    }
  });

  it('writes bitnami.com/v1alpha1 with scope annotations for --api bitnami', async () => {
    const r = await runSeal(['--cert', CERT, '--api', 'bitnami', '--scope', 'namespace-wide'], { stdin: SECRET });
    assert.equal(r.code, 0, r.stderr);
    const sealed = yaml.load(r.stdout) as Sealed;
    assert.equal(sealed.apiVersion, 'bitnami.com/v1alpha1');
    assert.deepEqual(sealed.metadata.annotations, { 'sealedsecrets.bitnami.com/namespace-wide': 'true' });
    assert.equal(sealed.spec.scope, undefined);
    assert.equal(open(sealed, 'password', 'prod'), 'hunter2');
  });

  it('seals every document of a multi-document input and fills the namespace from -n', async () => {
    const input = 'apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: one}\n---\n' +
      'apiVersion: v1\nkind: Secret\nmetadata: {name: b}\nstringData: {k: two}\n';
    const r = await runSeal(['--cert', CERT, '-n', 'team'], { stdin: input });
    assert.equal(r.code, 0, r.stderr);
    const docs = yaml.loadAll(r.stdout) as Sealed[];
    assert.deepEqual(docs.map((d) => d.metadata), [{ name: 'a', namespace: 'team' }, { name: 'b', namespace: 'team' }]);
    assert.equal(open(docs[0]!, 'k', 'team/a'), 'one');
    assert.equal(open(docs[1]!, 'k', 'team/b'), 'two');
  });

  it('answers JSON input with JSON, and -o yaml overrides it', async () => {
    const input = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'j', namespace: 'x' }, data: { a: 'Yg==' } });
    const json = await runSeal(['--cert', CERT], { stdin: input });
    assert.equal(json.code, 0, json.stderr);
    const sealed = JSON.parse(json.stdout) as Sealed;
    assert.equal(open(sealed, 'a', 'x/j'), 'b');
    const asYaml = await runSeal(['--cert', CERT, '-o', 'yaml'], { stdin: input });
    assert.match(asYaml.stdout, /^apiVersion: sigil\.dev\/v1\nkind: SealedSecret\n/);
  });

  it('takes the certificate from SEAL_CERT and from an http URL', async () => {
    const env = await runSeal([], { stdin: SECRET, env: { SEAL_CERT: CERT } });
    assert.equal(env.code, 0, env.stderr);
    const server = createServer((req, res) => {
      const basic = `Basic ${Buffer.from('user:pw').toString('base64')}`;
      if (req.url === '/v1/cert.pem') res.end(readFileSync(CERT));
      else if (req.url === '/private/cert.pem' && req.headers.authorization === basic) res.end(readFileSync(CERT));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const ok = await runSeal(['--cert', `http://127.0.0.1:${port}/v1/cert.pem`], { stdin: SECRET });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(open(yaml.load(ok.stdout) as Sealed, 'user', 'prod/db'), 'admin');
      const withAuth = await runSeal(['--cert', `http://user:pw@127.0.0.1:${port}/private/cert.pem`], { stdin: SECRET });
      assert.equal(withAuth.code, 0, withAuth.stderr);
      const missing = await runSeal(['--cert', `http://user:pw@127.0.0.1:${port}/nope?token=t`], { stdin: SECRET });
      assert.deepEqual(missing, {
        code: 1,
        stdout: '',
        stderr: `error: cannot fetch certificate http://127.0.0.1:${port}/nope: HTTP 404\n`,
      });
    } finally {
      server.close();
    }
  });

  it('-w writes the file only when sealing succeeded', async () => {
    const dir = tempDir();
    const out = join(dir, 'sealed.yaml');
    const ok = await runSeal(['--cert', CERT, '-w', out], { stdin: SECRET });
    assert.deepEqual([ok.code, ok.stdout], [0, '']);
    const before = readFileSync(out, 'utf8');
    assert.match(before, /kind: SealedSecret/);
    const bad = await runSeal(['--cert', CERT, '-w', out], { stdin: SECRET.replace('aHVudGVyMg==', 'not*base64') });
    assert.equal(bad.code, 1);
    assert.equal(readFileSync(out, 'utf8'), before);
    const fresh = join(dir, 'never.yaml');
    await runSeal(['--cert', CERT, '-w', fresh], { stdin: 'kind: ConfigMap\n' });
    assert.equal(existsSync(fresh), false);
  });
});

describe('seal --raw', () => {
  it('prints one value that opens in its scope', async () => {
    const cases = [
      { args: ['--name', 'db', '-n', 'prod'], label: 'prod/db' },
      { args: ['-n', 'prod', '--scope', 'namespace-wide'], label: 'prod' },
      { args: ['--scope', 'cluster-wide'], label: '' },
    ];
    for (const { args, label } of cases) {
      const r = await runSeal(['--cert', CERT, '--raw', ...args], { stdin: 's3cret' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^[A-Za-z0-9+/]+=*\n$/);
      assert.equal(independentOpen(KEY, label, r.stdout.trim()).toString(), 's3cret');
    }
  });

  it('reads --from-file bytes as they are', async () => {
    const file = join(tempDir(), 'value.bin');
    const bytes = Buffer.from([0, 255, 10, 13, 128]);
    writeFileSync(file, bytes);
    const r = await runSeal(['--cert', CERT, '--raw', '--scope', 'cluster-wide', '--from-file', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(independentOpen(KEY, '', r.stdout.trim()), bytes);
  });
});

describe('seal rejects bad input with one line and the right exit code', () => {
  const secret = (body: string): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\n${body}`;
  const cases: { name: string; args?: string[]; stdin: string; code: number; stderr: string | RegExp }[] = [
    {
      name: 'a non-Secret kind',
      stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n',
      code: 1,
      stderr: 'error: stdin: document 1 is a ConfigMap, not a Secret\n',
    },
    {
      name: 'a missing name',
      stdin: 'apiVersion: v1\nkind: Secret\nstringData: {a: b}\n',
      code: 1,
      stderr: /^error: stdin: document 1.*metadata\.name.*\n$/,
    },
    {
      name: 'an unquoted YAML boolean',
      stdin: secret('stringData:\n  enabled: yes\n'),
      code: 1,
      stderr: /^error: stdin: document 1 \(Secret prod\/db\): stringData\.enabled is a boolean, not a string; quote it\n$/,
    },
    {
      name: 'a number',
      stdin: secret('stringData:\n  port: 5432\n'),
      code: 1,
      stderr: /^error: stdin: document 1 \(Secret prod\/db\): stringData\.port is a number, not a string; quote it\n$/,
    },
    {
      name: 'invalid base64',
      stdin: secret('data:\n  password: hunter2!\n'),
      code: 1,
      stderr: /^error: stdin: document 1 \(Secret prod\/db\): data\.password is not valid base64.*\n$/,
    },
    {
      name: 'empty data',
      stdin: secret('data: {}\n'),
      code: 1,
      stderr: /^error: stdin: document 1 \(Secret prod\/db\): .*no data.*--allow-empty-data.*\n$/,
    },
    {
      name: 'a namespace that contradicts -n',
      args: ['-n', 'dev'],
      stdin: secret('stringData: {a: b}\n'),
      code: 1,
      stderr: 'error: stdin: document 1 (Secret prod/db): its namespace prod differs from -n dev\n',
    },
    { name: 'an expired certificate', args: ['--cert', join(KEYS, 'expired.crt')], stdin: secret('stringData: {a: b}\n'), code: 1, stderr: /^error: certificate .*expired\.crt: the certificate expired on 20\d\d-.*\n$/ },
    { name: 'a missing certificate file', args: ['--cert', '/nonexistent/cert.pem'], stdin: secret('stringData: {a: b}\n'), code: 1, stderr: 'error: cannot read certificate /nonexistent/cert.pem: ENOENT: no such file or directory\n' },
    { name: 'a file that is not a certificate', args: ['--cert', join(KEYS, 'sealing-2048.key')], stdin: secret('stringData: {a: b}\n'), code: 1, stderr: /^error: certificate .*sealing-2048\.key: not a PEM certificate \(no BEGIN CERTIFICATE block\)\n$/ },
    { name: 'no certificate at all', args: ['--cert', ''], stdin: secret('stringData: {a: b}\n'), code: 2, stderr: 'error: no sealing certificate: give --cert FILE|URL, set SEAL_CERT, or set KUBECONFIG to a cluster running sigil-controller\n' },
    { name: 'a bad --scope', args: ['--scope', 'global'], stdin: '', code: 2, stderr: /^error: option '--scope <scope>' argument 'global' is invalid\. use one of strict, namespace-wide, cluster-wide\n/ },
    { name: 'an unknown option', args: ['--frobnicate'], stdin: '', code: 2, stderr: /^error: unknown option '--frobnicate'\n/ },
    { name: '--raw strict without --name', args: ['--raw', '-n', 'prod'], stdin: 'v', code: 2, stderr: 'error: --raw with --scope strict needs --name and -n\n' },
    { name: '--name without --raw', args: ['--name', 'x'], stdin: secret('stringData: {a: b}\n'), code: 2, stderr: 'error: --name and --from-file go with --raw\n' },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const args = c.args?.includes('--cert') ? c.args : ['--cert', CERT, ...(c.args ?? [])];
      const r = await runSeal(args, { stdin: c.stdin });
      assert.equal(r.stdout, '');
      if (typeof c.stderr === 'string') assert.equal(r.stderr, c.stderr);
      else assert.match(r.stderr, c.stderr);
      assert.equal(r.code, c.code);
      assert.doesNotMatch(r.stderr, /hunter2|5432/);
    });
  }

  it('accepts empty data with --allow-empty-data', async () => {
    const r = await runSeal(['--cert', CERT, '--allow-empty-data'], { stdin: secret('data: {}\n') });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((yaml.load(r.stdout) as Sealed).spec.encryptedData, {});
  });
});

describe('seal writing into a pipe that closes early', () => {
  it('exits 0 quietly when the reader has gone (seal --help | head -1)', async () => {
    const child = spawn(process.execPath, [SEAL_BIN, 'vault', 'create-key', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before seal writes anything: every write meets a closed pipe (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.deepEqual([code, stderr], [0, '']);
  });
});
