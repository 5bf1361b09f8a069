/**
 * A clock for tests: time stands still until `advance` moves it, firing due timers in time order (timers set
 * for the same instant fire in the order they were set). Between timers it lets pending promise callbacks run,
 * so code that awaits and then sets the next timer behaves as it would in real time.
 */
import type { Clock } from './clock.js';

/** A Clock whose time only moves when told. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): Promise<void>;
  /** Due times (absolute ms) of the timers not yet fired, earliest first. */
  pending(): number[];
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Lets every queued promise callback and I/O-free continuation run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A FakeClock starting at `start` ms. Throws only what a fired timer callback throws. */
export function createFakeClock(start = 0): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Set<Timer>();
  const next = (limit: number): Timer | undefined => {
    let best: Timer | undefined;
    for (const t of timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  };
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const timer: Timer = { at: now + Math.max(0, ms), seq: seq++, fn };
      timers.add(timer);
      return timer;
    },
    clearTimeout(handle) {
      timers.delete(handle as Timer);
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (let t = next(target); t; t = next(target)) {
        timers.delete(t);
        now = t.at;
        t.fn();
        await settle();
      }
      now = target;
      await settle();
    },
    pending: () => [...timers].map((t) => t.at).sort((a, b) => a - b),
  };
}
