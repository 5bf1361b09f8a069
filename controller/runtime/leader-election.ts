/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: every `retryPeriod` a candidate
 * reads the Lease and takes it when it is missing, released (no holder) or expired (renewTime +
 * leaseDuration < now); the leader renews it the same way. Every write carries the resourceVersion that was
 * read, so of two candidates racing for one Lease exactly one wins (the other gets 409 Conflict).
 *
 * A leader steps down (onStoppedLeading) when it sees another holder in the Lease, or when it has not renewed
 * for `renewDeadline` (renewDeadline < leaseDuration, so it stops before anyone else may start). It then
 * stays a candidate: onStartedLeading can be called again later. `stop()` steps down and releases the Lease
 * by clearing holderIdentity, so another replica takes over at its next retry instead of after expiry.
 *
 * Expiry compares the Lease's renewTime with this process's clock, as the brief for this module asks;
 * client-go instead times from when it observed the record change, which tolerates clock skew between nodes.
 */
import * as k8s from '@kubernetes/client-node';
import { apiErrorFields, apiStatus } from './api-errors.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';

/** Who competes for which Lease, and how often. */
export interface LeaderElectionOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  /** Lease name (default `sigil-controller`). */
  name?: string;
  /** This replica, e.g. the pod name; unique among candidates. */
  identity: string;
  /** How long a Lease holds without renewal (default 15; written to the Lease as whole seconds). */
  leaseDurationSeconds?: number;
  /** How long a leader keeps trying to renew before stepping down (default 10). */
  renewDeadlineSeconds?: number;
  /** Time between attempts (default 2). */
  retryPeriodSeconds?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  clock?: Clock;
  log: Logger;
}

/** A running election. */
export interface LeaderElection {
  isLeader(): boolean;
  /** Stops competing; if leading, calls onStoppedLeading and releases the Lease. Never rejects. */
  stop(): Promise<void>;
}

/**
 * Starts competing for the Lease at once. Throws a RangeError unless leaseDuration > renewDeadline >
 * retryPeriod > 0. Callback errors are logged, never thrown.
 */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const name = options.name ?? 'sigil-controller';
  const { namespace, identity } = options;
  const leaseMs = (options.leaseDurationSeconds ?? 15) * 1000;
  const renewDeadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
  const retryMs = (options.retryPeriodSeconds ?? 2) * 1000;
  if (!(leaseMs > renewDeadlineMs && renewDeadlineMs > retryMs && retryMs > 0)) {
    throw new RangeError('leader election needs leaseDuration > renewDeadline > retryPeriod > 0');
  }
  const clock = options.clock ?? systemClock;
  const log = options.log.child({ lease: `${namespace}/${name}`, identity });
  const api = options.kc.makeApiClient(k8s.CoordinationV1Api);

  let leading = false;
  /** Our last write made us the holder and nothing read since says otherwise (may outlive `leading`). */
  let holding = false;
  let stopped = false;
  /** When the last successful acquire or renew started. */
  let renewedAt = 0;
  let timer: unknown;
  let attempt: Promise<void> | undefined;

  const call = (fn: () => void, what: string): void => {
    try {
      fn();
    } catch (err) {
      log.error(`${what} failed`, { err });
    }
  };
  const wrote = (at: number): void => {
    holding = true;
    renewedAt = at;
    if (leading || stopped) return;
    leading = true;
    log.info('became leader');
    call(options.onStartedLeading, 'onStartedLeading');
  };
  const stopLeading = (why: string, fields: Record<string, unknown> = {}): void => {
    if (!leading) return;
    leading = false;
    log.warn('stopped leading', { why, ...fields });
    call(options.onStoppedLeading, 'onStoppedLeading');
  };

  const spec = (at: number, previous: k8s.V1LeaseSpec | undefined, acquired: boolean): k8s.V1LeaseSpec => ({
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(leaseMs / 1000),
    acquireTime: acquired ? new k8s.V1MicroTime(at) : previous?.acquireTime,
    renewTime: new k8s.V1MicroTime(at),
    leaseTransitions: (previous?.leaseTransitions ?? 0) + (acquired && previous ? 1 : 0),
  });

  /** One read-then-write round; throws the API's error when a call fails. */
  const tryAcquireOrRenew = async (): Promise<void> => {
    const at = clock.now();
    let lease: k8s.V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
      holding = false;
      if (leading) {
        // Someone removed it on purpose (a forced failover): step down, compete again next round.
        stopLeading('lease deleted');
        return;
      }
      try {
        await api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(at, undefined, true) } });
      } catch (createErr) {
        if (apiStatus(createErr) === 409) return; // another candidate created it first
        throw createErr;
      }
      wrote(at);
      return;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== identity) {
      holding = false;
      if (leading) {
        stopLeading('lease taken over', { holder });
        return;
      }
      const renewed = timeOf(lease.spec?.renewTime ?? lease.spec?.acquireTime);
      const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== '' && renewed !== undefined && renewed + durationMs >= clock.now()) return; // held
    }
    await api.replaceNamespacedLease({
      name,
      namespace,
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec: spec(at, lease.spec, holder !== identity) },
    });
    wrote(at);
  };

  const tick = (): void => {
    timer = clock.setTimeout(tick, retryMs);
    if (!attempt) {
      attempt = tryAcquireOrRenew()
        .catch((err: unknown) => {
          if (stopped) return;
          const fields = { err: apiErrorFields(err) };
          if (leading) log.warn('lease renewal failed', fields);
          // Refused (missing RBAC, a bad token) stays refused until a person acts: say so where they look.
          // An unreachable server is the informers' and readiness's news; here it stays at debug.
          else if (fields.err.status === 401 || fields.err.status === 403) log.warn('lease acquisition failed', fields);
          else log.debug('lease acquisition failed', fields);
        })
        .finally(() => {
          attempt = undefined;
        });
    }
    // Checked on every tick, so a request that hangs cannot keep a stale leader in office.
    if (leading && clock.now() - renewedAt > renewDeadlineMs) stopLeading('renew deadline exceeded');
  };
  tick();

  /** Resolves when `work` settles or after renewDeadline, whichever is first: stop() must not hang on the API. */
  const bounded = (work: Promise<unknown> | undefined): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!work) return resolve();
      const t = clock.setTimeout(resolve, renewDeadlineMs);
      void work.then(
        () => (clock.clearTimeout(t), resolve()),
        () => (clock.clearTimeout(t), resolve()),
      );
    });

  const clearHolder = async (): Promise<void> => {
    try {
      const lease = await api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const at = clock.now();
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: lease.metadata,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: new k8s.V1MicroTime(at), renewTime: new k8s.V1MicroTime(at) },
        },
      });
      holding = false;
      log.info('lease released');
    } catch (err) {
      log.warn('lease not released; it expires on its own', { err: apiErrorFields(err) });
    }
  };

  let stopping: Promise<void> | undefined;
  const release = async (): Promise<void> => {
    stopped = true;
    clock.clearTimeout(timer);
    // The callback first: the leader's work stops before another replica may start it.
    stopLeading('stopped');
    await bounded(attempt);
    if (holding) await bounded(clearHolder());
  };

  return {
    isLeader: () => leading,
    stop: () => (stopping ??= release()),
  };
}

/** Milliseconds of a MicroTime as client-node hands it over: a string (it does not parse MicroTime) or a Date. */
function timeOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isNaN(ms) ? undefined : ms;
}
