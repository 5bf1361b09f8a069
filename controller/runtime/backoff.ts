/**
 * Capped exponential backoff, the one formula every retry in the controller uses (work queue, watch
 * restarts, Vault outages, sync retries, self-heal): `base·factor^(attempt−1)`, at most `max`.
 */

/** The delay before the `attempt`-th retry (1 for the first), in the unit of `base` and `max`. */
export function backoff(attempt: number, base: number, max: number, factor = 2): number {
  return Math.min(max, base * factor ** (Math.max(1, attempt) - 1));
}
