/**
 * Sigil's typed errors. Each carries a `reason` (a CamelCase word reused verbatim as a condition reason,
 * an event reason and a metric label) and says by its type what the caller should do:
 *
 * - `StalledError`: a person must act (bad input, wrong key); retrying the same input cannot succeed.
 * - `WaitingError`: a known condition will clear; retry after `after` milliseconds.
 * - `TransientError`: something failed that may work next time; retry with backoff.
 * - `UsageError`: the command line itself is wrong (the CLI exits 2 instead of 1).
 *
 * Messages never contain plaintext, ciphertext, tokens or keys: they name the object, the key and the reason.
 */
export class SigilError extends Error {
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.reason = reason;
  }
}

/** A person must change something before this can work; do not retry the same input. */
export class StalledError extends SigilError {}

/** Retry once `after` milliseconds have passed. */
export class WaitingError extends SigilError {
  readonly after: number;

  constructor(reason: string, message: string, after: number, options?: { cause?: unknown }) {
    super(reason, message, options);
    this.after = after;
  }
}

/** May succeed on a later attempt; retry with backoff. */
export class TransientError extends SigilError {}

/** The command line is wrong: an unknown option, a missing argument, options that exclude each other. */
export class UsageError extends SigilError {
  constructor(message: string) {
    super('UsageError', message);
  }
}

/** The message of any thrown value, for the one place that prints it. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
