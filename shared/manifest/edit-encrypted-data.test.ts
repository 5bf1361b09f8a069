import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StalledError } from '../errors.js';
import { editEncryptedData } from './edit-encrypted-data.js';
import { parseManifests } from './parse.js';
import { readSealedSecret, sealedSecretObject, type SealedSecret } from './sealed-secret.js';
import { serializeManifests } from './serialize.js';

/** The lines only in `before` and the lines only in `after`, by a longest-common-subsequence diff. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split(/\r?\n/);
  const b = after.split(/\r?\n/);
  const common: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] = a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || common[i]![j + 1]! >= common[i + 1]![j]!)) {
      added.push(b[j++]!);
    } else {
      removed.push(a[i++]!);
    }
  }
  return { removed, added };
}

const COMMENTED = `# Sealed with sigil; do not edit by hand.
apiVersion: sigil.dev/v1
kind: SealedSecret
metadata:
  name: db
  namespace: prod

spec:
  scope: strict
  # values below are sealed for prod/db
  encryptedData:
    "api-key": 'AgBapi'
    password: AgBold   # rotated 2024-05
    user: AgBuser
      +folded

  template:
    type: Opaque   # plain
`;

const MULTI = `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: a
  namespace: prod
spec:
  encryptedData:
    x: AgBx
  template:
    metadata:
      name: a
      namespace: prod
---
# config in between
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  encryptedData: not-this
  spec: "no"
---
apiVersion: sigil.dev/v1
kind: SealedSecret
metadata:
  name: b
  namespace: prod
spec:
  encryptedData:
    w: AgBw
...
`;

const EMPTY_FLOW = `apiVersion: sigil.dev/v1
kind: SealedSecret
metadata: {name: db}
spec:
  scope: cluster-wide
  encryptedData: {}
  template:
    type: Opaque
`;

const NO_DATA = `apiVersion: sigil.dev/v1
kind: SealedSecret
metadata: {name: db, namespace: prod}
spec:
    template:
        type: Opaque`;

const JSON_FILE = `{
  "apiVersion": "bitnami.com/v1alpha1",
  "kind": "SealedSecret",
  "metadata": {
    "name": "db",
    "namespace": "prod"
  },
  "spec": {
    "encryptedData": {
      "password": "AgBold",
      "user": "AgBuser"
    },
    "template": {
      "type": "Opaque"
    }
  }
}
`;

const cases: {
  name: string;
  input: string;
  changes: (ss: SealedSecret, index: number) => Map<string, string> | undefined;
  expected: string;
  removed: string[];
  added: string[];
}[] = [
  {
    name: 'a file with comments, blank lines, quoted keys and a folded value',
    input: COMMENTED,
    changes: () => new Map([['api-key', 'AgBapi2'], ['password', 'AgBnew'], ['token', 'AgBtoken']]),
    expected: COMMENTED.replace(`'AgBapi'`, `'AgBapi2'`)
      .replace('AgBold   #', 'AgBnew   #')
      .replace('      +folded\n', '      +folded\n    token: AgBtoken\n'),
    removed: [`    "api-key": 'AgBapi'`, '    password: AgBold   # rotated 2024-05'],
    added: [`    "api-key": 'AgBapi2'`, '    password: AgBnew   # rotated 2024-05', '    token: AgBtoken'],
  },
  {
    name: 'a folded value replaced as a whole, and keys YAML would misread quoted',
    input: COMMENTED,
    changes: () => new Map([['user', 'AgBuser2'], ['true', 'AgBt'], ['1', '1234'], ['yes', 'AgBy']]),
    expected: COMMENTED.replace('    user: AgBuser\n      +folded\n', '    user: AgBuser2\n    "true": AgBt\n    "1": "1234"\n    "yes": AgBy\n'),
    removed: ['    user: AgBuser', '      +folded'],
    added: ['    user: AgBuser2', '    "true": AgBt', '    "1": "1234"', '    "yes": AgBy'],
  },
  {
    name: 'CRLF line endings',
    input: COMMENTED.replace(/\n/g, '\r\n'),
    changes: () => new Map([['password', 'AgBnew'], ['token', 'AgBtoken']]),
    expected: COMMENTED.replace('AgBold   #', 'AgBnew   #')
      .replace('      +folded\n', '      +folded\n    token: AgBtoken\n')
      .replace(/\n/g, '\r\n'),
    removed: ['    password: AgBold   # rotated 2024-05'],
    added: ['    password: AgBnew   # rotated 2024-05', '    token: AgBtoken'],
  },
  {
    name: 'several documents with a ConfigMap in between',
    input: MULTI,
    changes: (ss, index) => (index === 3 ? new Map([['w', 'AgBw2'], ['z', 'AgBz']]) : undefined),
    expected: MULTI.replace('    w: AgBw\n', '    w: AgBw2\n    z: AgBz\n'),
    removed: ['    w: AgBw'],
    added: ['    w: AgBw2', '    z: AgBz'],
  },
  {
    name: 'an empty flow-style encryptedData',
    input: EMPTY_FLOW,
    changes: () => new Map([['a', 'AgBa']]),
    expected: EMPTY_FLOW.replace('  encryptedData: {}\n', '  encryptedData:\n    a: AgBa\n'),
    removed: ['  encryptedData: {}'],
    added: ['  encryptedData:', '    a: AgBa'],
  },
  {
    name: 'a spec without encryptedData, four-space indents, no final newline',
    input: NO_DATA,
    changes: () => new Map([['a', 'AgBa']]),
    expected: NO_DATA.replace('spec:\n', 'spec:\n    encryptedData:\n        a: AgBa\n'),
    removed: [],
    added: ['    encryptedData:', '        a: AgBa'],
  },
  {
    name: 'a key appended after a last line without newline',
    input: MULTI.replace('...\n', '').trimEnd(),
    changes: (ss) => (ss.name === 'b' ? new Map([['z', 'AgBz']]) : undefined),
    expected: `${MULTI.replace('...\n', '').trimEnd()}\n    z: AgBz`,
    removed: [],
    added: ['    z: AgBz'],
  },
  {
    name: 'a JSON file',
    input: JSON_FILE,
    changes: () => new Map([['password', 'AgBnew'], ['token', 'AgBtoken']]),
    expected: JSON_FILE.replace('"AgBold"', '"AgBnew"').replace('"user": "AgBuser"\n', '"user": "AgBuser",\n      "token": "AgBtoken"\n'),
    removed: ['      "password": "AgBold",', '      "user": "AgBuser"'],
    added: ['      "password": "AgBnew",', '      "user": "AgBuser",', '      "token": "AgBtoken"'],
  },
  {
    name: 'concatenated JSON with an empty encryptedData',
    input: `${JSON_FILE}${JSON_FILE.replace(/\{\n\s*"password"[^}]*\}/, '{}')}`,
    changes: (ss, index) => (index === 2 ? new Map([['a', 'AgBa']]) : undefined),
    expected: `${JSON_FILE}${JSON_FILE.replace(/\{\n\s*"password"[^}]*\}/, '{\n      "a": "AgBa"\n    }')}`,
    removed: ['    "encryptedData": {},'],
    added: ['    "encryptedData": {', '      "a": "AgBa"', '    },'],
  },
];

describe('editEncryptedData', () => {
  for (const c of cases) {
    it(`edits ${c.name} in place`, () => {
      const result = editEncryptedData(c.input, 'in.yaml', c.changes);
      assert.equal(result, c.expected);
      assert.deepEqual(lineDiff(c.input, result), { removed: c.removed, added: c.added });
    });
  }

  it('hands each SealedSecret to edit with its document number, and leaves the file alone when edit declines', () => {
    const seen: [string, number, string[]][] = [];
    const result = editEncryptedData(MULTI, 'in.yaml', (ss, index) => {
      seen.push([ss.name, index, [...ss.encryptedData.keys()]]);
      return undefined;
    });
    assert.equal(result, MULTI);
    assert.deepEqual(seen, [['a', 1, ['x']], ['b', 3, ['w']]]);
    assert.equal(editEncryptedData(JSON_FILE, 'in.json', () => new Map()), JSON_FILE);
  });

  const rejected: { name: string; input: string; message: string }[] = [
    {
      name: 'a SealedSecret inside a List',
      input: `apiVersion: v1\nkind: List\nitems:\n- {kind: ConfigMap}\n- ${JSON.stringify(JSON.parse(JSON_FILE))}\n`,
      message: 'in.yaml: cannot edit encryptedData of document 2 in place: it sits inside a List',
    },
    {
      name: 'a flow-style spec',
      input: 'apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec: {encryptedData: {a: AgBa}}\n',
      message: 'in.yaml: cannot edit encryptedData of document 1 in place: spec is written in flow style',
    },
    {
      name: 'a value another field refers to by alias',
      input: COMMENTED.replace('AgBold', '&pw AgBold').replace('type: Opaque   # plain', 'type: *pw'),
      message: 'in.yaml: cannot edit encryptedData of document 1 in place: the edited file would not parse (invalid YAML at line 18: unidentified alias "pw")',
    },
    {
      name: 'an invalid SealedSecret',
      input: 'apiVersion: sigil.dev/v1\nkind: SealedSecret\nmetadata: {name: db}\nspec: {}\n',
      message: 'in.yaml: document 1 (SealedSecret db): metadata.namespace is required: a strict SealedSecret is bound to its namespace',
    },
  ];
  for (const c of rejected) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => editEncryptedData(c.input, 'in.yaml', () => new Map([['password', 'AgBnew']])),
        (err: unknown) => err instanceof StalledError && err.reason === 'InvalidManifest' && err.message === c.message,
        `expected: ${c.message}`,
      );
    });
  }

  it('merges any valid keys and base64-like values into a written SealedSecret (property)', () => {
    const key = fc.oneof(
      fc.stringMatching(/^[-._a-zA-Z0-9]{1,16}$/),
      fc.constantFrom('1', '0x1F', 'true', 'yes', 'n', 'null', '-', '...', '---', '1e3', '.inf', '2024-01-01', '<<'),
    );
    const value = fc.stringMatching(/^[A-Za-z0-9+/]{0,24}={0,2}$/);
    const entries = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 6 });
    fc.assert(
      fc.property(entries, entries, fc.constantFrom('yaml' as const, 'json' as const), fc.constantFrom('sigil' as const, 'bitnami' as const), (old, changes, format, api) => {
        const ss: SealedSecret = {
          api,
          name: 'db',
          namespace: 'prod',
          scope: 'strict',
          encryptedData: new Map(old),
          template: { labels: {}, annotations: {}, type: 'Opaque' },
          outerLabels: {},
          outerAnnotations: {},
        };
        const text = serializeManifests([sealedSecretObject(ss)], format);
        const edited = editEncryptedData(text, 'p', () => new Map(changes));
        const read = readSealedSecret(parseManifests(edited, 'p').documents[0]!.value, 'p');
        const expected = new Map([...old, ...changes]);
        assert.deepEqual(Object.fromEntries(read.encryptedData), Object.fromEntries(expected));
        assert.deepEqual({ ...read, encryptedData: null }, { ...ss, encryptedData: null });
      }),
    );
  });
});
