import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StalledError, TransientError, WaitingError } from '../../shared/errors.js';
import { createFakeClock, settle } from './fake-clock.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

interface Call {
  key: string;
  at: number;
  finish(err?: unknown): void;
}

/** A queue whose handler waits until the test finishes each call; everything it did is recorded. */
function harness(options: Partial<WorkQueueOptions> & { fail?: (key: string, n: number) => unknown } = {}) {
  const clock = createFakeClock(0);
  const calls: Call[] = [];
  const open: Call[] = [];
  const errors: Array<{ key: string; error: string; attempt: number; willRetry: boolean }> = [];
  const queue = new WorkQueue({
    workers: 1,
    random: () => 0.5,
    clock,
    handle: (key) =>
      new Promise<void>((resolve, reject) => {
        const n = calls.filter((c) => c.key === key).length + 1;
        const auto = options.fail?.(key, n);
        const call: Call = {
          key,
          at: clock.now(),
          finish: (err) => {
            open.splice(open.indexOf(call), 1);
            if (err === undefined) resolve();
            else reject(err);
          },
        };
        calls.push(call);
        open.push(call);
        if (options.fail) call.finish(auto);
      }),
    onError: (key, err, info) => errors.push({ key, error: (err as Error).message, ...info }),
    ...options,
  });
  /** Finishes the one open call for `key`. */
  const finish = async (key: string, err?: unknown): Promise<void> => {
    const call = open.find((c) => c.key === key);
    assert.ok(call, `no call in flight for ${key}`);
    call.finish(err);
    await settle();
  };
  const started = (): string[] => calls.map((c) => c.key);
  const times = (): number[] => calls.map((c) => c.at);
  return { clock, queue, calls, errors, finish, started, times };
}

