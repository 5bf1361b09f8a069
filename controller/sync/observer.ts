/**
 * Every sync outcome shown three ways, as the design asks of every controller failure: a log line, an Event
 * on the Application, and a metric. Messages name objects, revisions and field paths, never values.
 */
import type { SigilError } from '../../shared/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { MetricsRegistry } from '../runtime/metrics.js';
import { describeObject } from './cluster.js';
import type { AppRef, SyncObserver } from './reconciler.js';

/** The observer the engine wires into the reconciler. */
export function syncObserver(log: Logger, events: EventRecorder, metrics: MetricsRegistry): SyncObserver {
  const total = metrics.counter('sigil_sync_total', 'Application reconciles, by result and reason.', ['result', 'reason']);
  const duration = metrics.histogram('sigil_sync_duration_seconds', 'Time to reconcile one Application.', ['result']);
  const drifts = metrics.counter('sigil_sync_drift_total', 'Objects found drifted from Git.');
  const name = (app: AppRef): string => `${app.namespace}/${app.name}`;
  return {
    synced(app, revision, objects, pruned): void {
      log.info('revision applied', { application: name(app), revision, objects, pruned });
      void events.normal(app, 'Synced', `applied revision ${revision.slice(0, 12)}: ${objects} objects${pruned ? `, ${pruned} pruned` : ''}`);
    },
    drifted(app, drift, healing): void {
      drifts.inc({}, drift.length);
      const what = drift.map((d) => `${describeObject(d)} (${d.fields.join(', ')})`).join('; ');
      log.warn('drift detected', { application: name(app), objects: drift.map((d) => describeObject(d)), healing });
      void events.warning(app, 'DriftDetected', `${healing ? 'healing ' : ''}${what}`);
    },
    failed(app, err: SigilError): void {
      log.warn('sync failed', { application: name(app), reason: err.reason, error: err.message });
      void events.warning(app, err.reason, err.message);
    },
    finished(_app, result, reason, seconds): void {
      total.inc({ result, reason });
      duration.observe({ result }, seconds);
    },
  };
}
