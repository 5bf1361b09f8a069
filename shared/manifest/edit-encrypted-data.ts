import { isDeepStrictEqual } from 'node:util';
import { errorMessage } from '../errors.js';
import { editJsonText } from './edit-json.js';
import { cannotEdit, mergedEntries, type DocumentEdit } from './edit-types.js';
import { editYamlText } from './edit-yaml.js';
import { isMapping } from './fields.js';
import { isList, listItems, parseManifests, type ParsedDocument } from './parse.js';
import { isSealedSecret, readSealedSecret, type SealedSecret } from './sealed-secret.js';

/**
 * Rewrites encryptedData values in the text of a sealed file. For every SealedSecret document (either
 * shape), `edit` returns a Map key→new value (or undefined to leave that document alone): existing keys
 * get their value replaced where they stand, new keys are appended at the end of that encryptedData block
 * with the same indentation and style. Every other byte of the file stays identical: comments, key order,
 * blank lines, other documents, quoting of other values, line endings.
 *
 * The result is parsed again and compared with the input: each edited document must equal the old one with
 * its encryptedData merged, and every other document must be unchanged, or nothing is returned.
 * @throws StalledError('InvalidManifest') for an input that does not parse or holds an invalid
 *   SealedSecret, and `<source>: cannot edit encryptedData of document <n> in place: <why>` when the
 *   document's layout cannot be edited safely (inside a List, flow-style spec) or the check fails.
 */
export function editEncryptedData(
  text: string,
  source: string,
  edit: (ss: SealedSecret, documentIndex: number) => Map<string, string> | undefined,
): string {
  const before = parseManifests(text, source);
  const edits: DocumentEdit[] = [];
  let next = 1;
  const decide = (value: unknown): DocumentEdit | undefined => {
    const index = next;
    if (isList(value)) {
      const items = listItems(value, index, source);
      next += items.length;
      items.forEach((item, i) => {
        if (isMapping(item) && wantedChanges(item, index + i, source, edit) !== undefined) {
          throw cannotEdit(source, index + i, 'it sits inside a List');
        }
      });
      return undefined;
    }
    next += 1;
    if (!isMapping(value)) return undefined;
    const found = wantedChanges(value, index, source, edit);
    if (found !== undefined) edits.push(found);
    return found;
  };
  const after = before.format === 'json' ? editJsonText(text, source, decide) : editYamlText(text, source, decide);
  if (next !== before.documents.length + 1) {
    throw cannotEdit(source, edits[0]?.index ?? 1, 'the documents of the file could not be told apart');
  }
  if (edits.length > 0) verify(before.documents, after, source, edits);
  return after;
}

function wantedChanges(
  value: Record<string, unknown>,
  index: number,
  source: string,
  edit: (ss: SealedSecret, documentIndex: number) => Map<string, string> | undefined,
): DocumentEdit | undefined {
  if (!isSealedSecret(value)) return undefined;
  const ss = readSealedSecret(value, `${source}: document ${index}`);
  const before = new Map(ss.encryptedData);
  const changes = edit(ss, index);
  return changes === undefined || changes.size === 0 ? undefined : { index, before, changes: new Map(changes) };
}

/** Throws unless `text` parses into `before` with exactly the edits applied. */
function verify(before: ParsedDocument[], text: string, source: string, edits: DocumentEdit[]): void {
  const firstEdit = edits[0]!.index;
  let after: ParsedDocument[];
  try {
    after = parseManifests(text, source).documents;
  } catch (err) {
    throw cannotEdit(source, firstEdit, `the edited file would not parse (${errorMessage(err).replace(`${source}: `, '')})`);
  }
  if (after.length !== before.length) throw cannotEdit(source, firstEdit, 'the edited file would hold a different number of documents');
  const byIndex = new Map(edits.map((e) => [e.index, e]));
  before.forEach((doc, i) => {
    const edit = byIndex.get(doc.index);
    const actual = after[i]!.value;
    if (edit === undefined) {
      if (!isDeepStrictEqual(actual, doc.value)) throw cannotEdit(source, firstEdit, `document ${doc.index} would change too`);
      return;
    }
    const expected = structuredClone(doc.value) as { spec: Record<string, unknown> };
    expected.spec.encryptedData = Object.fromEntries(mergedEntries(edit));
    const spec = (actual as { spec?: Record<string, unknown> }).spec;
    if (!isDeepStrictEqual(spec?.encryptedData, expected.spec.encryptedData)) {
      throw cannotEdit(source, edit.index, 'the edited encryptedData would not read back as the merged values');
    }
    if (!isDeepStrictEqual(actual, expected)) throw cannotEdit(source, edit.index, 'fields other than encryptedData would change');
  });
}
