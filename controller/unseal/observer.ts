/**
 * Every unseal outcome shown three ways, as the design asks of every controller failure: a log line, a
 * Kubernetes Event on the SealedSecret, and a metric. Messages are the typed errors' own, which name objects
 * and keys, never values.
 */
import type { SigilError } from '../../shared/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { MetricsRegistry } from '../runtime/metrics.js';
import type { ObjectRef, UnsealObserver } from './unsealer.js';

/** The observer main wires into the unsealer. */
export function unsealObserver(log: Logger, events: EventRecorder, metrics: MetricsRegistry): UnsealObserver {
  const total = metrics.counter('sigil_unseal_total', 'SealedSecrets reconciled, by result and reason.', ['result', 'reason']);
  const duration = metrics.histogram('sigil_unseal_duration_seconds', 'Time to reconcile one SealedSecret.', ['result']);
  const name = (ref: ObjectRef): string => `${ref.namespace}/${ref.name}`;
  return {
    written(ref, action): void {
      log.info('Secret written', { sealedSecret: name(ref), action });
      void events.normal(ref, 'Unsealed', `Secret ${name(ref)} ${action}d`);
    },
    failed(ref, err: SigilError): void {
      log.warn('unseal failed', { sealedSecret: name(ref), reason: err.reason, error: err.message });
      void events.warning(ref, err.reason, err.message);
    },
    finished(ref, result, reason, seconds): void {
      total.inc({ result, reason });
      duration.observe({ result }, seconds);
    },
  };
}
