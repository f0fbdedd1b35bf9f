/**
 * The abortable sleep: it ends early on abort, and leaves no listener and no timer behind either
 * way, because the simulator and the stream readers wait thousands of times on one long-lived signal.
 * No timing is asserted beyond "it ended before a generous guard".
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sleep } from '../../src/core/sleep.js';
import { runSimulator } from '../../src/pipeline/simulator.js';
import type { PutEntry, PutResult, StreamWriter } from '../../src/streams/types.js';
import { ev } from '../helpers/events.js';

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;
/** Fake timeouts, so that the count of pending ones is the sleep's alone. */
const fakeTimeouts = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

/** `p`, or an error if it has not settled within `ms` (far longer than any of these should take). */
function within<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let guard: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(guard));
}

/** Whether `p` has settled by the next macrotask. */
async function settledAtOnce(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  return settled;
}

describe('sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after the time without a signal', async () => {
    await within(sleep(5));
  });

  it('leaves no listener on a long-lived signal after many waits, one after another or together', async () => {
    const ac = new AbortController();
    const other = new AbortController();
    for (let i = 0; i < 50; i++) {
      const p = sleep(1, ac.signal);
      expect(listeners(ac.signal)).toBe(1);
      await within(p);
    }
    expect(listeners(ac.signal)).toBe(0);
    // Ten together: more would (rightly) warn of a possible leak while they all wait.
    await within(Promise.all(Array.from({ length: 10 }, () => sleep(1, ac.signal, undefined, other.signal))));
    expect([listeners(ac.signal), listeners(other.signal)]).toEqual([0, 0]);
  });

  it('ends at once when a signal aborts, and removes its listeners and its timer', async () => {
    fakeTimeouts();
    const ac = new AbortController();
    const other = new AbortController();
    const p = sleep(600_000, ac.signal, other.signal);
    expect(vi.getTimerCount()).toBe(1);
    expect([listeners(ac.signal), listeners(other.signal)]).toEqual([1, 1]);
    other.abort();
    expect(await settledAtOnce(p)).toBe(true);
    await p;
    expect([listeners(ac.signal), listeners(other.signal)]).toEqual([0, 0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves at once on a signal that is already aborted, without a listener or a timer', async () => {
    fakeTimeouts();
    const ac = new AbortController();
    ac.abort();
    const p = sleep(600_000, ac.signal);
    expect([listeners(ac.signal), vi.getTimerCount()]).toEqual([0, 0]);
    expect(await settledAtOnce(p)).toBe(true);
  });
});

describe('runSimulator paced', () => {
  it('leaves no abort listener on its signal however often it waits', async () => {
    const puts: number[] = [];
    const stream: StreamWriter = {
      name: 'test',
      putRecords: async (entries: readonly PutEntry[]): Promise<PutResult[]> => {
        puts.push(entries.length);
        return entries.map((_, i) => ({ shardId: 'shardId-000000000000', sequenceNumber: String(i) }));
      },
      close: async () => {},
    };
    const events = Array.from({ length: 115 }, (_, i) => ev(i, i * 1000));
    const ac = new AbortController();
    // A clock that stands still: at 10,000 events/s, each event from the 101st on is due more than
    // 10 ms ahead, so the simulator sends what it holds and waits before each of them (14 waits).
    const stats = await within(
      runSimulator({
        events: (async function* () {
          yield events;
        })(),
        stream,
        pace: { mode: 'rate', eventsPerSecond: 10_000 },
        signal: ac.signal,
        now: () => 0,
      }),
    );
    expect(stats.sent).toBe(115);
    expect(puts).toEqual([101, ...Array<number>(14).fill(1)]);
    expect(listeners(ac.signal)).toBe(0);
  });
});
