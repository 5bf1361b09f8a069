/**
 * Where the parts of a JSON value sit in its text, for editing JSON in place. The text must already be
 * valid JSON (JSON.parse accepted it): this only measures it.
 */

/** A value's span; `members` is set for objects. */
export interface JsonNode {
  start: number;
  end: number;
  members?: JsonMember[];
}

/** An object member: its key, where the key's quoted text starts and ends, and its value. */
export interface JsonMember {
  key: string;
  keyStart: number;
  keyEnd: number;
  value: JsonNode;
}

/**
 * Measures the JSON value starting at or after `from`.
 * @throws Error when the text is not valid JSON there (callers parse it first).
 */
export function locateJson(text: string, from: number): JsonNode {
  const start = skipWhitespace(text, from);
  const ch = text[start];
  if (ch === '{' || ch === '[') return locateCollection(text, start);
  if (ch === '"') return { start, end: stringEnd(text, start) };
  const literal = /^[-+.\w]+/.exec(text.slice(start, start + 64));
  if (literal === null) throw new Error(`unexpected JSON at offset ${start}`);
  return { start, end: start + literal[0].length };
}

/** The last member named `key` (JSON.parse keeps the last of duplicate keys), if `node` is an object. */
export function memberOf(node: JsonNode | undefined, key: string): JsonMember | undefined {
  return node?.members?.filter((member) => member.key === key).pop();
}

function locateCollection(text: string, start: number): JsonNode {
  const isObject = text[start] === '{';
  const close = isObject ? '}' : ']';
  const members: JsonMember[] = [];
  let i = skipWhitespace(text, start + 1);
  while (text[i] !== close) {
    if (isObject) {
      const keyEnd = stringEnd(text, i);
      const key = JSON.parse(text.slice(i, keyEnd)) as string;
      const colon = skipWhitespace(text, keyEnd);
      if (text[colon] !== ':') throw new Error(`expected ':' at offset ${colon}`);
      const value = locateJson(text, colon + 1);
      members.push({ key, keyStart: i, keyEnd, value });
      i = skipWhitespace(text, value.end);
    } else {
      i = skipWhitespace(text, locateJson(text, i).end);
    }
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
    else if (text[i] !== close) throw new Error(`expected ',' or '${close}' at offset ${i}`);
  }
  return { start, end: i + 1, ...(isObject ? { members } : {}) };
}

function stringEnd(text: string, start: number): number {
  if (text[start] !== '"') throw new Error(`expected a string at offset ${start}`);
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  throw new Error(`unterminated string at offset ${start}`);
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] as string)) i++;
  return i;
}
