/**
 * The `Ready` condition of a SealedSecret in the metav1.Condition shape. Computed once per reconcile from
 * the outcome; `lastTransitionTime` moves only when the status flips.
 */

/** One metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The status the controller writes. */
export interface SealedSecretStatus {
  observedGeneration: number;
  conditions: Condition[];
}

/** How a reconcile ended. */
export type Outcome = { ready: true; reason: 'Unsealed'; message: string } | { ready: false; reason: string; message: string };

/** The new status for `outcome`, keeping other condition types and the transition time when unchanged. */
export function nextStatus(previous: SealedSecretStatus | undefined, outcome: Outcome, generation: number, now: Date): SealedSecretStatus {
  const status = outcome.ready ? 'True' : 'False';
  const old = previous?.conditions?.find((c) => c.type === 'Ready');
  const ready: Condition = {
    type: 'Ready',
    status,
    observedGeneration: generation,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: outcome.reason,
    message: outcome.message,
  };
  const others = (previous?.conditions ?? []).filter((c) => c.type !== 'Ready');
  return { observedGeneration: generation, conditions: [...others, ready] };
}

/** True when writing `next` over `previous` would change nothing. */
export function sameStatus(previous: SealedSecretStatus | undefined, next: SealedSecretStatus): boolean {
  if (!previous || previous.observedGeneration !== next.observedGeneration) return false;
  const before = previous.conditions ?? [];
  const fields = ['type', 'status', 'observedGeneration', 'lastTransitionTime', 'reason', 'message'] as const;
  return before.length === next.conditions.length && next.conditions.every((c, i) => fields.every((f) => before[i]?.[f] === c[f]));
}
