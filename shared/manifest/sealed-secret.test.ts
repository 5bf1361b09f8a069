import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StalledError } from '../errors.js';
import { parseManifests } from './parse.js';
import { isSealedSecret, readSealedSecret, sealedSecretObject, type SealedSecret } from './sealed-secret.js';
import { serializeManifests } from './serialize.js';

const sigil: SealedSecret = {
  api: 'sigil',
  name: 'db',
  namespace: 'prod',
  scope: 'namespace-wide',
  encryptedData: new Map([
    ['user', 'AgBuser'],
    ['password', 'AgBpassword'],
  ]),
  template: { labels: { app: 'db' }, annotations: { note: 'yes' }, type: 'kubernetes.io/basic-auth', immutable: true },
  vault: { mount: 'transit', key: 'sigil' },
  outerLabels: { team: 'data' },
  outerAnnotations: { owner: 'ops' },
};

const SIGIL_YAML = `apiVersion: sigil.dev/v1
kind: SealedSecret
metadata:
  name: db
  namespace: prod
  labels:
    team: data
  annotations:
    owner: ops
spec:
  scope: namespace-wide
  encryptedData:
    password: AgBpassword
    user: AgBuser
  vault:
    mount: transit
    key: sigil
  template:
    metadata:
      labels:
        app: db
      annotations:
        note: "yes"
    type: kubernetes.io/basic-auth
    immutable: true
`;

const bitnami: SealedSecret = { ...sigil, api: 'bitnami', outerLabels: {}, outerAnnotations: {}, vault: undefined };
delete bitnami.vault;

const BITNAMI_YAML = `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db
  namespace: prod
  annotations:
    sealedsecrets.bitnami.com/namespace-wide: "true"
spec:
  encryptedData:
    password: AgBpassword
    user: AgBuser
  template:
    metadata:
      name: db
      namespace: prod
      labels:
        app: db
      annotations:
        note: "yes"
        sealedsecrets.bitnami.com/namespace-wide: "true"
    type: kubernetes.io/basic-auth
    immutable: true
`;

/** What kubeseal 0.2x writes for `kubeseal --scope cluster-wide`. */
const KUBESEAL_YAML = `---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  annotations:
    sealedsecrets.bitnami.com/cluster-wide: "true"
  creationTimestamp: null
  name: mysecret
spec:
  encryptedData:
    foo: AgBfoo
  template:
    metadata:
      annotations:
        sealedsecrets.bitnami.com/cluster-wide: "true"
      creationTimestamp: null
      name: mysecret
    type: Opaque
`;

function readYaml(text: string): SealedSecret {
  return readSealedSecret(parseManifests(text, 'in.yaml').documents[0]!.value, 'in.yaml: document 1');
}

describe('sealedSecretObject', () => {
  it('writes the sigil.dev/v1 shape', () => {
    assert.equal(serializeManifests([sealedSecretObject(sigil)], 'yaml'), SIGIL_YAML);
  });

  it('writes the bitnami.com/v1alpha1 shape, scope as annotations outside and in the template', () => {
    assert.equal(serializeManifests([sealedSecretObject(bitnami)], 'yaml'), BITNAMI_YAML);
  });

  it('leaves out empty maps, the template metadata and immutable when there is nothing to say', () => {
    const bare: SealedSecret = {
      api: 'sigil',
      name: 'db',
      scope: 'cluster-wide',
      encryptedData: new Map(),
      template: { labels: {}, annotations: {}, type: 'Opaque' },
      outerLabels: {},
      outerAnnotations: {},
    };
    assert.equal(
      serializeManifests([sealedSecretObject(bare)], 'yaml'),
      'apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata:\n  name: db\nspec:\n  scope: cluster-wide\n  encryptedData: {}\n  template:\n    type: Opaque\n',
    );
    assert.equal(
      serializeManifests([sealedSecretObject({ ...bare, api: 'bitnami', scope: 'strict', namespace: 'prod' })], 'yaml'),
      'apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  encryptedData: {}\n  template:\n    metadata:\n      name: db\n      namespace: prod\n    type: Opaque\n',
    );
  });

  it('refuses Vault values in the bitnami shape', () => {
    assert.throws(
      () => sealedSecretObject({ ...sigil, api: 'bitnami' }),
      (err: unknown) =>
        err instanceof StalledError &&
        err.reason === 'InvalidManifest' &&
        err.message === 'SealedSecret prod/db: a bitnami.com/v1alpha1 SealedSecret cannot carry Vault values; use the sigil.dev/v1 API',
    );
  });
});

