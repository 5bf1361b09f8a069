import yaml from 'js-yaml';
import { isDeepStrictEqual } from 'node:util';
import { MANIFEST_SCHEMA } from './yaml-schema.js';

/**
 * Line-level reading of YAML text for the in-place editor: lines with their own line endings, indentation,
 * `key: value` lines, and scalars written the way YAML reads them back unchanged.
 */

/** One line of a text, without and with its line ending ('' on a last line without one). */
export interface Line {
  text: string;
  eol: string;
}

/** A `key: value` line: the key as written, the key as YAML reads it, and what follows the colon. */
export interface KeyLine {
  keyText: string;
  key: string;
  rest: string;
}

/** Splits a text into lines; `lines.map(l => l.text + l.eol).join('')` gives the text back. */
export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline + 1;
    const raw = text.slice(start, end);
    const eol = raw.endsWith('\r\n') ? '\r\n' : raw.endsWith('\n') ? '\n' : '';
    lines.push({ text: raw.slice(0, raw.length - eol.length), eol });
    start = end;
  }
  return lines;
}

/** The number of leading spaces. */
export function indentOf(text: string): number {
  return text.length - text.trimStart().length;
}

/** True for a line that holds YAML content: not blank and not only a comment. */
export function isContent(text: string): boolean {
  const trimmed = text.trim();
  return trimmed !== '' && !trimmed.startsWith('#');
}

/** True when `rest` (what follows a key's colon) is empty or only a comment: the value is on later lines. */
export function isEmptyRest(rest: string): boolean {
  return !isContent(rest);
}

/** Reads `key: value` at the start of `content` (the line without its indentation), or undefined. */
export function readKeyLine(content: string): KeyLine | undefined {
  const keyEnd = scalarEnd(content);
  if (keyEnd < 0) return undefined;
  let colon = keyEnd;
  if (content[0] === '"' || content[0] === "'") {
    while (content[colon] === ' ') colon++;
  } else {
    colon = /:(?=\s|$)/.exec(content)?.index ?? -1;
  }
  if (colon < 0 || content[colon] !== ':' || !/^(\s|$)/.test(content.slice(colon + 1))) return undefined;
  const keyText = content.slice(0, content[0] === '"' || content[0] === "'" ? keyEnd : colon).trimEnd();
  if (keyText === '' || /^([#&*!|>%@`{}[\],]|[-?:](\s|$))/.test(keyText) || /\s#/.test(keyText)) return undefined;
  const key = readKey(keyText);
  return key === undefined ? undefined : { keyText, key, rest: content.slice(colon + 1) };
}

/** How a value was quoted, so a replaced value keeps its style. */
export type ScalarStyle = 'plain' | 'single' | 'double';

/** The style of a value (what follows the colon), and a trailing comment to keep (with its spacing). */
export function readValueStyle(rest: string): { style: ScalarStyle; comment: string } {
  const value = rest.trimStart();
  const style: ScalarStyle = value.startsWith('"') ? 'double' : value.startsWith("'") ? 'single' : 'plain';
  if (style === 'plain' && /^[&*!|>]/.test(value)) return { style, comment: '' };
  const end = style === 'plain' ? (/\s+#/.exec(value)?.index ?? value.length) : scalarEnd(value);
  const after = end < 0 ? '' : value.slice(end);
  return { style, comment: /^\s+#/.test(after) ? after : '' };
}

/** `value` written as a YAML scalar in `style`; plain only when YAML reads it back as the same string. */
export function renderValue(value: string, style: ScalarStyle): string {
  if (style === 'single' && /^[\x20-\x7e]*$/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  if (style === 'plain' && isPrintable(value) && readsBackAs(`k: ${value}`, 'k', value)) return value;
  return JSON.stringify(value);
}

/** `key` written as a mapping key: plain unless YAML would read it as something else (`true`, `1`, `~`). */
export function renderKey(key: string): string {
  const plain = isPrintable(key) && readsBackAs(key, undefined, key) && readsBackAs(`${key}: v`, key, 'v');
  return plain ? key : JSON.stringify(key);
}

/** The string YAML makes of `keyText` as a mapping key (js-yaml turns keys such as `1` or `true` into strings). */
function readKey(keyText: string): string | undefined {
  try {
    const read = yaml.load(`${keyText}: 0`, { schema: MANIFEST_SCHEMA });
    const keys = typeof read === 'object' && read !== null ? Object.keys(read) : [];
    return keys.length === 1 ? keys[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Printable ASCII without leading or trailing spaces: the only text worth trying unquoted. */
function isPrintable(text: string): boolean {
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(text);
}

/**
 * True when YAML reads `text` as `{ [key]: value }`, or as the string `value` alone when `key` is undefined,
 * both as Kubernetes reads it and under js-yaml's default schema (which takes dates for timestamps).
 */
function readsBackAs(text: string, key: string | undefined, value: string): boolean {
  const expected = key === undefined ? value : { [key]: value };
  try {
    return [MANIFEST_SCHEMA, yaml.DEFAULT_SCHEMA].every((schema) => isDeepStrictEqual(yaml.load(text, { schema }), expected));
  } catch {
    return false;
  }
}

/** The index just past a quoted scalar at the start of `text`, 0 when it is not quoted, -1 when unclosed. */
function scalarEnd(text: string): number {
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return 0;
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (quote === "'" && text[i] === "'" && text[i + 1] === "'") i++;
    else if (text[i] === quote) return i + 1;
  }
  return -1;
}
