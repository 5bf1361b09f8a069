import yaml from 'js-yaml';
import { StalledError } from '../errors.js';
import { cannotEdit, mergedEntries, type DecideEdit, type DocumentEdit } from './edit-types.js';
import { MANIFEST_SCHEMA } from './yaml-schema.js';
import {
  indentOf,
  isContent,
  isEmptyRest,
  readKeyLine,
  readValueStyle,
  renderKey,
  renderValue,
  splitLines,
  type Line,
  type ScalarStyle,
} from './yaml-text.js';

const DOCUMENT_START = /^---(\s|$)/;
const DOCUMENT_END = /^\.\.\.(\s|$)/;

/** Lines `start` up to `end` of a text replaced by `lines`. */
interface Splice {
  start: number;
  end: number;
  lines: Line[];
}

/**
 * Rewrites encryptedData values in a YAML text by editing lines: the document's `spec:` is found at the
 * top-level indentation, its `encryptedData:` among spec's children, and its entries below that. Replaced
 * entries keep their key as written, their value's quoting and a trailing comment; new entries follow the
 * last one. A flow-style `encryptedData` (`{}`, `{a: b}`, `null`) is rewritten into block style. Every
 * other line stays byte for byte.
 * @throws StalledError('InvalidManifest') when a document to edit is not laid out in block style.
 */
export function editYamlText(text: string, source: string, decide: DecideEdit): string {
  // A byte order mark would count as indentation of the first line; keep it aside.
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const lines = splitLines(text.slice(bom.length));
  const eol = lines.find((line) => line.eol !== '')?.eol ?? '\n';
  const splices: Splice[] = [];
  for (const chunk of documentChunks(lines)) {
    const chunkLines = lines.slice(chunk.start, chunk.end);
    if (!chunkLines.some(isDocumentContent)) continue;
    let values: unknown[];
    try {
      values = yaml.loadAll(chunkLines.map((line) => line.text + line.eol).join(''), null, { schema: MANIFEST_SCHEMA });
    } catch {
      throw new StalledError('InvalidManifest', `${source}: cannot edit encryptedData in place: the document at line ${chunk.start + 1} does not parse on its own`);
    }
    for (const value of values.filter((v) => v !== null && v !== undefined)) {
      const edit = decide(value);
      if (edit === undefined) continue;
      const fail = (why: string): never => {
        throw cannotEdit(source, edit.index, why);
      };
      for (const splice of chunkSplices(chunkLines, edit, eol, fail)) {
        splices.push({ ...splice, start: splice.start + chunk.start, end: splice.end + chunk.start });
      }
    }
  }
  return bom + applySplices(lines, splices, eol).map((line) => line.text + line.eol).join('');
}

/** Line ranges of the documents: a `---` line opens one, a `...` line closes one. */
function documentChunks(lines: Line[]): { start: number; end: number }[] {
  const chunks: { start: number; end: number }[] = [];
  let start = 0;
  lines.forEach((line, i) => {
    if (DOCUMENT_START.test(line.text) && i > start) {
      chunks.push({ start, end: i });
      start = i;
    } else if (DOCUMENT_END.test(line.text)) {
      chunks.push({ start, end: i + 1 });
      start = i + 1;
    }
  });
  if (start < lines.length) chunks.push({ start, end: lines.length });
  return chunks;
}

function isDocumentContent(line: Line): boolean {
  if (DOCUMENT_START.test(line.text)) return isContent(line.text.slice(3));
  return isContent(line.text) && !DOCUMENT_END.test(line.text) && !line.text.startsWith('%');
}

/** The line changes that apply `edit` to one document's lines. */
function chunkSplices(lines: Line[], edit: DocumentEdit, eol: string, fail: (why: string) => never): Splice[] {
  const root = lines.findIndex((line) => isDocumentContent(line) && !DOCUMENT_START.test(line.text));
  const rootIndent = root < 0 ? 0 : indentOf(lines[root]!.text);
  const spec = findKey(lines, Math.max(root, 0), lines.length, rootIndent, 'spec');
  if (spec === undefined) return fail('spec is not written as a block mapping');
  if (!isEmptyRest(spec.rest)) return fail('spec is written in flow style');
  const specEnd = blockEnd(lines, spec.line + 1, rootIndent);
  const childIndent = firstContentIndent(lines, spec.line + 1, specEnd) ?? rootIndent + 2;
  const entryIndent = childIndent + (childIndent - rootIndent);
  const header = (keyText: string): Line => ({ text: `${' '.repeat(childIndent)}${keyText}:`, eol });

  const data = findKey(lines, spec.line + 1, specEnd, childIndent, 'encryptedData');
  if (data === undefined) {
    const added = [header('encryptedData'), ...entryLines(mergedEntries(edit), entryIndent, 'plain', eol)];
    return [{ start: spec.line + 1, end: spec.line + 1, lines: added }];
  }
  const dataEnd = blockEnd(lines, data.line + 1, childIndent);
  if (!isEmptyRest(data.rest)) {
    // A flow mapping (or null): rewrite it, with all its entries, into block style.
    const end = lastContentEnd(lines, data.line + 1, dataEnd) ?? data.line + 1;
    const block = [header(data.keyText), ...entryLines(mergedEntries(edit), entryIndent, 'plain', eol)];
    block[block.length - 1] = { ...block[block.length - 1]!, eol: lines[end - 1]!.eol };
    return [{ start: data.line, end, lines: block }];
  }
  return blockSplices(lines, data.line, dataEnd, edit, firstContentIndent(lines, data.line + 1, dataEnd) ?? entryIndent, eol, fail);
}

