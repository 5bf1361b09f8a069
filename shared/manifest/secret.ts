import { StalledError } from '../errors.js';
import {
  describeObject,
  invalid,
  notAString,
  readMapping,
  readOptionalBoolean,
  readOptionalString,
  readStringMap,
} from './fields.js';
import type { ParsedDocument } from './parse.js';

/** A validated input Secret, ready to seal. */
export interface PlainSecret {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  type: string;
  immutable?: boolean;
  /** `data` and `stringData` folded together, in input order. */
  data: Map<string, Buffer>;
  /** The document for messages, e.g. `stdin: document 2 (Secret prod/db)`. */
  where: string;
}

/** kubectl apply leaves a full copy of the object, plaintext included, in this annotation. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

const KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;
/** Standard padded base64, nothing outside its alphabet. */
export const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Validates a parsed document as a `v1` `Secret` and folds `stringData` into `data` (UTF-8; `stringData`
 * wins over `data` for the same key, as the API server does). `type` defaults to `Opaque`; kubectl's
 * last-applied-configuration annotation is dropped, because it holds the plaintext.
 * @throws StalledError('InvalidManifest') naming the source, document, Secret and key: not a v1 Secret, no
 *   metadata.name, a `data` value that is not standard base64, a `stringData` value that is not a string,
 *   a key the API server would refuse, labels/annotations that are not strings, or no data at all (unless
 *   `allowEmptyData`).
 */
export function readSecret(doc: ParsedDocument, source: string, options: { allowEmptyData: boolean }): PlainSecret {
  const value = doc.value;
  const at = `${source}: document ${doc.index}`;
  if (value.kind !== 'Secret') {
    const kind = typeof value.kind === 'string' && value.kind !== '' ? `a ${value.kind}` : 'an object without kind';
    throw new StalledError('InvalidManifest', `${at} is ${kind}, not a Secret`);
  }
  const where = describeObject(at, 'Secret', value.metadata);
  if (value.apiVersion !== 'v1') invalid(where, `apiVersion must be v1 for a Secret`);
  const metadata = readMapping(value.metadata, 'metadata', where);
  const name = readOptionalString(metadata.name, 'metadata.name', where);
  if (name === undefined || name === '') invalid(where, 'metadata.name is required');
  const namespace = readOptionalString(metadata.namespace, 'metadata.namespace', where);
  const annotations = readStringMap(metadata.annotations, 'metadata.annotations', where);
  delete annotations[LAST_APPLIED_ANNOTATION];

  const data = readData(value, where);
  if (data.size === 0 && !options.allowEmptyData) invalid(where, 'has no data: both data and stringData are empty (seal it anyway with --allow-empty-data)');
  const immutable = readOptionalBoolean(value.immutable, 'immutable', where);
  return {
    name,
    ...(namespace === undefined || namespace === '' ? {} : { namespace }),
    labels: readStringMap(metadata.labels, 'metadata.labels', where),
    annotations,
    type: readOptionalString(value.type, 'type', where) ?? 'Opaque',
    ...(immutable === undefined ? {} : { immutable }),
    data,
    where,
  };
}

function readData(value: Record<string, unknown>, where: string): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  for (const [key, item] of Object.entries(readMapping(value.data, 'data', where))) {
    checkKey('data', key, where);
    if (typeof item !== 'string') invalid(where, notAString(`data.${key}`, item));
    // Go's base64 decoder, which the API server uses, skips line breaks; nothing else outside the alphabet.
    const encoded = item.replace(/[\r\n]/g, '');
    if (!BASE64_PATTERN.test(encoded)) invalid(where, `data.${key} is not valid base64`);
    data.set(key, Buffer.from(encoded, 'base64'));
  }
  for (const [key, item] of Object.entries(readMapping(value.stringData, 'stringData', where))) {
    checkKey('stringData', key, where);
    if (typeof item !== 'string') invalid(where, notAString(`stringData.${key}`, item));
    data.set(key, Buffer.from(item, 'utf8'));
  }
  return data;
}

/** The API server's rule for Secret and ConfigMap keys (IsConfigMapKey). */
function checkKey(field: string, key: string, where: string): void {
  const valid = KEY_PATTERN.test(key) && key.length <= 253 && key !== '.' && !key.startsWith('..');
  if (!valid) {
    invalid(
      where,
      `${field} key ${JSON.stringify(key)} is not a valid key: use at most 253 letters, digits, '-', '_' or '.', ` +
        `and not '.' or a name starting with '..'`,
    );
  }
}
