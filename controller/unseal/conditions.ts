/**
 * The `Ready` condition of a SealedSecret in the metav1.Condition shape. Computed once per reconcile from
 * the outcome; `lastTransitionTime` moves only when the status flips.
 */

/** One metav1.Condition (with Sealed Secrets' `lastUpdateTime` on its `Synced` condition). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration: number;
  lastTransitionTime: string;
  lastUpdateTime?: string;
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

/**
 * The new status for `outcome`, keeping other condition types and the transition time when unchanged.
 * `type` is `Ready` for Sigil's SealedSecrets and `Synced` (with `lastUpdateTime`) for Sealed Secrets' own.
 */
export function nextStatus(
  previous: SealedSecretStatus | undefined,
  outcome: Outcome,
  generation: number,
  now: Date,
  type: 'Ready' | 'Synced' = 'Ready',
): SealedSecretStatus {
  const status = outcome.ready ? 'True' : 'False';
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const old = previous?.conditions?.find((c) => c.type === type);
  const ready: Condition = {
    type,
    status,
    observedGeneration: generation,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : time,
    ...(type === 'Synced' ? { lastUpdateTime: time } : {}),
    reason: outcome.reason,
    message: outcome.message,
  };
  const others = (previous?.conditions ?? []).filter((c) => c.type !== type);
  return { observedGeneration: generation, conditions: [...others, ready] };
}

/** True when writing `next` over `previous` would change nothing that matters (`lastUpdateTime` aside). */
export function sameStatus(previous: SealedSecretStatus | undefined, next: SealedSecretStatus): boolean {
  if (!previous || previous.observedGeneration !== next.observedGeneration) return false;
  const before = previous.conditions ?? [];
  const fields = ['type', 'status', 'observedGeneration', 'lastTransitionTime', 'reason', 'message'] as const;
  return before.length === next.conditions.length && next.conditions.every((c, i) => fields.every((f) => before[i]?.[f] === c[f]));
}
