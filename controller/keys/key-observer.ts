/**
 * The key manager's notices shown the controller's three ways: every line is logged (the key Secret's name
 * under `keySecret`: the logger redacts any field called `key`), failures also become a Warning Event and a
 * metric, and key creation or compromise a Normal Event. Fields never hold key material.
 */
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { MetricsRegistry } from '../runtime/metrics.js';
import type { KeyLog } from './key-manager.js';

/** Notices that are failures, with the reason used as Event reason and metric label. */
const FAILURES: Record<string, string> = {
  'sealing key work failed; retrying': 'KeyWorkFailed',
  'key Secret left out': 'KeyRejected',
};
/** Notices worth an Event of their own. */
const NOTABLE: Record<string, string> = {
  'sealing key created': 'KeyCreated',
  'sealing key marked compromised': 'KeyCompromised',
};

/** The KeyLog main gives the key manager. */
export function keyObserver(log: Logger, events: EventRecorder, metrics: MetricsRegistry, namespace: string): KeyLog {
  const failures = metrics.counter('sigil_key_errors_total', 'Sealing key failures, by reason.', ['reason']);
  return (msg, fields) => {
    const { key, ...rest } = fields;
    const safe = key === undefined ? rest : { keySecret: key, ...rest };
    const where = typeof key === 'string' && key.includes('/') ? key.split('/') : [namespace, 'sigil-sealing-cert'];
    const kind = typeof key === 'string' && key.includes('/') ? 'Secret' : 'ConfigMap';
    const ref = { apiVersion: 'v1', kind, namespace: where[0]!, name: where[1]! };
    const failure = FAILURES[msg];
    if (failure) {
      log.warn(msg, safe);
      failures.inc({ reason: failure });
      const why = typeof fields.reason === 'string' ? `: ${fields.reason}` : '';
      void events.warning(ref, failure, `${msg}${why}`);
      return;
    }
    log.info(msg, safe);
    const notable = NOTABLE[msg];
    if (notable) void events.normal(ref, notable, msg);
  };
}
