/**
 * The processor's event-time clock over the stream's shards. Each shard arrives in its own time
 * order but at its own pace, so the watermark is the minimum newest event time over the shards (as
 * Flink does over Kinesis shards): nothing older can still come from any of them. A shard that goes
 * silent would hold it back forever, so one silent for `idleMs` of wall time no longer counts
 * (Flink's idleness); nor does a shard that never spoke, once `idleMs` have passed since the start.
 *
 * Silent means caught up and quiet, not slow: when the reader can tell (`caughtUp`, the stream
 * consumer does), a shard with records still to read holds the watermark however long its batches
 * take. Otherwise a backlog read on a busy machine had whole shards passed over and their events
 * counted late (issue 16: 30 % of an in-order stream).
 *
 * Pure: every wall time is passed in, so tests need no timers.
 */
import type { StreamReader } from '../streams/types.js';
interface Shard {
  /** Newest event time read from it (-Infinity until a timed event comes). */
  newest: number;
  /** Wall ms it last delivered a batch. */
  heardAt: number;
}

/** The reader's `caughtUp`, or, for a reader that cannot tell, every shard counts as caught up. */
export function caughtUpOf(reader: StreamReader): (shardId: string) => boolean {
  return reader.caughtUp ? (id) => reader.caughtUp!(id) : () => true;
}

/**
 * Asks the reader to serve first, of the shards with a batch ready, the one furthest behind in event
 * time (Flink's watermark alignment). Round robin by records is not enough: a shard that a flood of
 * one category fills runs hours of event time behind the others, and every event of theirs waits in
 * the shard merge meanwhile (a 2M-event backlog held 470k of them).
 */
export function alignReader(reader: StreamReader, clock: ShardClock): void {
  reader.rankShards?.((id) => clock.newestOf(id));
}

export class ShardClock {
  private readonly shards = new Map<string, Shard>();

  constructor(
    private readonly idleMs: number,
    /** Wall ms the run started: shards that have not spoken yet are waited for this long. */
    private readonly started: number,
    /** Whether a shard has nothing left to read: only such a shard can be idle. */
    private readonly caughtUp: (shardId: string) => boolean = () => true,
  ) {}

  /** Newest times saved by a checkpoint: each shard counts as heard at the start of this run. */
  restore(newest: Readonly<Record<string, number>>): void {
    for (const [id, t] of Object.entries(newest)) this.shards.set(id, { newest: t, heardAt: this.started });
  }

  /** A batch came from `shardId` at wall time `at`, its newest event time `newest` (-Infinity: none). */
  heard(shardId: string, newest: number, at: number): void {
    const shard = this.shards.get(shardId) ?? { newest: -Infinity, heardAt: at };
    shard.newest = Math.max(shard.newest, newest);
    shard.heardAt = at;
    this.shards.set(shardId, shard);
  }

  /**
   * Wall time the processor spent on its own work (a lake write waiting, a checkpoint) is not silence
   * of the shards: without this, a slow checkpoint would make every other shard look idle and their
   * next records late.
   */
  pause(ms: number): void {
    for (const s of this.shards.values()) s.heardAt += ms;
  }

  /**
   * The minimum newest event time over the shards `ids` (the ones the reader follows now) that are
   * not idle at wall time `now`; undefined while nothing may move: a shard not heard from yet while
   * within `idleMs` of the start or with records to read, a live shard without a timed event yet, or
   * no live shard at all. Idle: silent for more than `idleMs` and caught up.
   */
  watermark(ids: readonly string[], now: number): number | undefined {
    let min = Infinity;
    for (const id of ids) {
      const s = this.shards.get(id);
      if (!s) {
        if (now - this.started < this.idleMs || !this.caughtUp(id)) return undefined;
        continue;
      }
      if (now - s.heardAt > this.idleMs && this.caughtUp(id)) continue;
      if (s.newest < min) min = s.newest;
    }
    return Number.isFinite(min) ? min : undefined;
  }

  /** Newest event time read from a shard (-Infinity: none yet). */
  newestOf(shardId: string): number {
    return this.shards.get(shardId)?.newest ?? -Infinity;
  }

  /** Newest time per shard, for a checkpoint (shards without a timed event are left out). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, s] of this.shards) if (Number.isFinite(s.newest)) out[id] = s.newest;
    return out;
  }
}
