/**
 * Puts the events of several shards back into event-time order before detection. Stream 1 is
 * partitioned by category, so one user's events are spread over every shard, and a reader that is
 * catching up gets each shard in long runs: fed as they come, a user's sliding windows would see
 * minutes of one shard, then the same minutes of another. Each shard arrives in time order, so a
 * k-way merge releases everything up to the watermark (the minimum newest time over the live
 * shards) in order; what is above it waits for the other shards. Live, the wait is about one poll.
 */
import type { ClickEvent } from '../core/event.js';

interface Queue {
  events: ClickEvent[];
  times: number[];
  head: number;
}

export class EventOrder {
  private readonly queues = new Map<string, Queue>();
  private held = 0;

  constructor(private readonly timeOf: (e: ClickEvent) => number | undefined) {}

  /** Events of one shard, in its order. Events without a time are returned at once (nothing to order). */
  push(shard: string, events: readonly ClickEvent[]): ClickEvent[] {
    let q = this.queues.get(shard);
    if (!q) {
      q = { events: [], times: [], head: 0 };
      this.queues.set(shard, q);
    }
    const untimed: ClickEvent[] = [];
    for (const e of events) {
      const t = this.timeOf(e);
      if (t === undefined) {
        untimed.push(e);
        continue;
      }
      q.events.push(e);
      q.times.push(t);
      this.held++;
    }
    return untimed;
  }

  /** Every held event at or before `watermark`, in time order (shards merged; ties by shard). */
  release(watermark: number): ClickEvent[] {
    const out: ClickEvent[] = [];
    const live = [...this.queues.values()].filter((q) => q.head < q.events.length);
    for (;;) {
      let best: Queue | undefined;
      for (const q of live) {
        if (
          q.head < q.events.length &&
          q.times[q.head]! <= watermark &&
          (!best || q.times[q.head]! < best.times[best.head]!)
        )
          best = q;
      }
      if (!best) break;
      out.push(best.events[best.head]!);
      best.head++;
    }
    this.held -= out.length;
    for (const q of live) {
      // Drop what was released once it is most of the queue, so the arrays do not grow forever.
      if (q.head > 1024 && q.head * 2 > q.events.length) {
        q.events.splice(0, q.head);
        q.times.splice(0, q.head);
        q.head = 0;
      }
    }
    return out;
  }

  /** Everything held, in time order (end of input). */
  drain(): ClickEvent[] {
    return this.release(Infinity);
  }

  get size(): number {
    return this.held;
  }

  /** The held events, in time order, for a checkpoint (the positions saved with it are past them). */
  snapshot(): ClickEvent[] {
    const all: { e: ClickEvent; t: number }[] = [];
    for (const q of this.queues.values())
      for (let i = q.head; i < q.events.length; i++) all.push({ e: q.events[i]!, t: q.times[i]! });
    return all.sort((a, b) => a.t - b.t).map((x) => x.e);
  }
}
