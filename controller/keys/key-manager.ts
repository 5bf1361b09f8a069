/**
 * The controller's sealing keys over time: loads them at start, follows the key Secrets the informer
 * reports, and, on the leader only, makes new keys (none usable, older than the cutoff time, or due for
 * renewal) and publishes the newest certificate in ConfigMap `sigil-sealing-cert`.
 *
 * Every cluster write runs on one serial queue, so two writes never race and the certificate published last
 * is always the ring's newest at that moment. Key generation runs off the event loop (generateSealingKey).
 */
import type * as k8s from '@kubernetes/client-node';
import { SigilError, TransientError, errorMessage } from '../../shared/errors.js';
import { KeyRing, type SealingKey } from './key-ring.js';
import { KEY_LABELS, type KeySource } from './key-names.js';
import { createKey, keyFromSecret, listKeys, publishCert } from './key-store.js';
import { renewalDelay, renewalDue } from './renewal.js';

/**
 * The timers renewal runs on: the global ones unless a test fires them by hand. The same shape as
 * runtime/clock.ts's Clock, so the controller's clock (or a fake one) can be passed as is.
 */
export interface KeyTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const globalTimers: KeyTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Where the key manager writes its log lines; fields never hold key material. */
export type KeyLog = (msg: string, fields: Record<string, unknown>) => void;

/** How the key manager is set up. */
export interface KeyManagerOptions {
  core: k8s.CoreV1Api;
  /** The controller namespace: Sigil's key Secrets and the certificate ConfigMap. */
  namespace: string;
  /** RSA size of new keys; 4096 unless given. */
  bits?: number;
  /** Make a new key when the newest is this old (from its notBefore); 0 turns renewal off. */
  renewPeriodMs: number;
  /** At start (or on becoming leader), make a new key when the newest is older than this. */
  cutoffTime?: Date | undefined;
  /** Also load Sealed Secrets' keys from this namespace, to open values sealed for them. */
  importBitnami?: { namespace: string } | undefined;
  /** Validity of new certificates, in days; generateSealingKey's default (3650) unless given. */
  validDays?: number;
  /** The current time: new keys' notBefore, and the age renewal is measured against. */
  clock: () => Date;
  /** The renewal timer's timers; the global ones unless given. */
  timers?: KeyTimers;
  /** Whether this replica may create keys and publish from the start; true unless given (see setLeader). */
  leader?: boolean;
  /** Called for each key this manager creates, after it is stored and in the ring. */
  onNewKey?: (key: SealingKey) => void;
  log?: KeyLog;
}

/** What the Secret informer reports. */
export type SecretEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** After a failed background write (key creation, publishing), the leader tries again this much later. */
export const RETRY_MS = 30_000;

/** The sealing keys of one controller replica. */
export class KeyManager {
  private readonly keys = new KeyRing();
  private readonly options: KeyManagerOptions;
  private readonly timers: KeyTimers;
  private readonly log: KeyLog;
  private leader: boolean;
  private started = false;
  private stopped = false;
  private timer: unknown;
  /** The tail of the serial queue of cluster writes; never rejects. */
  private work: Promise<void> = Promise.resolve();
  /** The certificate PEM this replica last found or wrote in the ConfigMap. */
  private published: string | undefined;
  /** While start() lists: names the informer reported meanwhile, whose news beats the list's. */
  private reported: Set<string> | undefined;

  /** Does nothing until start(). */
  constructor(options: KeyManagerOptions) {
    this.options = options;
    this.timers = options.timers ?? globalTimers;
    this.log = options.log ?? (() => undefined);
    this.leader = options.leader ?? true;
  }

