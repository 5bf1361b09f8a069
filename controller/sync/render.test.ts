// renderPath on real folders in a temp dir: plain manifests, kustomize (the real binary), and every way a
// path or a symlink could lead outside the checkout.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SigilError, StalledError, TransientError } from '../../shared/errors.js';
import { binaryPath } from '../../test/env/build.js';
import { renderPath, type RenderedObject } from './render.js';

const KUSTOMIZE = binaryPath('kustomize', 'kustomize');
const OPTIONS = { kustomizePath: KUSTOMIZE };

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-'));
  root = join(dir, 'repo');
  mkdirSync(root);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes files (relative to the checkout root); a value `{ link }` makes a symlink to `link` instead. */
function write(files: Record<string, string | { link: string }>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === 'string') writeFileSync(full, content);
    else symlinkSync(content.link, full);
  }
}

const cm = (name: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
const cmYaml = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
const rendered = (source: string, ...objects: Record<string, unknown>[]): RenderedObject[] => objects.map((object, index) => ({ object, source, index }));

const FOLDER = {
  'deploy/b.yaml': `---\n${cmYaml('b1')}---\n# nothing\n---\n~\n---\n${cmYaml('b2')}`,
  'deploy/a.json': '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j1"}}\n{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j2"}}\n',
  'deploy/sub/c.yml': cmYaml('c'),
  'deploy/sub-x.yaml': cmYaml('sub-x'),
  'deploy/Z.yaml': cmYaml('z'),
  'deploy/empty.yaml': '# kept for later\n',
  'deploy/blank.yml': '',
  'deploy/.hidden.yaml': cmYaml('hidden'),
  'deploy/.git/config.yaml': cmYaml('git'),
  'deploy/README.md': 'not a manifest\n',
  'deploy/values.yaml.txt': cmYaml('txt'),
  'deploy/UPPER.YAML': cmYaml('upper'),
};
/** Byte order of relative paths: `Z` < `a`, and `sub-x.yaml` < `sub/c.yml` because `-` < `/`. */
const FOLDER_RENDERED = [
  ...rendered('deploy/Z.yaml', cm('z')),
  ...rendered('deploy/a.json', cm('j1'), cm('j2')),
  ...rendered('deploy/b.yaml', cm('b1'), cm('b2')),
  ...rendered('deploy/sub-x.yaml', cm('sub-x')),
  ...rendered('deploy/sub/c.yml', cm('c')),
];

const accepted: { name: string; files: Record<string, string | { link: string }>; path: string; expect: RenderedObject[] }[] = [
  { name: 'a folder, recursively, in byte order, skipping hidden and other files', files: FOLDER, path: 'deploy', expect: FOLDER_RENDERED },
  { name: 'the same folder written ./deploy/', files: FOLDER, path: './deploy/', expect: FOLDER_RENDERED },
  { name: 'the root as ""', files: { 'a.yaml': cmYaml('a'), 'x/b.yaml': cmYaml('b') }, path: '', expect: [...rendered('a.yaml', cm('a')), ...rendered('x/b.yaml', cm('b'))] },
  { name: 'the root as "."', files: { 'a.yaml': cmYaml('a') }, path: '.', expect: rendered('a.yaml', cm('a')) },
  { name: 'a path inside that goes through ..', files: { 'x/a.yaml': cmYaml('a') }, path: 'y/../x', expect: rendered('x/a.yaml', cm('a')) },
  { name: 'a path naming one file', files: { 'x/a.yaml': cmYaml('a'), 'x/b.yaml': cmYaml('b') }, path: 'x/b.yaml', expect: rendered('x/b.yaml', cm('b')) },
  { name: 'a folder with no manifests', files: { 'x/README.md': '' }, path: 'x', expect: [] },
  {
    name: 'Lists of any kind flattened: v1 List, ConfigMapList, a List of another apiVersion',
    files: {
      'l.yaml': [
        `apiVersion: v1\nkind: List\nitems:\n- ${cmYaml('l1').replace(/\n(?=.)/g, '\n  ')}`,
        'apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l2}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l3}}\n',
        'apiVersion: example.com/v1\nkind: List\nitems: []\n',
        'apiVersion: v1\nkind: PodList\nitems: {}\n',
        cmYaml('l4'),
      ].join('---\n'),
    },
    path: '',
    expect: rendered('l.yaml', cm('l1'), cm('l2'), cm('l3'), { apiVersion: 'v1', kind: 'PodList', items: {} }, cm('l4')),
  },
  {
    name: 'YAML 1.1 scalars read as kubectl reads them',
    files: { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: yes\nd: 2024-01-01\n' },
    path: '',
    expect: rendered('a.yaml', { ...cm('a'), x: true, d: '2024-01-01' }),
  },
  {
    name: 'symlinks that stay inside: a file, a folder, and links that are not followed',
    files: {
      'shared/s.yaml': cmYaml('s'),
      'shared/d/t.yaml': cmYaml('t'),
      'app/own.yaml': cmYaml('own'),
      'app/link.yaml': { link: '../shared/s.yaml' },
      'app/linked': { link: '../shared/d' },
      'app/dangling.txt': { link: 'nowhere' },
      'app/outside.txt': { link: '/etc/hostname' },
    },
    path: 'app',
    expect: [...rendered('app/link.yaml', cm('s')), ...rendered('app/linked/t.yaml', cm('t')), ...rendered('app/own.yaml', cm('own'))],
  },
  { name: 'a path that is a symlink inside', files: { 'real/a.yaml': cmYaml('a'), current: { link: 'real' } }, path: 'current', expect: rendered('current/a.yaml', cm('a')) },
];

const rejected: { name: string; files: Record<string, string | { link: string }>; path: string; reason: string; message: string }[] = [
  { name: 'bad indentation', files: { 'deploy/app.yaml': `${cmYaml('a')}data:\n  a: 1\n   b: 2\n` }, path: 'deploy', reason: 'RenderFailed', message: 'deploy/app.yaml: invalid YAML at line 7: bad indentation of a mapping entry' },
  { name: 'a document that is not an object', files: { 'deploy/x.yaml': `${cmYaml('a')}---\n- a\n` }, path: 'deploy', reason: 'RenderFailed', message: 'deploy/x.yaml: document 2: expected a mapping, got a list' },
  { name: 'a typed List item that is not an object', files: { 'x.yaml': 'kind: ConfigMapList\nitems: [{kind: ConfigMap}, 3]\n' }, path: '', reason: 'RenderFailed', message: 'x.yaml: document 2: expected a mapping, got a number' },
  { name: 'bad JSON', files: { 'a.json': '{"kind": "ConfigMap"}\n{"kind" "ConfigMap"}' }, path: '', reason: 'RenderFailed', message: "a.json: invalid JSON at line 2: Expected ':' after property name" },
  { name: 'the first bad file in sorted order', files: { 'b.yaml': '- b\n', 'a.yaml': '- a\n' }, path: '', reason: 'RenderFailed', message: 'a.yaml: document 1: expected a mapping, got a list' },
  { name: 'a missing path', files: { 'deploy/a.yaml': cmYaml('a') }, path: 'deploy/prod', reason: 'PathNotFound', message: 'path deploy/prod does not exist in the revision' },
  { name: 'a path under a file', files: { 'deploy/a.yaml': cmYaml('a') }, path: 'deploy/a.yaml/x', reason: 'PathNotFound', message: 'path deploy/a.yaml/x does not exist in the revision' },
  { name: '..', files: {}, path: '..', reason: 'InvalidPath', message: 'path .. leaves the repository' },
  { name: 'a path climbing out through ..', files: { 'x/a.yaml': '' }, path: 'x/../../repo/x', reason: 'InvalidPath', message: 'path x/../../repo/x leaves the repository' },
  { name: 'an absolute path', files: {}, path: '/etc', reason: 'InvalidPath', message: 'path /etc must be relative to the repository root' },
  { name: 'a path that is a symlink to outside', files: { out: { link: '..' } }, path: 'out', reason: 'InvalidPath', message: 'path out leaves the repository through a symlink' },
  { name: 'a path under a symlink to outside', files: { out: { link: '/etc' } }, path: 'out/ssl', reason: 'InvalidPath', message: 'path out/ssl leaves the repository through a symlink' },
  { name: 'a manifest symlinked from outside', files: { 'deploy/a.yaml': cmYaml('a'), 'deploy/passwd.yaml': { link: '/etc/passwd' } }, path: 'deploy', reason: 'InvalidPath', message: 'deploy/passwd.yaml is a symlink that leads outside the repository' },
  { name: 'a folder symlinked from outside', files: { 'deploy/etc': { link: '/etc' } }, path: 'deploy', reason: 'InvalidPath', message: 'deploy/etc is a symlink that leads outside the repository' },
  { name: 'a folder linking to its parent', files: { 'deploy/a.yaml': cmYaml('a'), 'deploy/sub/loop': { link: '..' } }, path: 'deploy', reason: 'InvalidPath', message: 'deploy/sub/loop is a symlink to a folder that contains it' },
  { name: 'a manifest symlink to nothing', files: { 'deploy/gone.yaml': { link: 'missing.yaml' } }, path: 'deploy', reason: 'RenderFailed', message: 'deploy/gone.yaml is a symlink that leads nowhere' },
  { name: 'a manifest symlink to itself', files: { 'deploy/self.yaml': { link: 'self.yaml' } }, path: 'deploy', reason: 'RenderFailed', message: 'deploy/self.yaml is a symlink that leads nowhere' },
];

describe('renderPath, plain manifests', () => {
  for (const c of accepted) {
    it(`renders ${c.name}`, async () => {
      write(c.files);
      assert.deepEqual(await renderPath(root, c.path, OPTIONS), c.expect);
    });
  }

  for (const c of rejected) {
    it(`refuses ${c.name}`, async () => {
      write(c.files);
      await assert.rejects(renderPath(root, c.path, OPTIONS), (err: unknown) => {
        assert.ok(err instanceof StalledError, String(err));
        assert.deepEqual({ reason: err.reason, message: err.message }, { reason: c.reason, message: c.message });
        return true;
      });
    });
  }
});

const KUSTOMIZATION = 'resources:\n- app.yaml\nnamePrefix: prod-\ncommonLabels:\n  env: prod\n';
const APP = `${cmYaml('app')}data:\n  a: "1"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n`;
/** kustomize's legacy order puts the Namespace first. */
const BUILT = rendered(
  'kustomize deploy/prod',
  { apiVersion: 'v1', kind: 'Namespace', metadata: { labels: { env: 'prod' }, name: 'demo' } },
  { apiVersion: 'v1', data: { a: '1' }, kind: 'ConfigMap', metadata: { labels: { env: 'prod' }, name: 'prod-app' } },
);

describe('renderPath, kustomize', () => {
  for (const file of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    it(`builds a folder with ${file}, and reads none of its files directly`, async () => {
      write({ [`deploy/prod/${file}`]: KUSTOMIZATION, 'deploy/prod/app.yaml': APP, 'deploy/prod/unused.yaml': cmYaml('unused') });
      assert.deepEqual(await renderPath(root, 'deploy/prod', OPTIONS), BUILT);
    });
  }

  it('builds the root, named "." in sources', async () => {
    write({ 'kustomization.yaml': 'resources: [a.yaml]\n', 'a.yaml': cmYaml('a') });
    assert.deepEqual(await renderPath(root, '', OPTIONS), rendered('kustomize .', cm('a')));
  });

  it('renders nothing for a kustomization without resources', async () => {
    write({ 'k/kustomization.yaml': 'resources: []\n' });
    assert.deepEqual(await renderPath(root, 'k', OPTIONS), []);
  });

  const failures: { name: string; files: Record<string, string>; message: string; prefix?: boolean }[] = [
    { name: 'an invalid kustomization', files: { 'bad/kustomization.yaml': 'a: [\n' }, message: 'kustomize build bad: invalid Kustomization: yaml: line 1: did not find expected node content' },
    {
      name: 'a missing resource, named relative to the checkout',
      files: { 'bad/kustomization.yaml': 'resources:\n- missing.yaml\n' },
      message: "kustomize build bad: accumulating resources: accumulation err='accumulating resources from 'missing.yaml': evalsymlink failure on 'bad/missing.yaml' : lstat bad/missing.yaml: no such file or directory'",
      prefix: true,
    },
    {
      name: 'a malformed resource, warnings before the error left out',
      files: { 'bad/kustomization.yaml': 'resources: [x.yaml]\ncommonLabels: {a: b}\n', 'bad/x.yaml': 'a: 1\n  b: 2\n' },
      message: 'kustomize build bad: accumulating resources: accumulating resources from \'x.yaml\': MalformedYAMLError: yaml: line 2: mapping values are not allowed in this context in File: x.yaml',
    },
  ];
  for (const c of failures) {
    it(`refuses ${c.name}`, async () => {
      write(c.files);
      await assert.rejects(renderPath(root, 'bad', OPTIONS), (err: unknown) => {
        assert.ok(err instanceof StalledError, String(err));
        assert.equal(err.reason, 'RenderFailed');
        if (c.prefix) assert.equal(err.message.slice(0, c.message.length), c.message);
        else assert.equal(err.message, c.message);
        assert.ok(!err.message.includes(dir), err.message);
        return true;
      });
    });
  }

  it('refuses a kustomize binary that does not exist', async () => {
    write({ 'app/kustomization.yaml': '' });
    await assert.rejects(renderPath(root, 'app', { kustomizePath: join(dir, 'no-kustomize') }), (err: unknown) => {
      assert.ok(err instanceof StalledError);
      assert.deepEqual({ reason: err.reason, message: err.message }, { reason: 'RenderFailed', message: 'kustomize build app: cannot run kustomize: ENOENT' });
      return true;
    });
  });

  it('kills kustomize when it runs out of time, as a transient failure', async () => {
    write({ 'app/kustomization.yaml': '' });
    const slow = join(dir, 'slow-kustomize');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(slow, 0o755);
    const started = Date.now();
    await assert.rejects(renderPath(root, 'app', { kustomizePath: slow, timeoutMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof TransientError && err instanceof SigilError);
      assert.deepEqual({ reason: err.reason, message: err.message }, { reason: 'RenderFailed', message: 'kustomize build app: no result after 200 ms' });
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });

  it('gives kustomize no HOME', async () => {
    write({ 'app/kustomization.yaml': '' });
    const envDump = join(dir, 'env-kustomize');
    writeFileSync(envDump, '#!/bin/sh\necho "HOME=${HOME:-unset}" >&2\nexit 3\n');
    chmodSync(envDump, 0o755);
    await assert.rejects(renderPath(root, 'app', { kustomizePath: envDump }), { message: 'kustomize build app: HOME=unset' });
  });
});
