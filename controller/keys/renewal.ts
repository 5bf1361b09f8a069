/**
 * When the next sealing key is due. Pure: the key manager owns the timer, this says when it should fire.
 * A key's age is counted from its certificate's notBefore, so a restart or a new leader keeps the schedule.
 */

/** setTimeout's longest delay (2^31 − 1 ms, ~24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The shortest wait between two looks at the schedule: certificate times have whole seconds, so a key made
 * now may already look up to a second old, and a renewal period shorter than that must not make keys in a
 * loop.
 */
export const MIN_TIMER_MS = 1000;

/** True when a key valid from `notBefore` has reached `periodMs` of age at `now`. */
export function renewalDue(notBefore: Date, periodMs: number, now: Date): boolean {
  return now.getTime() - notBefore.getTime() >= periodMs;
}

/**
 * Milliseconds to wait before looking again at a key valid from `notBefore`: until it is `periodMs` old,
 * but at least MIN_TIMER_MS and at most MAX_TIMER_MS (the timer then wakes early and waits again).
 */
export function renewalDelay(notBefore: Date, periodMs: number, now: Date): number {
  const remaining = notBefore.getTime() + periodMs - now.getTime();
  return Math.min(MAX_TIMER_MS, Math.max(MIN_TIMER_MS, remaining));
}