  /**
   * Loads the key Secrets (and Sealed Secrets' when importBitnami). On the leader, then makes a key when none
   * is usable or the newest is older than cutoffTime or due for renewal, publishes the newest certificate and
   * arms the renewal timer. Throws the typed error of a failed list, key creation or publish.
   */
  async start(): Promise<void> {
    if (this.started || this.stopped) throw new Error('KeyManager.start() may be called once, before stop()');
    const { core, namespace, importBitnami } = this.options;
    this.reported = new Set();
    try {
      const sources: [KeySource, string][] = [['sigil', namespace]];
      if (importBitnami) sources.push(['bitnami', importBitnami.namespace]);
      const lists = await Promise.all(sources.map(([source, ns]) => listKeys(core, ns, source)));
      lists.forEach((list, i) => {
        const source = sources[i]![0];
        for (const r of list.rejected) this.log('key Secret left out', { key: `${r.namespace}/${r.name}`, source, reason: r.reason });
        for (const key of list.keys) if (!this.reported!.has(key.name)) this.keys.upsert(key);
      });
    } finally {
      this.reported = undefined;
    }
    this.started = true;
    this.log('sealing keys loaded', { keys: this.keys.size(), usable: this.keys.usable().length, newest: describe(this.keys.newest()) });
    if (this.leader) await this.enqueue(() => this.lead(true));
  }

  /**
   * Takes in a key Secret the informer reports (Sigil's namespace, or Sealed Secrets' when importing):
   * added or restored keys open values at once, a key relabelled `compromised` is never used again, a
   * deleted or unreadable one is dropped. When the newest key changed, the leader publishes it (and makes
   * one if none is usable any more). Secrets of other namespaces are ignored. Never throws.
   */
  applySecret(type: SecretEventType, secret: k8s.V1Secret): void {
    const name = secret.metadata?.name;
    const namespace = secret.metadata?.namespace;
    const source = this.sourceOf(secret);
    if (!name || !namespace || !source) return;
    this.reported?.add(name);
    const before = describe(this.keys.newest());
    const where = `${namespace}/${name}`;
    const key = type === 'DELETED' ? undefined : keyFromSecret(secret, source, (reason) => this.log('key Secret left out', { key: where, source, reason }));
    if (key) {
      const previous = this.keys.get(name);
      this.keys.upsert(key);
      if (key.compromised && !previous?.compromised) this.log('sealing key marked compromised', { key: where, source, fingerprint: key.cert.fingerprint });
      if (!previous) this.log('sealing key added', { key: where, source, fingerprint: key.cert.fingerprint, compromised: key.compromised });
    } else if (this.keys.get(name)?.namespace === namespace) {
      this.keys.remove(name);
      this.log('sealing key removed', { key: where, source, reason: type === 'DELETED' ? 'Deleted' : 'Unreadable' });
    }
    const after = describe(this.keys.newest());
    if (after === before) return;
    this.log('newest sealing key changed', { from: before, to: after });
    if (this.started && !this.stopped && this.leader) void this.background(() => this.lead(false));
  }

  /**
   * Turns this replica into the leader or back. The leader makes keys, publishes and renews; the others
   * only load keys and serve the certificate from memory. The returned promise resolves once a new leader's
   * first round is done (its failure is logged and retried, never thrown).
   */
  setLeader(isLeader: boolean): Promise<void> {
    if (this.leader === isLeader) return this.idle();
    this.leader = isLeader;
    this.log(isLeader ? 'leading: key creation and renewal on' : 'not leading: key creation and renewal off', {});
    if (!isLeader) {
      this.clearTimer();
      return this.idle();
    }
    this.published = undefined; // another leader may have written meanwhile: look again
    if (!this.started || this.stopped) return this.idle();
    return this.background(() => this.lead(true));
  }

  /** The keys, to open SealedSecrets with. */
  ring(): KeyRing {
    return this.keys;
  }

  /** The newest usable certificate (PEM). Throws TransientError `NoSealingKey` when there is none yet. */
  certPem(): string {
    const newest = this.keys.newest();
    if (!newest) throw new TransientError('NoSealingKey', 'no usable sealing key is loaded yet');
    return newest.cert.pem;
  }

