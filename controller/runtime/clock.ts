/**
 * The clock the runtime's timers run on. Components take one so that tests can move time by hand
 * (fake-clock.ts) instead of sleeping.
 */

/** Milliseconds since the epoch, and timers on that same time line. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's own clock: `Date.now` and the global timers. Never throws. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
