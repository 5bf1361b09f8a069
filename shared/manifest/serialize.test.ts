import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifests } from './parse.js';
import { serializeManifests } from './serialize.js';

const long = 'A'.repeat(300);
const objects = [
  { kind: 'SealedSecret', spec: { encryptedData: { long } } },
  { kind: 'ConfigMap', data: { flag: 'yes', date: '2024-01-01', number: '1', empty: '', text: 'a: b' } },
];

describe('serializeManifests', () => {
  it('writes YAML documents joined by ---, never wrapping, quoting what would read back as another type', () => {
    assert.equal(
      serializeManifests(objects, 'yaml'),
      `kind: SealedSecret\nspec:\n  encryptedData:\n    long: ${long}\n---\n` +
        'kind: ConfigMap\ndata:\n  flag: "yes"\n  date: "2024-01-01"\n  number: "1"\n  empty: ""\n  text: "a: b"\n',
    );
  });

  it('writes one JSON object for one input, and concatenated objects for several', () => {
    assert.equal(serializeManifests([{ kind: 'Secret' }], 'json'), '{\n  "kind": "Secret"\n}\n');
    assert.equal(serializeManifests([{ a: 1 }, { b: 2 }], 'json'), '{\n  "a": 1\n}\n{\n  "b": 2\n}\n');
  });

  it('writes what parseManifests reads back', () => {
    for (const format of ['yaml', 'json'] as const) {
      const parsed = parseManifests(serializeManifests(objects, format), 'out');
      assert.deepEqual(parsed, { format, documents: objects.map((value, i) => ({ index: i + 1, value })) });
    }
  });
});