  /** True once start() finished and a usable key is held. */
  ready(): boolean {
    return this.started && this.keys.newest() !== undefined;
  }

  /** Resolves once the queued cluster writes (key creation, publishing) are done. */
  idle(): Promise<void> {
    return this.work;
  }

  /** Stops the timer and takes no new work; resolves once the write in progress (if any) is done. */
  stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    return this.work;
  }

  /**
   * One round of the leader's duties: make a key when none is usable, when the newest is older than the
   * cutoff (only when `cutoff`: at start and on becoming leader) or due for renewal; publish; re-arm.
   */
  private async lead(cutoff: boolean): Promise<void> {
    if (!this.leader || this.stopped) return;
    const { cutoffTime, renewPeriodMs } = this.options;
    const newest = this.keys.newest();
    if (!newest) await this.makeKey('NoUsableKey');
    else if (cutoff && cutoffTime && newest.cert.notBefore < cutoffTime) await this.makeKey('CutoffTime');
    else if (renewPeriodMs > 0 && renewalDue(newest.cert.notBefore, renewPeriodMs, this.options.clock())) await this.makeKey('RenewPeriod');
    await this.publish();
    this.armRenewal();
  }

  private async makeKey(reason: string): Promise<void> {
    const { core, namespace, bits = 4096, validDays } = this.options;
    const key = await createKey(core, namespace, { bits, now: this.options.clock(), ...(validDays === undefined ? {} : { validDays }) });
    this.keys.upsert(key);
    this.log('sealing key created', { key: `${namespace}/${key.name}`, fingerprint: key.cert.fingerprint, bits, reason });
    this.options.onNewKey?.(key);
  }

  /** Writes the newest certificate to the ConfigMap unless this replica knows it is there already. */
  private async publish(): Promise<void> {
    const newest = this.keys.newest();
    if (!newest || newest.cert.pem === this.published) return;
    const result = await publishCert(this.options.core, this.options.namespace, newest.cert.pem);
    this.published = newest.cert.pem;
    if (result !== 'unchanged') this.log('sealing certificate published', { key: describe(newest), result });
  }

  private armRenewal(): void {
    this.clearTimer();
    const newest = this.keys.newest();
    const period = this.options.renewPeriodMs;
    if (!newest || period <= 0 || !this.leader || this.stopped) return;
    this.setTimer(renewalDelay(newest.cert.notBefore, period, this.options.clock()));
  }

  private setTimer(ms: number): void {
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.background(() => this.lead(false));
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Appends `task` to the serial queue; the returned promise rejects with its error. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.work.then(task);
    this.work = run.catch(() => undefined);
    return run;
  }

  /** Like enqueue, for work nobody awaits: a failure is logged and the leader tries again after RETRY_MS. */
  private background(task: () => Promise<void>): Promise<void> {
    return this.enqueue(task).catch((err: unknown) => {
      const reason = err instanceof SigilError ? err.reason : 'KeyManagerFailed';
      this.log('sealing key work failed; retrying', { reason, error: errorMessage(err), retryInMs: RETRY_MS });
      if (this.leader && !this.stopped) this.setTimer(RETRY_MS);
    });
  }

  /** Which source a reported Secret belongs to, by its namespace (and label, when both share one). */
  private sourceOf(secret: k8s.V1Secret): KeySource | undefined {
    const namespace = secret.metadata?.namespace;
    const sigil = namespace === this.options.namespace;
    const bitnami = this.options.importBitnami !== undefined && namespace === this.options.importBitnami.namespace;
    if (sigil && (!bitnami || secret.metadata?.labels?.[KEY_LABELS.sigil] !== undefined)) return 'sigil';
    return bitnami ? 'bitnami' : undefined;
  }
}

/** A key as log lines and change checks name it: `namespace/name@fingerprint-prefix`, '' for none. */
function describe(key: SealingKey | undefined): string {
  return key ? `${key.namespace}/${key.name}@${key.cert.fingerprint.slice(0, 16)}` : '';
}
