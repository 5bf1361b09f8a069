import yaml from 'js-yaml';
import { StalledError } from '../errors.js';
import { describeType, isMapping } from './fields.js';
import { parseJsonSpan, splitJsonValues } from './json-values.js';
import { MANIFEST_SCHEMA } from './yaml-schema.js';

/** The notation a manifest file is written in; output keeps the input's notation. */
export type ManifestFormat = 'yaml' | 'json';

/** One Kubernetes object from an input. */
export interface ParsedDocument {
  /** 1-based position of the document in the input, after List flattening and skipping empty documents. */
  index: number;
  value: Record<string, unknown>;
}

/**
 * Parses the objects in a manifest text. JSON when the first non-blank character is `{` or `[` (one object,
 * several concatenated objects, or a `v1` `List`); YAML otherwise (multi-document, empty documents
 * skipped). The items of a `v1` `List` become documents of their own.
 * @throws StalledError('InvalidManifest') for a syntax error (with its line), a document that is not a
 *   mapping (`<source>: document <n>: …`), or an input without documents.
 */
export function parseManifests(text: string, source: string): { format: ManifestFormat; documents: ParsedDocument[] } {
  const format: ManifestFormat = /^\s*[[{]/.test(text) ? 'json' : 'yaml';
  const values = format === 'json' ? readJson(text, source) : readYaml(text, source);
  const documents = flattenLists(values, source);
  if (documents.length === 0) throw new StalledError('InvalidManifest', `${source}: no documents found`);
  return { format, documents };
}

/** True for a `v1` `List` object, whose `items` are the documents it holds. */
export function isList(value: unknown): value is Record<string, unknown> {
  return isMapping(value) && value.apiVersion === 'v1' && value.kind === 'List';
}

/**
 * The items of a `v1` `List` (absent or null = none).
 * @throws StalledError('InvalidManifest') when `items` is not a list.
 */
export function listItems(list: Record<string, unknown>, index: number, source: string): unknown[] {
  const items = list.items ?? [];
  if (!Array.isArray(items)) {
    throw new StalledError('InvalidManifest', `${source}: document ${index}: List items is ${describeType(items)}, not a list`);
  }
  return items;
}

function readJson(text: string, source: string): unknown[] {
  return splitJsonValues(text, source).map((span) => parseJsonSpan(text, span, source));
}

function readYaml(text: string, source: string): unknown[] {
  try {
    return yaml.loadAll(text, null, { schema: MANIFEST_SCHEMA }).filter((doc) => doc !== null && doc !== undefined);
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      // err.message would quote the offending lines, which may hold secret values: use reason and line only.
      const line = (err.mark as yaml.Mark | undefined) === undefined ? '' : ` at line ${err.mark.line + 1}`;
      throw new StalledError('InvalidManifest', `${source}: invalid YAML${line}: ${err.reason}`);
    }
    throw err;
  }
}

function flattenLists(values: unknown[], source: string): ParsedDocument[] {
  const documents: ParsedDocument[] = [];
  for (const value of values) {
    const items = isList(value) ? listItems(value, documents.length + 1, source) : [value];
    for (const item of items) {
      const index = documents.length + 1;
      if (!isMapping(item)) {
        throw new StalledError('InvalidManifest', `${source}: document ${index}: expected a mapping, got ${describeType(item)}`);
      }
      documents.push({ index, value: item });
    }
  }
  return documents;
}
