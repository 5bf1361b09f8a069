import { StalledError, errorMessage } from '../errors.js';
import { cannotEdit, mergedEntries, type DecideEdit, type DocumentEdit } from './edit-types.js';
import { locateJson, memberOf, type JsonNode } from './json-spans.js';
import { splitJsonValues } from './json-values.js';

/** Text `start` up to `end` replaced by `text`. */
interface Replacement {
  start: number;
  end: number;
  text: string;
}

/**
 * Rewrites encryptedData values in a JSON text (one or more concatenated objects) by editing it in place:
 * changed values are replaced where they stand, new members follow the last one with the same spacing,
 * and a missing, empty or null encryptedData is written out with the indentation of its surroundings.
 * @throws StalledError('InvalidManifest') when a document to edit has no spec object.
 */
export function editJsonText(text: string, source: string, decide: DecideEdit): string {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const replacements: Replacement[] = [];
  for (const span of splitJsonValues(text, source)) {
    const edit = decide(JSON.parse(text.slice(span.start, span.end)));
    if (edit === undefined) continue;
    try {
      replacements.push(...documentReplacements(text, locateJson(text, span.start), edit, newline));
    } catch (err) {
      throw err instanceof StalledError ? err : cannotEdit(source, edit.index, errorMessage(err));
    }
  }
  let result = text;
  for (const r of replacements.sort((a, b) => b.start - a.start)) result = result.slice(0, r.start) + r.text + result.slice(r.end);
  return result;
}

function documentReplacements(text: string, root: JsonNode, edit: DocumentEdit, newline: string): Replacement[] {
  const specMember = memberOf(root, 'spec');
  const spec = specMember?.value;
  const firstOfSpec = spec?.members?.[0];
  if (specMember === undefined || spec === undefined || firstOfSpec === undefined) throw new Error('spec is not an object with members');
  const layout = {
    pretty: text.slice(spec.start, spec.end).includes('\n'),
    unit: unitOf(lineIndent(text, specMember.keyStart), lineIndent(text, firstOfSpec.keyStart)),
    colon: text.slice(firstOfSpec.keyEnd, firstOfSpec.value.start),
    newline,
  };
  const data = memberOf(spec, 'encryptedData');
  if (data === undefined) {
    const gap = text.slice(spec.start + 1, firstOfSpec.keyStart);
    const value = renderObject(mergedEntries(edit), lineIndent(text, firstOfSpec.keyStart), layout);
    return [{ start: spec.start + 1, end: spec.start + 1, text: `${gap}"encryptedData"${layout.colon}${value},` }];
  }
  const members = data.value.members ?? [];
  const first = members[0];
  const last = members[members.length - 1];
  if (first === undefined || last === undefined) {
    // `{}` or null: write the whole object.
    const value = renderObject(mergedEntries(edit), lineIndent(text, data.keyStart), layout);
    return [{ start: data.value.start, end: data.value.end, text: value }];
  }
  const replacements: Replacement[] = [];
  for (const member of members) {
    const value = edit.changes.get(member.key);
    if (value !== undefined) replacements.push({ start: member.value.start, end: member.value.end, text: JSON.stringify(value) });
  }
  const gap = text.slice(data.value.start + 1, first.keyStart);
  const colon = text.slice(first.keyEnd, first.value.start);
  const added = [...edit.changes]
    .filter(([key]) => memberOf(data.value, key) === undefined)
    .map(([key, value]) => `,${gap}${JSON.stringify(key)}${colon}${JSON.stringify(value)}`);
  if (added.length > 0) replacements.push({ start: last.value.end, end: last.value.end, text: added.join('') });
  return replacements;
}

function renderObject(
  entries: [string, string][],
  indent: string,
  layout: { pretty: boolean; unit: string; colon: string; newline: string },
): string {
  const members = entries.map(([key, value]) => `${JSON.stringify(key)}${layout.colon}${JSON.stringify(value)}`);
  if (!layout.pretty) return `{${members.join(',')}}`;
  const inner = `${layout.newline}${indent}${layout.unit}`;
  return `{${inner}${members.join(`,${inner}`)}${layout.newline}${indent}}`;
}

/** The whitespace before `offset` on its line ('' when other text precedes it). */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(before) ? before : '';
}

/** One indentation step: how much deeper the members of an object sit than the object's own key. */
function unitOf(outer: string, inner: string): string {
  return inner.length > outer.length && inner.startsWith(outer) ? inner.slice(outer.length) : '  ';
}
