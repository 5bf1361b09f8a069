import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Component, ComponentName } from './build.js';

// build.js reads SIGIL_TESTBIN (through binaries.js) and SIGIL_TESTBIN_LOGS when it loads, so they point at
// empty folders before it is imported; KUBEBUILDER_ASSETS would let a component be found elsewhere.
const scratch = mkdtempSync(join(tmpdir(), 'sigil-build-test-'));
process.env.SIGIL_TESTBIN = join(scratch, 'testbin');
process.env.SIGIL_TESTBIN_LOGS = join(scratch, 'logs');
delete process.env.KUBEBUILDER_ASSETS;
const { COMPONENTS, binaryPath, builderGoMod, patchSource } = await import('./build.js');
after(() => rmSync(scratch, { recursive: true, force: true }));

const KUBERNETES_GO_MOD = `// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/spf13/cobra v1.10.2
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // pinned by staging
	k8s.io/klog/v2 v2.130.1
)

require github.com/google/btree v1.1.3 // indirect

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
)
`;

describe('builderGoMod', () => {
  it('replaces each staging module Kubernetes requires at v0.0.0 with its v0.<minor>.<patch> release', () => {
    assert.equal(
      builderGoMod(COMPONENTS.kubernetes, KUBERNETES_GO_MOD),
      `module sigil.dev/testbin/kubernetes

go 1.26.0

godebug default=go1.26

require k8s.io/kubernetes ${COMPONENTS.kubernetes.version}

replace (
	k8s.io/api => k8s.io/api v0.37.2
	k8s.io/client-go => k8s.io/client-go v0.37.2
)
`,
    );
  });

  it('copies replacements by other modules and drops folders of modules required at a release', () => {
    const vault = `module github.com/hashicorp/vault

go 1.25.3

replace github.com/hashicorp/vault/api => ./api

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1

require github.com/hashicorp/vault/api v1.22.0
`;
    assert.equal(
      builderGoMod(COMPONENTS.vault, vault),
      `module sigil.dev/testbin/vault

go 1.25.3

require github.com/hashicorp/vault ${COMPONENTS.vault.version}

replace (
	github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3
	github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1
)
`,
    );
  });

  it('replaces a release served under another path and writes no replace block when there is none', () => {
    const sealedSecrets = 'module github.com/bitnami/sealed-secrets\n\ngo 1.26.8\n\nrequire k8s.io/api v0.35.0\n';
    assert.equal(
      builderGoMod(COMPONENTS.kubeseal, sealedSecrets),
      `module sigil.dev/testbin/kubeseal\n\ngo 1.26.8\n\nrequire github.com/bitnami/sealed-secrets ${COMPONENTS.kubeseal.version}\n\nreplace (\n\tgithub.com/bitnami/sealed-secrets => github.com/bitnami-labs/sealed-secrets ${COMPONENTS.kubeseal.version}\n)\n`,
    );
    const etcd = 'module go.etcd.io/etcd/server/v3\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/api/v3 v3.6.16\n\nreplace go.etcd.io/etcd/api/v3 => ../api\n\nreplace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY\n';
    assert.equal(builderGoMod(COMPONENTS.etcd, etcd), `module sigil.dev/testbin/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 ${COMPONENTS.etcd.version}\n`);
  });

  it('refuses a placeholder-versioned folder module when the component names no release for it', () => {
    const c = { name: 'x', version: 'v1.0.0', module: 'example.com/x', packages: ['.'], binaries: ['x'] };
    assert.throws(() => builderGoMod(c, 'module example.com/x\n\nrequire example.com/y v0.0.0\n\nreplace example.com/y => ./y\n'), {
      message: 'x v1.0.0 requires example.com/y v0.0.0 from a folder of its repository and names no released version for it',
    });
  });
});

describe('COMPONENTS', () => {
  it('stamps Kubernetes binaries with their version the way hack/lib/version.sh does', () => {
    assert.deepEqual(COMPONENTS.kubernetes.ldflags, [
      '-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2',
      '-X k8s.io/client-go/pkg/version.gitMajor=1',
      '-X k8s.io/client-go/pkg/version.gitMinor=37',
      '-X k8s.io/component-base/version.gitVersion=v1.37.2',
      '-X k8s.io/component-base/version.gitMajor=1',
      '-X k8s.io/component-base/version.gitMinor=37',
    ]);
  });
});

describe('binaryPath', () => {
  for (const c of Object.values(COMPONENTS) as Component[]) {
    it(`says how to build ${c.name} when it is not built, or why it cannot be`, () => {
      assert.throws(() => binaryPath(c.name as ComponentName, c.binaries[0]!), {
        message: c.blocked
          ? `${c.name} ${c.version} cannot be built here: ${c.blocked}`
          : `${c.name} ${c.version} is not built: run \`npm run testenv -- build ${c.name}\` (log: ${join(scratch, 'logs', `${c.name}.log`)})`,
      });
    });
  }
});

describe('patchSource', () => {
  const dir = (text: string): string => {
    const d = join(scratch, `patch-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(d, 'pkg'), { recursive: true });
    writeFileSync(join(d, 'pkg/a.go'), text);
    return d;
  };
  it('replaces the text where it occurs exactly once', () => {
    const d = dir('x := f(a)\ny := g(a)\n');
    patchSource(d, [{ file: 'pkg/a.go', from: 'f(a)', to: 'f(a, "$&")' }]);
    assert.equal(readFileSync(join(d, 'pkg/a.go'), 'utf8'), 'x := f(a, "$&")\ny := g(a)\n');
  });
  for (const [name, text, count] of [['missing', 'y := g(a)\n', 0], ['twice', 'f(a)\nf(a)\n', 2]] as const) {
    it(`refuses a patch whose text is ${name}`, () => {
      assert.throws(() => patchSource(dir(text), [{ file: 'pkg/a.go', from: 'f(a)', to: 'h(a)' }]), { message: `patch of pkg/a.go: the text to replace occurs ${count} times, not once` });
    });
  }
});
