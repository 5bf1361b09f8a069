// Key notices: logged with the key Secret's name kept readable, failures as Warning Event + metric.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { EventRecorder, ObjectRef } from '../runtime/events.js';
import { createLogger } from '../runtime/logger.js';
import { MetricsRegistry } from '../runtime/metrics.js';
import { keyObserver } from './key-observer.js';

describe('keyObserver', () => {
  it('logs, records events and counts failures', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    const log = createLogger({ level: 'info', format: 'json', stream, clock: () => new Date('2026-01-01T00:00:00Z') });
    const events: [string, ObjectRef, string, string][] = [];
    const recorder: EventRecorder = {
      normal: async (ref, reason, message) => void events.push(['Normal', ref, reason, message]),
      warning: async (ref, reason, message) => void events.push(['Warning', ref, reason, message]),
    };
    const metrics = new MetricsRegistry();
    const notice = keyObserver(log, recorder, metrics, 'sigil-system');
    notice('sealing key created', { key: 'sigil-system/sigil-sealing-key-abcde', fingerprint: 'f0', bits: 4096, reason: 'NoUsableKey' });
    notice('key Secret left out', { key: 'sigil-system/broken', source: 'sigil', reason: 'tls.key is not a PEM private key' });
    notice('sealing key work failed; retrying', { reason: 'CertPublishFailed', error: 'cannot update ConfigMap: HTTP 403 Forbidden', retryInMs: 30000 });
    assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), [
      { level: 'info', time: '2026-01-01T00:00:00.000Z', msg: 'sealing key created', keySecret: 'sigil-system/sigil-sealing-key-abcde', fingerprint: 'f0', bits: 4096, reason: 'NoUsableKey' },
      { level: 'warn', time: '2026-01-01T00:00:00.000Z', msg: 'key Secret left out', keySecret: 'sigil-system/broken', source: 'sigil', reason: 'tls.key is not a PEM private key' },
      { level: 'warn', time: '2026-01-01T00:00:00.000Z', msg: 'sealing key work failed; retrying', reason: 'CertPublishFailed', error: 'cannot update ConfigMap: HTTP 403 Forbidden', retryInMs: 30000 },
    ]);
    assert.deepEqual(events, [
      ['Normal', { apiVersion: 'v1', kind: 'Secret', namespace: 'sigil-system', name: 'sigil-sealing-key-abcde' }, 'KeyCreated', 'sealing key created'],
      ['Warning', { apiVersion: 'v1', kind: 'Secret', namespace: 'sigil-system', name: 'broken' }, 'KeyRejected', 'key Secret left out: tls.key is not a PEM private key'],
      ['Warning', { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'sigil-system', name: 'sigil-sealing-cert' }, 'KeyWorkFailed', 'sealing key work failed; retrying: CertPublishFailed'],
    ]);
    assert.match(metrics.render(), /^sigil_key_errors_total\{reason="KeyRejected"\} 1$/m);
    assert.match(metrics.render(), /^sigil_key_errors_total\{reason="KeyWorkFailed"\} 1$/m);
  });
});
