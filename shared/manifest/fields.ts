import { StalledError } from '../errors.js';

/**
 * Small checks on parsed manifest values, shared by the Secret and SealedSecret readers. Every message
 * names the place (`where`) and the field, never the value: values may be secret.
 */

/** True for a YAML/JSON mapping (a plain object, not a list or null). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** How a value reads in a message: "a boolean", "a number", "null", "a list", "a mapping", "a string". */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  return `a ${typeof value}`;
}

/** The reason a value is not a string, with advice to quote it when YAML turned a scalar into something else. */
export function notAString(field: string, value: unknown): string {
  const scalar = value === null || value === undefined || typeof value === 'boolean' || typeof value === 'number';
  const is = value === null || value === undefined ? 'is null' : `is ${describeType(value)}`;
  return `${field} ${is}, not a string${scalar ? '; quote it' : ''}`;
}

/** `<Kind> <namespace>/<name>`, `<Kind> <name>`, or `<Kind>` when the name is not known. */
export function objectLabel(kind: string, metadata: unknown): string {
  const name = isMapping(metadata) && typeof metadata.name === 'string' ? metadata.name : '';
  const namespace = isMapping(metadata) && typeof metadata.namespace === 'string' ? metadata.namespace : '';
  if (name === '') return kind;
  return `${kind} ${namespace === '' ? name : `${namespace}/${name}`}`;
}

/** `<where> (<Kind> <namespace>/<name>)`, leaving out what is not known yet. */
export function describeObject(where: string, kind: string, metadata: unknown): string {
  return `${where} (${objectLabel(kind, metadata)})`;
}

/** Throws StalledError('InvalidManifest', `<where>: <reason>`). */
export function invalid(where: string, reason: string): never {
  throw new StalledError('InvalidManifest', `${where}: ${reason}`);
}

/**
 * Reads an optional mapping field (absent or null = empty).
 * @throws StalledError('InvalidManifest') when it is present but not a mapping.
 */
export function readMapping(value: unknown, field: string, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) invalid(where, `${field} is ${describeType(value)}, not a mapping`);
  return value;
}

/**
 * Reads an optional map of strings such as labels or annotations, in input order.
 * @throws StalledError('InvalidManifest') naming the field and key when it is not a mapping of strings.
 */
export function readStringMap(value: unknown, field: string, where: string): Record<string, string> {
  const entries = Object.entries(readMapping(value, field, where));
  for (const [key, item] of entries) {
    if (typeof item !== 'string') invalid(where, notAString(`${field}.${key}`, item));
  }
  // fromEntries defines own properties, so a key named __proto__ stays a key.
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * Reads an optional string field.
 * @throws StalledError('InvalidManifest') when it is present but not a string.
 */
export function readOptionalString(value: unknown, field: string, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') invalid(where, notAString(field, value));
  return value;
}

/**
 * Reads an optional boolean field.
 * @throws StalledError('InvalidManifest') when it is present but not a boolean.
 */
export function readOptionalBoolean(value: unknown, field: string, where: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') invalid(where, `${field} is ${describeType(value)}, not a boolean`);
  return value;
}
