/**
 * Events and leader election when the API server cannot be reached at all (a closed loopback port): neither
 * throws, both log. Their behaviour against a real API server is in runtime.integration.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { createEventRecorder, eventSuffix } from './events.js';
import { startLeaderElection } from './leader-election.js';
import { createLogger, type Logger } from './logger.js';

function memoryLog(): { log: Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      const entry = JSON.parse(chunk.toString('utf8')) as Record<string, unknown>;
      delete entry.time;
      entries.push(entry);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'json', stream }), entries };
}

function closedPortKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('createEventRecorder without an API server', () => {
  it('resolves and logs the failure without the token', async () => {
    const { log, entries } = memoryLog();
    const recorder = createEventRecorder(closedPortKubeConfig(), { component: 'sigil-controller', log, instance: 'pod-1' });
    await recorder.normal({ apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', name: 'db', namespace: 'prod', uid: 'u1' }, 'Unsealed', 'ok');
    assert.equal(entries.length, 1);
    const { err, ...rest } = entries[0]!;
    assert.deepEqual(rest, { level: 'warn', msg: 'event not recorded', event: { type: 'Normal', reason: 'Unsealed' }, object: 'SealedSecret prod/db' });
    assert.match((err as { message: string }).message, /ECONNREFUSED/);
    assert.equal(JSON.stringify(entries).includes('not-a-real-token'), false);
  });
});

describe('eventSuffix', () => {
  it('is the hex of nanoseconds since the epoch, the sequence filling the sub-millisecond digits', () => {
    const t = new Date('2026-01-02T03:04:05.678Z');
    // 1767323045678 ms · 10^6, computed independently (Python)
    assert.equal(eventSuffix(t, 0), '1886caf244ffa780');
    assert.equal(eventSuffix(t, 17), '1886caf244ffa791');
    assert.equal(eventSuffix(t, 1_000_001), '1886caf244ffa781');
  });
});

describe('startLeaderElection', () => {
  it('never leads without an API server, and stop() resolves', async () => {
    const { log, entries } = memoryLog();
    let started = 0;
    const le = startLeaderElection({
      kc: closedPortKubeConfig(),
      namespace: 'sigil-system',
      identity: 'pod-1',
      leaseDurationSeconds: 1,
      renewDeadlineSeconds: 0.5,
      retryPeriodSeconds: 0.05,
      onStartedLeading: () => started++,
      onStoppedLeading: () => undefined,
      log,
    });
    await new Promise((r) => setTimeout(r, 300));
    await le.stop();
    assert.deepEqual([le.isLeader(), started], [false, 0]);
    const failures = entries.filter((e) => e.msg === 'lease acquisition failed');
    assert.ok(failures.length >= 2, `${failures.length} attempts logged`);
    assert.deepEqual(
      { ...failures[0], err: undefined },
      { level: 'debug', msg: 'lease acquisition failed', lease: 'sigil-system/sigil-controller', identity: 'pod-1', err: undefined },
    );
  });

  it('rejects timings that cannot work', () => {
    const base = { kc: closedPortKubeConfig(), namespace: 'n', identity: 'i', onStartedLeading: () => undefined, onStoppedLeading: () => undefined, log: memoryLog().log };
    for (const timing of [
      { leaseDurationSeconds: 10, renewDeadlineSeconds: 10 },
      { renewDeadlineSeconds: 2, retryPeriodSeconds: 2 },
      { retryPeriodSeconds: 0 },
    ]) {
      assert.throws(() => startLeaderElection({ ...base, ...timing }), { name: 'RangeError', message: 'leader election needs leaseDuration > renewDeadline > retryPeriod > 0' });
    }
  });
});
