import { StalledError } from '../errors.js';

/** Where one top-level JSON value sits in a text: `text.slice(start, end)`. */
export interface JsonSpan {
  start: number;
  end: number;
}

/**
 * Splits a text holding one or more concatenated top-level JSON objects or arrays (`{..}{..}`, or separated
 * by whitespace) into the spans of those values. It only balances brackets, honouring strings and escapes;
 * JSON.parse judges each span afterwards.
 * @throws StalledError('InvalidManifest') for text between values or a value that never closes.
 */
export function splitJsonValues(text: string, source: string): JsonSpan[] {
  const spans: JsonSpan[] = [];
  let i = skipWhitespace(text, 0);
  while (i < text.length) {
    if (text[i] !== '{' && text[i] !== '[') {
      throw jsonError(source, text, i, 'expected an object or array');
    }
    const end = closingIndex(text, i);
    if (end < 0) throw jsonError(source, text, i, 'this value never closes');
    spans.push({ start: i, end });
    i = skipWhitespace(text, end);
  }
  return spans;
}

/**
 * Parses one span found by splitJsonValues.
 * @throws StalledError('InvalidManifest') with the line of the syntax error; the message never quotes the text.
 */
export function parseJsonSpan(text: string, span: JsonSpan, source: string): unknown {
  try {
    return JSON.parse(text.slice(span.start, span.end));
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    const position = /at position (\d+)/.exec(message);
    const offset = position?.[1] === undefined ? 0 : Number(position[1]);
    // V8 sometimes quotes the input around the error ("... is not valid JSON"): keep such text out.
    const reason = position !== null && !message.includes('"') ? message.replace(/ in JSON at position.*$/, '') : '';
    throw jsonError(source, text, span.start + offset, reason);
  }
}

/** The 1-based line of `offset` in `text`. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

function jsonError(source: string, text: string, offset: number, reason: string): StalledError {
  const suffix = reason === '' ? '' : `: ${reason}`;
  return new StalledError('InvalidManifest', `${source}: invalid JSON at line ${lineOf(text, offset)}${suffix}`);
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] as string)) i++;
  return i;
}

/** The index just past the bracket that closes the one at `start`, or -1. */
function closingIndex(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
