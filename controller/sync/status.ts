/**
 * The Application's conditions and history, computed once per reconcile from how it ended (never set by
 * the steps themselves). `Ready` says whether the last reconcile reached the desired state; `Reconciling`
 * that the engine is still working towards it (a wave progressing, a retry due); `Stalled` that a person
 * must act. `lastTransitionTime` moves only when a condition's status flips.
 */
import type { ApplicationStatus, Condition, HistoryEntry } from './application.js';

/** How a reconcile ended. */
export interface ReconcileOutcome {
  ready: boolean;
  reason: string;
  message: string;
  /** Still working towards the desired state. */
  reconciling: boolean;
  /** A person must act. */
  stalled: boolean;
}

/** How many sync attempts `status.history` keeps. */
export const HISTORY_LIMIT = 10;

/** The three conditions for `outcome`. */
export function nextConditions(previous: readonly Condition[] | undefined, outcome: ReconcileOutcome, generation: number, now: Date): Condition[] {
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const make = (type: string, on: boolean, reason: string, message: string): Condition => {
    const status = on ? 'True' : 'False';
    const old = previous?.find((c) => c.type === type);
    return { type, status, reason, message, lastTransitionTime: old?.status === status ? old.lastTransitionTime : time, observedGeneration: generation };
  };
  return [
    make('Ready', outcome.ready, outcome.reason, outcome.message),
    make('Reconciling', outcome.reconciling, outcome.reconciling ? outcome.reason : 'Succeeded', outcome.reconciling ? outcome.message : 'reconciliation finished'),
    make('Stalled', outcome.stalled, outcome.stalled ? outcome.reason : 'Succeeded', outcome.stalled ? outcome.message : 'not stalled'),
  ];
}

/** `history` with `entry` first, at most HISTORY_LIMIT long. */
export function withHistory(history: readonly HistoryEntry[] | undefined, entry: HistoryEntry): HistoryEntry[] {
  return [entry, ...(history ?? [])].slice(0, HISTORY_LIMIT);
}

/**
 * True when writing `next` would change nothing (the status patch is skipped). Compared as the API server
 * stores it: JSON, keys in any order, undefined fields absent.
 */
export function sameAppStatus(previous: ApplicationStatus | undefined, next: ApplicationStatus): boolean {
  return canonical(previous ?? {}) === canonical(next);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