/** Replaces changed entries of a block-style encryptedData and appends the new ones after the last entry. */
function blockSplices(
  lines: Line[],
  header: number,
  end: number,
  edit: DocumentEdit,
  indent: number,
  eol: string,
  fail: (why: string) => never,
): Splice[] {
  const starts: number[] = [];
  for (let i = header + 1; i < end; i++) {
    if (isContent(lines[i]!.text) && indentOf(lines[i]!.text) === indent) starts.push(i);
  }
  const splices: Splice[] = [];
  const seen = new Set<string>();
  let after = header + 1;
  let style: ScalarStyle = 'plain';
  starts.forEach((start, n) => {
    const entry = readKeyLine(lines[start]!.text.slice(indent));
    if (entry === undefined) return fail(`line ${start + 1} is not a key: value entry`);
    const entryEnd = lastContentEnd(lines, start, starts[n + 1] ?? end) ?? start + 1;
    const singleLine = entryEnd === start + 1;
    const written = readValueStyle(entry.rest);
    style = singleLine ? written.style : 'plain';
    after = entryEnd;
    seen.add(entry.key);
    const value = edit.changes.get(entry.key);
    if (value === undefined) return;
    const comment = singleLine ? written.comment : '';
    const text = `${' '.repeat(indent)}${entry.keyText}: ${renderValue(value, style)}${comment}`;
    splices.push({ start, end: entryEnd, lines: [{ text, eol: lines[entryEnd - 1]!.eol }] });
  });
  const added = [...edit.changes].filter(([key]) => !seen.has(key));
  if (added.length > 0) splices.push({ start: after, end: after, lines: entryLines(added, indent, style, eol) });
  return splices;
}

function entryLines(entries: [string, string][], indent: number, style: ScalarStyle, eol: string): Line[] {
  return entries.map(([key, value]) => ({ text: `${' '.repeat(indent)}${renderKey(key)}: ${renderValue(value, style)}`, eol }));
}

/** The line at `indent` between `from` and `to` whose key reads as `key`. */
function findKey(lines: Line[], from: number, to: number, indent: number, key: string): { line: number; keyText: string; rest: string } | undefined {
  for (let i = from; i < to; i++) {
    const text = lines[i]!.text;
    if (!isContent(text) || indentOf(text) !== indent) continue;
    const found = readKeyLine(text.slice(indent));
    if (found?.key === key) return { line: i, keyText: found.keyText, rest: found.rest };
  }
  return undefined;
}

/** The first line from `from` whose content is indented no deeper than `parentIndent` (or the end). */
function blockEnd(lines: Line[], from: number, parentIndent: number): number {
  for (let i = from; i < lines.length; i++) {
    if (isContent(lines[i]!.text) && indentOf(lines[i]!.text) <= parentIndent) return i;
  }
  return lines.length;
}

function firstContentIndent(lines: Line[], from: number, to: number): number | undefined {
  for (let i = from; i < to; i++) if (isContent(lines[i]!.text)) return indentOf(lines[i]!.text);
  return undefined;
}

/** One past the last line with content in `from..to`, so trailing comments and blank lines stay put. */
function lastContentEnd(lines: Line[], from: number, to: number): number | undefined {
  for (let i = to - 1; i >= from; i--) if (isContent(lines[i]!.text)) return i + 1;
  return undefined;
}

/** Applies non-overlapping splices; text appended after a last line without line ending gets one first. */
function applySplices(lines: Line[], splices: Splice[], eol: string): Line[] {
  const out: Line[] = [];
  let next = 0;
  for (const splice of [...splices].sort((a, b) => a.start - b.start || a.end - b.end)) {
    while (next < splice.start) out.push(lines[next++]!);
    const previous = out[out.length - 1];
    const added = splice.lines.map((line) => ({ ...line }));
    if (splice.start === splice.end && previous !== undefined && previous.eol === '' && added.length > 0) {
      out[out.length - 1] = { ...previous, eol };
      added[added.length - 1]!.eol = '';
    }
    out.push(...added);
    next = splice.end;
  }
  while (next < lines.length) out.push(lines[next++]!);
  return out;
}