describe('readSealedSecret', () => {
  it('round-trips both shapes', () => {
    for (const ss of [sigil, bitnami, { ...bitnami, scope: 'strict' as const }, { ...sigil, scope: 'cluster-wide' as const }]) {
      const text = serializeManifests([sealedSecretObject(ss)], 'yaml');
      const read = readYaml(text);
      assert.deepEqual(read, { ...ss, encryptedData: new Map([...ss.encryptedData].sort()) });
      assert.equal(serializeManifests([sealedSecretObject(read)], 'yaml'), text);
    }
  });

  it('reads what kubeseal writes and writes it back in a stable form', () => {
    const read = readYaml(KUBESEAL_YAML);
    assert.deepEqual(read, {
      api: 'bitnami',
      name: 'mysecret',
      scope: 'cluster-wide',
      encryptedData: new Map([['foo', 'AgBfoo']]),
      template: { labels: {}, annotations: {}, type: 'Opaque' },
      outerLabels: {},
      outerAnnotations: {},
    });
    const written = serializeManifests([sealedSecretObject(read)], 'yaml');
    assert.equal(
      written,
      `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: mysecret
  annotations:
    sealedsecrets.bitnami.com/cluster-wide: "true"
spec:
  encryptedData:
    foo: AgBfoo
  template:
    metadata:
      name: mysecret
      annotations:
        sealedsecrets.bitnami.com/cluster-wide: "true"
    type: Opaque
`,
    );
    assert.deepEqual(readYaml(written), read);
  });

  it('takes cluster-wide over namespace-wide, as the Sealed Secrets controller does', () => {
    const text = KUBESEAL_YAML.replace('  creationTimestamp: null\n  name', '  sealedsecrets.bitnami.com/namespace-wide: "true"\n  name');
    assert.equal(readYaml(text).scope, 'cluster-wide');
  });

  it('reads an omitted sigil scope as strict, and an empty encryptedData', () => {
    const read = readYaml('apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec:\n  encryptedData:\n');
    assert.deepEqual(read, {
      api: 'sigil',
      name: 'db',
      namespace: 'prod',
      scope: 'strict',
      encryptedData: new Map(),
      template: { labels: {}, annotations: {}, type: 'Opaque' },
      outerLabels: {},
      outerAnnotations: {},
    });
  });

  const at = 'in.yaml: document 1 (SealedSecret prod/db)';
  const sigilHead = 'apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\n';
  const rejected: { name: string; text: string; message: string }[] = [
    { name: 'another kind', text: 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\n', message: `${at}: expected apiVersion sigil.dev/v1 or bitnami.com/v1alpha1 and kind SealedSecret` },
    { name: 'no name', text: 'apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {namespace: prod}\nspec: {}\n', message: 'in.yaml: document 1 (SealedSecret): metadata.name is required' },
    { name: 'no spec', text: sigilHead, message: `${at}: spec is required and must be a mapping` },
    { name: 'a strict one without namespace', text: 'apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: db}\nspec: {}\n', message: 'in.yaml: document 1 (SealedSecret db): metadata.namespace is required: a strict SealedSecret is bound to its namespace' },
    {
      name: 'a namespace-wide bitnami one without namespace',
      text: 'apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  annotations: {sealedsecrets.bitnami.com/namespace-wide: "true"}\nspec: {}\n',
      message: 'in.yaml: document 1 (SealedSecret db): metadata.namespace is required: a namespace-wide SealedSecret is bound to its namespace',
    },
    { name: 'an unknown scope', text: `${sigilHead}spec: {scope: global}\n`, message: `${at}: spec.scope must be one of strict, namespace-wide, cluster-wide` },
    { name: 'a value not a string', text: `${sigilHead}spec:\n  encryptedData: {a: 12}\n`, message: `${at}: spec.encryptedData.a is a number, not a string; quote it` },
    { name: 'encryptedData not a mapping', text: `${sigilHead}spec:\n  encryptedData: [a]\n`, message: `${at}: spec.encryptedData is a list, not a mapping` },
    { name: 'vault without key', text: `${sigilHead}spec:\n  vault: {mount: transit}\n`, message: `${at}: spec.vault.key must be a non-empty string` },
    { name: 'vault mount not a string', text: `${sigilHead}spec:\n  vault: {mount: 1, key: k}\n`, message: `${at}: spec.vault.mount must be a non-empty string` },
    { name: 'template labels not strings', text: `${sigilHead}spec:\n  template: {metadata: {labels: {a: on}}}\n`, message: `${at}: spec.template.metadata.labels.a is a boolean, not a string; quote it` },
    { name: 'templated data', text: `${sigilHead}spec:\n  template: {data: {url: "x"}}\n`, message: `${at}: spec.template.data (templated values) is not supported` },
    { name: 'the pre-v0.7 format', text: 'apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec: {data: AgB}\n', message: `${at}: spec.data (the pre-v0.7 Sealed Secrets format) is not supported` },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => readYaml(c.text),
        (err: unknown) => err instanceof StalledError && err.reason === 'InvalidManifest' && err.message === c.message,
        `expected: ${c.message}`,
      );
    });
  }
});

describe('isSealedSecret', () => {
  const cases: [Record<string, unknown>, boolean][] = [
    [{ apiVersion: 'sigil.dev/v1', kind: 'SealedSecret' }, true],
    [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret' }, true],
    [{ apiVersion: 'sigil.dev/v2', kind: 'SealedSecret' }, false],
    [{ apiVersion: 'v1', kind: 'Secret' }, false],
    [{ kind: 'SealedSecret' }, false],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${expected}`, () => assert.equal(isSealedSecret(value), expected));
  }
});
