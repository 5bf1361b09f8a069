/**
 * A keyed, de-duplicated work queue in the manner of client-go's: informers `add` object keys, a fixed
 * number of workers run `handle(key)`, and one key is never handled by two workers at once. A key added
 * while it is being handled is handled once more afterwards.
 *
 * What happens after `handle` depends on what it threw (shared/errors.ts):
 * - nothing: done, and the key's failure count is reset;
 * - StalledError: not retried until the key is added again (a person must act);
 * - WaitingError: added again after `err.after` ms;
 * - anything else: retried after base·2^(n−1) ms for the n-th consecutive failure, capped at `maxDelayMs`,
 *   then ±20% jitter; the failure after `maxRetries` retries gives up.
 * Stalled and waiting outcomes end a run of failures (the next failure counts from 1 again).
 */
import { StalledError, WaitingError } from '../../shared/errors.js';
import { systemClock, type Clock } from './clock.js';
import { backoff } from './backoff.js';

/** What `onError` learns besides the error. */
export interface FailureInfo {
  /** Consecutive failed runs of this key, this one included (1 for the first). */
  attempt: number;
  /** Whether the queue will run the key again on its own. */
  willRetry: boolean;
}

/** How a WorkQueue runs. */
export interface WorkQueueOptions {
  workers: number;
  handle: (key: string) => Promise<void>;
  /** Retries after a generic failure before giving up (default 10). */
  maxRetries?: number;
  /** Delay before the first retry (default 200 ms). */
  baseDelayMs?: number;
  /** Upper bound of the backoff before jitter (default 300 000 ms). */
  maxDelayMs?: number;
  /** Uniform in [0, 1); 0.5 means no jitter. Default Math.random. */
  random?: () => number;
  clock?: Clock;
  /** Called for every failed run, before the retry (if any) is scheduled. What it throws is ignored. */
  onError?: (key: string, err: unknown, info: FailureInfo) => void;
}

const JITTER = 0.2;

/** Keys in, `handle(key)` out; see the module comment for the retry policy. */
export class WorkQueue {
  private readonly options: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;
  /** Keys ready to run, in order. */
  private readonly queue: string[] = [];
  /** Keys that need a run: queued, or added again while in flight. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  private started = false;
  private stopping = false;
  private drained: Array<() => void> = [];

  /** Throws a RangeError when `workers` is not a whole number of at least 1. */
  constructor(options: WorkQueueOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError(`workers must be a whole number of at least 1, got ${options.workers}`);
    this.options = {
      workers: options.workers,
      handle: options.handle,
      maxRetries: options.maxRetries ?? 10,
      baseDelayMs: options.baseDelayMs ?? 200,
      maxDelayMs: options.maxDelayMs ?? 300_000,
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
      onError: options.onError,
    };
  }

  /** Queues `key` unless it is already queued; a key in flight is run once more after it finishes. Ignored after shutdown. */
  add(key: string): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.pump();
  }

  /**
   * Adds `key` after `ms` milliseconds (at once when `ms` ≤ 0). When the key already waits, the earlier time
   * wins. Ignored after shutdown.
   */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const { clock } = this.options;
    const at = clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing) {
      if (existing.at <= at) return;
      clock.clearTimeout(existing.handle);
    }
    const handle = clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, handle });
  }

  /** Keys queued and not in flight. */
  depth(): number {
    return this.queue.length;
  }

  /** Keys being handled right now. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Starts the workers; keys added before are run now. */
  start(): void {
    this.started = true;
    this.pump();
  }

  /**
   * Stops taking keys (queued and waiting ones are dropped, later adds ignored) and resolves once every key in
   * flight has been handled. Never rejects.
   */
  shutdown(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    this.dirty.clear();
    for (const { handle } of this.waiting.values()) this.options.clock.clearTimeout(handle);
    this.waiting.clear();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private pump(): void {
    while (this.started && !this.stopping && this.processing.size < this.options.workers && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.options.handle(key);
      this.failures.delete(key);
    } catch (err) {
      this.failed(key, err);
    } finally {
      this.processing.delete(key);
      if (this.dirty.has(key) && !this.stopping) this.queue.push(key);
      if (this.stopping && this.processing.size === 0) for (const resolve of this.drained.splice(0)) resolve();
      this.pump();
    }
  }

  private failed(key: string, err: unknown): void {
    const attempt = (this.failures.get(key) ?? 0) + 1;
    if (err instanceof StalledError || err instanceof WaitingError) {
      this.failures.delete(key);
      this.report(key, err, { attempt, willRetry: err instanceof WaitingError });
      if (err instanceof WaitingError) this.addAfter(key, err.after);
      return;
    }
    const willRetry = attempt <= this.options.maxRetries;
    if (willRetry) this.failures.set(key, attempt);
    else this.failures.delete(key);
    this.report(key, err, { attempt, willRetry });
    if (willRetry) this.addAfter(key, this.backoff(attempt));
  }

  /** base·2^(attempt−1), capped, then ±20% jitter, in whole milliseconds. */
  private backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs, random } = this.options;
    const capped = backoff(attempt, baseDelayMs, maxDelayMs);
    return Math.round(capped * (1 + JITTER * (2 * random() - 1)));
  }

  private report(key: string, err: unknown, info: FailureInfo): void {
    try {
      this.options.onError?.(key, err, info);
    } catch {
      // Reporting must not change what the queue does next.
    }
  }
}
