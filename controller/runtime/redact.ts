/**
 * Turns any value into plain JSON data that is safe to log: secret-bearing fields are replaced, errors are
 * cut down to what names the failure, binary data is reduced to its length, and cycles or very deep values
 * end in a marker instead of a crash. This is the one place that decides what "safe to log" means.
 */

/** What a redacted value is written as. */
export const REDACTED = '[REDACTED]';

/**
 * Field names (compared case-insensitively, at any depth) whose values are never written: Secret payloads,
 * credentials and key material.
 */
export const REDACTED_KEYS: ReadonlySet<string> = new Set(
  ['data', 'stringData', 'encryptedData', 'token', 'password', 'privateKey', 'key', 'tls.key', 'plaintext', 'ciphertext', 'authorization', 'secret'].map(
    (k) => k.toLowerCase(),
  ),
);

const MAX_DEPTH = 10;

/** How `toLoggable` writes errors. */
export interface LoggableOptions {
  /** Include `stack` in errors (debug logging only: stacks are long). */
  stack: boolean;
}

/**
 * A JSON-safe copy of `value` with every field named in REDACTED_KEYS replaced by "[REDACTED]". Errors become
 * `{ name, message, reason }` (plus `stack` when asked), Buffers and typed arrays `"[Binary N bytes]"`,
 * Dates their ISO text, bigints their decimal text, Maps objects and Sets arrays. Cycles become
 * "[Circular]", values nested deeper than 10 levels "[Truncated]", fields whose getter throws "[Unreadable]".
 * `undefined` fields are left out. Never throws.
 */
export function toLoggable(value: unknown, options: LoggableOptions): unknown {
  return convert(value, options, new Set<object>(), 0);
}

function convert(value: unknown, options: LoggableOptions, ancestors: Set<object>, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
      return undefined;
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function${value.name ? ` ${value.name}` : ''}]`;
  }
  if (value === null) return null;
  const obj = value as object;
  if (ancestors.has(obj)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (ArrayBuffer.isView(obj)) return `[Binary ${obj.byteLength} bytes]`;
  if (obj instanceof ArrayBuffer) return `[Binary ${obj.byteLength} bytes]`;
  ancestors.add(obj);
  try {
    if (obj instanceof Error) return errorFields(obj, options);
    if (Array.isArray(obj)) return obj.map((item) => convert(item, options, ancestors, depth + 1) ?? null);
    if (obj instanceof Set) return [...obj].map((item) => convert(item, options, ancestors, depth + 1) ?? null);
    const entries: Array<[string, () => unknown]> =
      obj instanceof Map ? [...obj].map(([k, v]) => [String(k), () => v]) : Object.keys(obj).map((k) => [k, () => (obj as Record<string, unknown>)[k]]);
    const out: Record<string, unknown> = {};
    for (const [key, read] of entries) {
      let field: unknown;
      try {
        field = read();
      } catch {
        out[key] = '[Unreadable]';
        continue;
      }
      if (field !== undefined && REDACTED_KEYS.has(key.toLowerCase())) {
        out[key] = REDACTED;
        continue;
      }
      const converted = convert(field, options, ancestors, depth + 1);
      if (converted !== undefined) out[key] = converted;
    }
    return out;
  } catch {
    return '[Unreadable]';
  } finally {
    ancestors.delete(obj);
  }
}

function errorFields(err: Error, options: LoggableOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { name: String(err.name), message: String(err.message) };
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string') out.reason = reason;
  if (options.stack && typeof err.stack === 'string') out.stack = err.stack;
  return out;
}
