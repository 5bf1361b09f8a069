import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StalledError } from '../errors.js';
import { parseManifests } from './parse.js';
import { readSecret, type PlainSecret } from './secret.js';

/** Reads the first document of a YAML text as a Secret. */
function read(text: string, allowEmptyData = false): PlainSecret {
  const doc = parseManifests(text, 'stdin').documents[0]!;
  return readSecret(doc, 'stdin', { allowEmptyData });
}

const head = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\n';
const at = 'stdin: document 1 (Secret prod/db)';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('readSecret', () => {
  // Go's base64 decoder, which the API server uses, skips line breaks: MIME-wrapped values are fine.
  const wrapped = b64('0123456789'.repeat(6));

  it('reads a full Secret, folding stringData into data (stringData wins) in input order', () => {
    const secret = read(`apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'
    note: kept
type: kubernetes.io/basic-auth
immutable: true
data:
  username: ${b64('admin')}
  password: ${b64('old')}
  empty: ""
  wrapped: |
    ${wrapped.slice(0, 76)}
    ${wrapped.slice(76)}
stringData:
  password: hunter2
  host: db.prod
`);
    assert.deepEqual(secret, {
      name: 'db',
      namespace: 'prod',
      labels: { app: 'db' },
      annotations: { note: 'kept' },
      type: 'kubernetes.io/basic-auth',
      immutable: true,
      data: new Map([
        ['username', Buffer.from('admin')],
        ['password', Buffer.from('hunter2')],
        ['empty', Buffer.alloc(0)],
        ['wrapped', Buffer.from('0123456789'.repeat(6))],
        ['host', Buffer.from('db.prod')],
      ]),
      where: 'stdin: document 1 (Secret prod/db)',
    });
  });

  it('defaults type to Opaque and leaves namespace and immutable out when absent', () => {
    assert.deepEqual(read('apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {a: b}\n'), {
      name: 'db',
      labels: {},
      annotations: {},
      type: 'Opaque',
      data: new Map([['a', Buffer.from('b')]]),
      where: 'stdin: document 1 (Secret db)',
    });
  });

  it('accepts a Secret without data when allowEmptyData is set', () => {
    assert.deepEqual(read('apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\ndata: {}\n', true).data, new Map());
  });

  it('names the document by its position in the input', () => {
    const docs = parseManifests('apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n', 'in.yaml').documents;
    assert.throws(() => readSecret(docs[1]!, 'in.yaml', { allowEmptyData: false }), {
      message: 'in.yaml: document 2 (Secret b): has no data: both data and stringData are empty (seal it anyway with --allow-empty-data)',
    });
  });

  const rejected: { name: string; body: string; message: string }[] = [
    { name: 'another kind', body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db}\n', message: 'stdin: document 1 is a ConfigMap, not a Secret' },
    { name: 'no kind', body: 'apiVersion: v1\nmetadata: {name: db}\n', message: 'stdin: document 1 is an object without kind, not a Secret' },
    { name: 'another apiVersion', body: 'apiVersion: v2\nkind: Secret\nmetadata: {name: db, namespace: prod}\n', message: 'stdin: document 1 (Secret prod/db): apiVersion must be v1 for a Secret' },
    { name: 'no name', body: 'apiVersion: v1\nkind: Secret\nmetadata: {namespace: prod}\nstringData: {a: b}\n', message: 'stdin: document 1 (Secret): metadata.name is required' },
    { name: 'metadata not a mapping', body: 'apiVersion: v1\nkind: Secret\nmetadata: [db]\n', message: 'stdin: document 1 (Secret): metadata is a list, not a mapping' },
    { name: 'data with bad padding', body: `${head}data:\n  password: aGVsbG8\n`, message: `${at}: data.password is not valid base64` },
    { name: 'data with too much padding', body: `${head}data:\n  password: aGVsbA===\n`, message: `${at}: data.password is not valid base64` },
    { name: 'data outside the alphabet', body: `${head}data:\n  password: aGVs_G8=\n`, message: `${at}: data.password is not valid base64` },
    { name: 'data with a space', body: `${head}data:\n  password: "aGVs bG8="\n`, message: `${at}: data.password is not valid base64` },
    { name: 'data a number', body: `${head}data:\n  pin: 1234\n`, message: `${at}: data.pin is a number, not a string; quote it` },
    { name: 'data a list', body: `${head}data: [a]\n`, message: `${at}: data is a list, not a mapping` },
    { name: 'stringData yes', body: `${head}stringData:\n  enabled: yes\n`, message: `${at}: stringData.enabled is a boolean, not a string; quote it` },
    { name: 'stringData true', body: `${head}stringData:\n  enabled: true\n`, message: `${at}: stringData.enabled is a boolean, not a string; quote it` },
    { name: 'stringData a number', body: `${head}stringData:\n  port: 5432\n`, message: `${at}: stringData.port is a number, not a string; quote it` },
    { name: 'stringData null', body: `${head}stringData:\n  token:\n`, message: `${at}: stringData.token is null, not a string; quote it` },
    { name: 'stringData a mapping', body: `${head}stringData:\n  nested: {a: b}\n`, message: `${at}: stringData.nested is a mapping, not a string` },
    {
      name: 'a key with a space',
      body: `${head}stringData:\n  "bad key": x\n`,
      message: `${at}: stringData key "bad key" is not a valid key: use at most 253 letters, digits, '-', '_' or '.', and not '.' or a name starting with '..'`,
    },
    {
      name: 'a key starting with ..',
      body: `${head}data:\n  ..data: eA==\n`,
      message: `${at}: data key "..data" is not a valid key: use at most 253 letters, digits, '-', '_' or '.', and not '.' or a name starting with '..'`,
    },
    {
      name: 'a key of 254 characters',
      body: `${head}stringData:\n  ${'k'.repeat(254)}: x\n`,
      message: `${at}: stringData key "${'k'.repeat(254)}" is not a valid key: use at most 253 letters, digits, '-', '_' or '.', and not '.' or a name starting with '..'`,
    },
    { name: 'no data', body: `${head}type: Opaque\n`, message: `${at}: has no data: both data and stringData are empty (seal it anyway with --allow-empty-data)` },
    { name: 'a label not a string', body: `${head.replace('namespace: prod', 'namespace: prod, labels: {tier: 1}')}stringData: {a: b}\n`, message: `${at}: metadata.labels.tier is a number, not a string; quote it` },
    { name: 'annotations not a mapping', body: `${head.replace('namespace: prod', 'namespace: prod, annotations: x')}stringData: {a: b}\n`, message: `${at}: metadata.annotations is a string, not a mapping` },
    { name: 'immutable not a boolean', body: `${head}immutable: "yes"\nstringData: {a: b}\n`, message: `${at}: immutable is a string, not a boolean` },
    { name: 'type not a string', body: `${head}type: 3\nstringData: {a: b}\n`, message: `${at}: type is a number, not a string; quote it` },
  ];

  for (const c of rejected) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => read(c.body),
        (err: unknown) => err instanceof StalledError && err.reason === 'InvalidManifest' && err.message === c.message,
        `expected: ${c.message}`,
      );
    });
  }

  it('keeps values out of messages', () => {
    assert.throws(() => read(`${head}data:\n  password: hunter2!\n`), (err: Error) => !err.message.includes('hunter2'));
  });
});