describe('WorkQueue', () => {
  it('de-duplicates queued keys and keeps their order', async () => {
    const h = harness();
    h.queue.add('a');
    h.queue.add('b');
    h.queue.add('a');
    assert.equal(h.queue.depth(), 2);
    h.queue.start();
    await settle();
    assert.deepEqual(h.started(), ['a']);
    assert.equal(h.queue.depth(), 1);
    assert.equal(h.queue.inFlight(), 1);
    await h.finish('a');
    assert.deepEqual(h.started(), ['a', 'b']);
    await h.finish('b');
    assert.deepEqual(h.started(), ['a', 'b']);
    assert.equal(h.queue.depth(), 0);
    assert.equal(h.queue.inFlight(), 0);
  });

  it('never runs one key twice at once, and runs it once more when added during a run', async () => {
    const h = harness({ workers: 4 });
    h.queue.start();
    h.queue.add('a');
    await settle();
    h.queue.add('a');
    h.queue.add('a');
    await settle();
    assert.deepEqual(h.started(), ['a']);
    assert.equal(h.queue.depth(), 0);
    assert.equal(h.queue.inFlight(), 1);
    await h.finish('a');
    assert.deepEqual(h.started(), ['a', 'a']);
    await h.finish('a');
    assert.deepEqual(h.started(), ['a', 'a']);
    assert.equal(h.queue.inFlight(), 0);
  });

  it('runs different keys in parallel up to `workers`', async () => {
    const h = harness({ workers: 4 });
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) h.queue.add(k);
    h.queue.start();
    await settle();
    assert.deepEqual(h.started(), ['a', 'b', 'c', 'd']);
    assert.equal(h.queue.inFlight(), 4);
    assert.equal(h.queue.depth(), 2);
    await h.finish('c');
    assert.deepEqual(h.started(), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(h.queue.inFlight(), 4);
    assert.equal(h.queue.depth(), 1);
  });

  it('retries generic failures at 200, 400, 800 ms and gives up after maxRetries', async () => {
    const h = harness({ maxRetries: 3, fail: () => new TransientError('ApiDown', 'boom') });
    h.queue.add('a');
    h.queue.start();
    await h.clock.advance(10_000);
    assert.deepEqual(h.times(), [0, 200, 600, 1400]);
    assert.deepEqual(h.errors, [
      { key: 'a', error: 'boom', attempt: 1, willRetry: true },
      { key: 'a', error: 'boom', attempt: 2, willRetry: true },
      { key: 'a', error: 'boom', attempt: 3, willRetry: true },
      { key: 'a', error: 'boom', attempt: 4, willRetry: false },
    ]);
    assert.deepEqual(h.clock.pending(), []);
    // Added again after giving up, it starts from the first delay.
    h.queue.add('a');
    await h.clock.advance(250);
    assert.deepEqual(h.times(), [0, 200, 600, 1400, 10_000, 10_200]);
  });

  it('caps the delay at maxDelayMs and jitters by ±20% from `random`', async () => {
    const low = harness({ maxRetries: 4, maxDelayMs: 500, random: () => 0, fail: () => new Error('x') });
    low.queue.add('a');
    low.queue.start();
    await low.clock.advance(10_000);
    // 200·0.8, 400·0.8, 500·0.8, 500·0.8
    assert.deepEqual(low.times(), [0, 160, 480, 880, 1280]);
    const high = harness({ maxRetries: 2, random: () => 0.999_999, fail: () => new Error('x') });
    high.queue.add('a');
    high.queue.start();
    await high.clock.advance(10_000);
    // 200·1.2, 400·1.2 (rounded to whole ms)
    assert.deepEqual(high.times(), [0, 240, 720]);
  });

  it('resets the failure count after a success', async () => {
    const h = harness({ fail: (_key, n) => (n === 3 ? undefined : new Error(`fail ${n}`)) });
    h.queue.add('a');
    h.queue.start();
    await h.clock.advance(600);
    assert.deepEqual(h.times(), [0, 200, 600]);
    h.queue.add('a');
    await h.clock.advance(500);
    assert.deepEqual(h.times(), [0, 200, 600, 600, 800]);
    assert.deepEqual(h.clock.pending(), [1200]);
    assert.deepEqual(
      h.errors.map((e) => e.attempt),
      [1, 2, 1, 2],
    );
  });

  it('re-adds a WaitingError key after exactly err.after ms', async () => {
    const h = harness();
    h.queue.add('a');
    h.queue.start();
    await settle();
    await h.finish('a', new WaitingError('DependencyNotReady', 'waiting for ns', 5000));
    assert.deepEqual(h.errors, [{ key: 'a', error: 'waiting for ns', attempt: 1, willRetry: true }]);
    assert.deepEqual(h.clock.pending(), [5000]);
    await h.clock.advance(4999);
    assert.deepEqual(h.started(), ['a']);
    await h.clock.advance(1);
    assert.deepEqual(h.times(), [0, 5000]);
  });

  it('does not retry a StalledError until the key is added again', async () => {
    const h = harness();
    h.queue.add('a');
    h.queue.start();
    await settle();
    await h.finish('a', new StalledError('NoKey', 'no key opens it'));
    assert.deepEqual(h.errors, [{ key: 'a', error: 'no key opens it', attempt: 1, willRetry: false }]);
    assert.deepEqual(h.clock.pending(), []);
    await h.clock.advance(3_600_000);
    assert.deepEqual(h.started(), ['a']);
    h.queue.add('a');
    await settle();
    assert.deepEqual(h.started(), ['a', 'a']);
  });

  it('keeps the earlier time when a key is added after two delays', async () => {
    const h = harness();
    h.queue.start();
    h.queue.addAfter('a', 1000);
    h.queue.addAfter('a', 300);
    h.queue.addAfter('a', 2000);
    assert.deepEqual(h.clock.pending(), [300]);
    await h.clock.advance(5000);
    assert.deepEqual(h.times(), [300]);
  });

  it('counts a handler that throws synchronously as a failure', async () => {
    const clock = createFakeClock();
    const seen: string[] = [];
    const queue = new WorkQueue({
      workers: 1,
      clock,
      random: () => 0.5,
      handle: () => {
        throw new Error('sync');
      },
      onError: (key, err, info) => seen.push(`${key} ${(err as Error).message} ${info.attempt} ${info.willRetry}`),
    });
    queue.add('k');
    queue.start();
    await settle();
    assert.deepEqual(seen, ['k sync 1 true']);
    assert.deepEqual(clock.pending(), [200]);
  });

  it('shutdown drops queued and waiting keys and resolves once in-flight keys finish', async () => {
    const h = harness({ workers: 1 });
    h.queue.add('a');
    h.queue.add('b');
    h.queue.addAfter('c', 100);
    h.queue.start();
    await settle();
    let done = false;
    const stopped = h.queue.shutdown().then(() => {
      done = true;
    });
    await settle();
    assert.equal(done, false);
    assert.equal(h.queue.depth(), 0);
    assert.equal(h.queue.inFlight(), 1);
    assert.deepEqual(h.clock.pending(), []);
    h.queue.add('d');
    await h.finish('a', new Error('late failure'));
    await stopped;
    assert.equal(done, true);
    await h.clock.advance(10_000);
    assert.deepEqual(h.started(), ['a']);
    assert.deepEqual(h.clock.pending(), []);
  });

  it('rejects a worker count below 1', () => {
    assert.throws(() => new WorkQueue({ workers: 0, handle: async () => undefined }), {
      name: 'RangeError',
      message: 'workers must be a whole number of at least 1, got 0',
    });
  });
});
