import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StalledError } from '../errors.js';
import { parseManifests, type ManifestFormat } from './parse.js';

const LIST_JSON = JSON.stringify({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { kind: 'Secret', metadata: { name: 'a' } },
    { kind: 'Secret', metadata: { name: 'b' } },
  ],
});

const accepted: { name: string; text: string; format: ManifestFormat; values: unknown[] }[] = [
  {
    name: 'YAML, several documents, empty ones skipped',
    text: '---\n# nothing here\n---\nkind: Secret\nmetadata: {name: a}\n---\n---\n~\n...\n---\nkind: Secret\nmetadata:\n  name: b\n',
    format: 'yaml',
    values: [{ kind: 'Secret', metadata: { name: 'a' } }, { kind: 'Secret', metadata: { name: 'b' } }],
  },
  {
    name: 'YAML 1.1 booleans and unquoted dates read as kubectl reads them',
    text: 'a: yes\nb: off\nc: 2024-01-01\nd: "yes"\n',
    format: 'yaml',
    values: [{ a: true, b: false, c: '2024-01-01', d: 'yes' }],
  },
  {
    name: 'YAML v1 List, flattened, then another document',
    text: 'apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {name: a}\n- kind: Secret\n  metadata: {name: b}\n---\nkind: Secret\nmetadata: {name: c}\n',
    format: 'yaml',
    values: ['a', 'b', 'c'].map((name) => ({ kind: 'Secret', metadata: { name } })),
  },
  {
    name: 'a List of another apiVersion is a document of its own',
    text: 'apiVersion: example.com/v1\nkind: List\nitems: []\n',
    format: 'yaml',
    values: [{ apiVersion: 'example.com/v1', kind: 'List', items: [] }],
  },
  { name: 'JSON, one object', text: '  \n{"kind": "Secret"}\n', format: 'json', values: [{ kind: 'Secret' }] },
  {
    name: 'JSON, objects back to back',
    text: '{"kind":"Secret","data":{"a":"e30="}}{"kind":"ConfigMap","data":{"b":"}{"}}',
    format: 'json',
    values: [{ kind: 'Secret', data: { a: 'e30=' } }, { kind: 'ConfigMap', data: { b: '}{' } }],
  },
  {
    name: 'JSON, objects separated by newlines, escapes in strings',
    text: '{\n  "kind": "Secret",\n  "x": "a\\"}b"\n}\n\n{"kind": "ConfigMap"}\n',
    format: 'json',
    values: [{ kind: 'Secret', x: 'a"}b' }, { kind: 'ConfigMap' }],
  },
  {
    name: 'JSON v1 List, flattened',
    text: `${LIST_JSON}\n{"kind":"Secret","metadata":{"name":"c"}}`,
    format: 'json',
    values: ['a', 'b', 'c'].map((name) => ({ kind: 'Secret', metadata: { name } })),
  },
  { name: 'JSON v1 List without items', text: '{"apiVersion":"v1","kind":"List"}{"kind":"Secret"}', format: 'json', values: [{ kind: 'Secret' }] },
];

const rejected: { name: string; text: string; message: string }[] = [
  { name: 'empty input', text: '', message: 'stdin: no documents found' },
  { name: 'only comments', text: '# nothing\n', message: 'stdin: no documents found' },
  { name: 'only empty documents', text: '---\n---\n', message: 'stdin: no documents found' },
  { name: 'an empty List', text: '{"apiVersion":"v1","kind":"List","items":[]}', message: 'stdin: no documents found' },
  { name: 'YAML syntax', text: 'a: 1\nb: [\n', message: 'stdin: invalid YAML at line 3: unexpected end of the stream within a flow collection' },
  { name: 'YAML indentation', text: 'a: 1\n  b: 2\n', message: 'stdin: invalid YAML at line 2: bad indentation of a mapping entry' },
  { name: 'YAML duplicate key', text: 'a: 1\na: 2\n', message: 'stdin: invalid YAML at line 2: duplicated mapping key' },
  { name: 'YAML list document', text: 'kind: Secret\n---\n- a\n', message: 'stdin: document 2: expected a mapping, got a list' },
  { name: 'YAML string document', text: 'hello\n', message: 'stdin: document 1: expected a mapping, got a string' },
  { name: 'List item not a mapping', text: 'apiVersion: v1\nkind: List\nitems: [{kind: Secret}, 3]\n', message: 'stdin: document 2: expected a mapping, got a number' },
  { name: 'List items not a list', text: '{"apiVersion":"v1","kind":"List","items":{}}', message: 'stdin: document 1: List items is a mapping, not a list' },
  { name: 'JSON array', text: '[{"kind":"Secret"}]', message: 'stdin: document 1: expected a mapping, got a list' },
  { name: 'JSON syntax, V8 would quote the text', text: '{"password": hunter2}', message: 'stdin: invalid JSON at line 1' },
  { name: 'JSON syntax in a later object', text: '{"a":1}\n{"b" 1}', message: 'stdin: invalid JSON at line 2: Expected \':\' after property name' },
  { name: 'JSON never closes', text: '{"a":1}\n\n{"a": "}', message: 'stdin: invalid JSON at line 3: this value never closes' },
  { name: 'JSON trailing text', text: '{"a":1}\n x', message: 'stdin: invalid JSON at line 2: expected an object or array' },
];

describe('parseManifests', () => {
  for (const c of accepted) {
    it(`reads ${c.name}`, () => {
      const parsed = parseManifests(c.text, 'stdin');
      assert.deepEqual(parsed, { format: c.format, documents: c.values.map((value, i) => ({ index: i + 1, value })) });
    });
  }

  for (const c of rejected) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => parseManifests(c.text, 'stdin'),
        (err: unknown) => err instanceof StalledError && err.reason === 'InvalidManifest' && err.message === c.message,
      );
      assert.throws(() => parseManifests(c.text, 'stdin'), { message: c.message });
    });
  }

  it('keeps values out of syntax errors', () => {
    for (const text of ['password: "hunter2\n', 'a:\n  password: hunter2\n b: c\n', '{"password": "hunter2"']) {
      assert.throws(() => parseManifests(text, 'stdin'), (err: Error) => !err.message.includes('hunter2'));
    }
  });
});
