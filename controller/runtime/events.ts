/**
 * Kubernetes Events (core/v1) about the objects the controller acts on. Repeats are folded the way kubectl
 * users expect: the same object, type, reason and message again within 10 minutes of its last occurrence
 * patches `count` and `lastTimestamp` of the Event already written instead of adding one. The recorder
 * remembers the last 1024 distinct events to do so, and writes one event of a kind at a time so that
 * repeats racing each other still fold.
 *
 * Recording never throws and never rejects: a failed write is logged (events are a convenience; the log
 * line and the metric are the record).
 */
import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { apiErrorFields, apiStatus } from './api-errors.js';
import type { Logger } from './logger.js';

/** The object an event is about. `namespace` empty or absent for cluster-scoped objects. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** Writes Events; each call resolves once the Event is written or the failure logged. */
export interface EventRecorder {
  normal(ref: ObjectRef, reason: string, message: string): Promise<void>;
  warning(ref: ObjectRef, reason: string, message: string): Promise<void>;
}

/** Who records, and where failures go. */
export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `sigil-controller`. */
  component: string;
  log: Logger;
  /** Default: the current time. */
  clock?: () => Date;
  /** `reportingInstance` (default os.hostname(), the pod name in a cluster). */
  instance?: string;
}

/** Repeats within this long of the last occurrence are folded into one Event. */
export const EVENT_DEDUP_WINDOW_MS = 10 * 60_000;
const REMEMBERED = 1024;
/** Longer messages are cut (with `…`): an Event is a summary, the log has the rest. */
const MAX_MESSAGE = 1024;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  lastMs: number;
}

/** An EventRecorder writing through `kc`. Never throws. */
export function createEventRecorder(kc: k8s.KubeConfig, options: EventRecorderOptions): EventRecorder {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const clock = options.clock ?? ((): Date => new Date());
  const instance = options.instance ?? hostname();
  const recent = new Map<string, Seen>();
  const pending = new Map<string, Promise<void>>();
  let sequence = 0;

  const remember = (key: string, seen: Seen): void => {
    recent.delete(key);
    recent.set(key, seen);
    if (recent.size > REMEMBERED) recent.delete(recent.keys().next().value!);
  };

  const write = async (type: 'Normal' | 'Warning', ref: ObjectRef, reason: string, text: string, key: string): Promise<void> => {
    const now = clock();
    const namespace = ref.namespace || 'default';
    const message = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
    const fields = { event: { type, reason }, object: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}` };
    try {
      const seen = recent.get(key);
      if (seen && now.getTime() - seen.lastMs <= EVENT_DEDUP_WINDOW_MS) {
        try {
          await core.patchNamespacedEvent({
            name: seen.name,
            namespace: seen.namespace,
            body: [
              { op: 'replace', path: '/count', value: seen.count + 1 },
              { op: 'replace', path: '/lastTimestamp', value: now.toISOString() },
            ],
          });
          remember(key, { ...seen, count: seen.count + 1, lastMs: now.getTime() });
          return;
        } catch (err) {
          // Deleted meanwhile (or expired): start a new one. Anything else: report and keep the old one.
          if (apiStatus(err) !== 404) throw err;
          recent.delete(key);
        }
      }
      const name = `${ref.name}.${eventSuffix(now, sequence++)}`;
      await core.createNamespacedEvent({
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            name: ref.name,
            ...(ref.namespace ? { namespace: ref.namespace } : {}),
            ...(ref.uid ? { uid: ref.uid } : {}),
          },
          reason,
          message,
          type,
          source: { component: options.component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: options.component,
          reportingInstance: instance,
        },
      });
      remember(key, { name, namespace, count: 1, lastMs: now.getTime() });
    } catch (err) {
      options.log.warn('event not recorded', { ...fields, err: apiErrorFields(err) });
    }
  };

  const record = (type: 'Normal' | 'Warning', ref: ObjectRef, reason: string, message: string): Promise<void> => {
    const key = JSON.stringify([type, ref.apiVersion, ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? '', reason, message]);
    const next = (pending.get(key) ?? Promise.resolve()).then(() => write(type, ref, reason, message, key));
    pending.set(key, next);
    void next.then(() => {
      if (pending.get(key) === next) pending.delete(key);
    });
    return next;
  };

  return {
    normal: (ref, reason, message) => record('Normal', ref, reason, message),
    warning: (ref, reason, message) => record('Warning', ref, reason, message),
  };
}

/**
 * The hex timestamp client-go puts after the object name: nanoseconds since the epoch. Milliseconds are all
 * the clock has, so a per-recorder sequence fills the sub-millisecond digits to keep names unique.
 */
export function eventSuffix(time: Date, sequence: number): string {
  return (BigInt(time.getTime()) * 1_000_000n + BigInt(sequence % 1_000_000)).toString(16);
}
