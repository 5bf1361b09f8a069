import { StalledError } from '../errors.js';

/** What to change in one document: its number in the file, and the new encryptedData values by key. */
export interface DocumentEdit {
  index: number;
  /** The document's encryptedData before the edit, in file order. */
  before: Map<string, string>;
  changes: Map<string, string>;
}

/**
 * Called by the text editors with each document's parsed value, in file order; says whether and how to
 * edit that document. Keeps the document count, so it must see every document exactly once.
 */
export type DecideEdit = (value: unknown) => DocumentEdit | undefined;

/** The error for a file that cannot be edited without risking its content. */
export function cannotEdit(source: string, index: number, why: string): StalledError {
  return new StalledError('InvalidManifest', `${source}: cannot edit encryptedData of document ${index} in place: ${why}`);
}

/** The entries of `before` with `changes` applied: changed keys where they stood, new keys at the end. */
export function mergedEntries(edit: DocumentEdit): [string, string][] {
  const merged = new Map(edit.before);
  for (const [key, value] of edit.changes) merged.set(key, value);
  return [...merged];
}
