/**
 * A checkpointed consumer of a durable stream: the pipeline's StreamReader over any DurableStream
 * (the part of the Kinesis Client Library storepulse needs).
 *
 * - Reads every shard from its checkpoint (after the last sequence number processed), or from the
 *   oldest record (or the latest) where there is none.
 * - Follows resharding: a child shard is read only once its parents are drained (SHARD_END), so the
 *   records of a partition key stay in order; new shards are found by listing the shards again.
 * - `commit(state)` saves the positions of every batch handed out so far, with the consumer's own
 *   state, in one atomic checkpoint. Call it only after those batches are processed.
 * - Serves the shards fairly: of the shards with a batch ready, the one furthest behind in event
 *   time when the caller ranks them (`rankShards`), else the one that has waited longest. (A race
 *   over the reads in a fixed order gave a backlogged first shard every turn, and the other shards'
 *   events came seconds of wall time later: late, behind the watermark.)
 * - Tells whether a shard is caught up (`caughtUp`): the processor's watermark passes a silent shard
 *   only when it has nothing to read, not when it is merely slow (pipeline/shard-clock.ts).
 */
import {
  type DurableStream,
  SHARD_END,
  type ShardBatch,
  type ShardInfo,
  type ShardRead,
  type StartPosition,
  type StreamReader,
} from './types.js';
import { type Checkpoint } from '../stores/types.js';

export interface ConsumerOptions {
  stream: DurableStream;
  /** Checkpoint name, e.g. `process`. */
  consumer: string;
  /** Where shards without a checkpoint start: the oldest record held (default) or new records only. */
  startAt?: 'oldest' | 'latest';
  /** End once every shard is caught up, instead of following the stream. */
  untilCaughtUp?: boolean;
  /** End after this long (ms) without a record from any shard. */
  idleExitMs?: number;
  /** How often to list shards again to find children of a split or merge (ms, default 10 s). */
  shardPollMs?: number;
  /** Most records per batch. */
  batchLimit?: number;
}

type Step = { shardId: string; result: IteratorResult<ShardRead> };

export class StreamConsumer implements StreamReader {
  readonly name: string;
  /** Positions of everything handed out: shardId → last sequence number, or SHARD_END. */
  private readonly positions: Record<string, string>;
  private readonly reading = new Set<string>();
  /** Shards whose last read found nothing new, reached the tip, or ended this run's reading. */
  private readonly atTip = new Set<string>();
  private rank: ((shardId: string) => number) | undefined;
  private lastShards: ShardInfo[] = [];

  private constructor(
    private readonly opts: ConsumerOptions,
    private readonly loaded: Checkpoint | undefined,
  ) {
    this.name = opts.stream.name;
    this.positions = { ...(loaded?.positions ?? {}) };
  }

  static async open(opts: ConsumerOptions): Promise<StreamConsumer> {
    return new StreamConsumer(opts, await opts.stream.checkpoints.load(opts.consumer));
  }

  /** The state saved with the checkpoint this consumer started from. */
  get restoredState(): string | undefined {
    return this.loaded?.state;
  }

  /** The checkpoint this consumer started from, if any. */
  get startedFrom(): Checkpoint | undefined {
    return this.loaded;
  }

  /** Shards that hold back event time: the ones being read, or about to be. */
  shardIds(): string[] {
    const open = this.lastShards.filter((s) => this.positions[s.shardId] !== SHARD_END).map((s) => s.shardId);
    return open.length > 0 ? open : [...this.reading];
  }

  /**
   * Whether `shardId` had nothing more to read at its last read (an empty poll, a batch that reached
   * the tip, or its reading ended). False for a shard not read yet or with records still behind.
   */
  caughtUp(shardId: string): boolean {
    return this.atTip.has(shardId) || this.positions[shardId] === SHARD_END;
  }

  /**
   * Of the shards with a batch ready, serve the one of lowest `rank` first (the processor ranks by
   * the newest event time read from each, so the shard that holds its watermark back comes first:
   * Flink's watermark alignment). Without it, or on a tie, the one that has waited longest.
   */
  rankShards(rank: (shardId: string) => number): void {
    this.rank = rank;
  }

  /**
   * With ranks: the shard whose read is still in flight, with records behind it, that ranks below
   * every ready one (and every other such shard); undefined when a ready one may go first.
   */
  private behindInFlight(pending: Map<string, unknown>, ready: Map<string, Step>): string | undefined {
    if (!this.rank) return undefined;
    let low = Infinity;
    for (const id of ready.keys()) low = Math.min(low, this.rank(id));
    let behind: string | undefined;
    for (const id of pending.keys()) {
      if (ready.has(id) || this.atTip.has(id)) continue;
      const r = this.rank(id);
      if (r < low) {
        low = r;
        behind = id;
      }
    }
    return behind;
  }

  /** Takes the ready read to hand out next (see rankShards). */
  private next(ready: Map<string, Step>): Step {
    let best: Step | undefined;
    let bestRank = Infinity;
    for (const step of ready.values()) {
      const r = this.rank ? this.rank(step.shardId) : 0;
      if (!best || r < bestRank) {
        best = step;
        bestRank = r;
      }
    }
    ready.delete(best!.shardId);
    return best!;
  }

  /** The positions of every batch handed out so far: what `commit` saves unless given others. */
  handedOut(): Record<string, string> {
    return { ...this.positions };
  }

  /**
   * Saves `positions` (by default those of every batch handed out so far) and `state` as one
   * checkpoint. A caller that saves in the background takes `handedOut()` when its state matches.
   */
  async commit(state?: string, positions = this.handedOut()): Promise<void> {
    await this.opts.stream.checkpoints.save(this.opts.consumer, {
      positions,
      ...(state === undefined ? {} : { state }),
      updatedAt: Date.now(),
    });
  }

  /** Shards that may be read now: not drained, not being read, with every parent drained. */
  private readable(shards: readonly ShardInfo[]): ShardInfo[] {
    const known = new Set(shards.map((s) => s.shardId));
    // A parent no longer listed (expired by retention) holds nothing back.
    const drained = (id: string | undefined) =>
      id === undefined || !known.has(id) || this.positions[id] === SHARD_END;
    return shards.filter(
      (s) =>
        !this.reading.has(s.shardId) &&
        this.positions[s.shardId] !== SHARD_END &&
        drained(s.parentShardId) &&
        drained(s.adjacentParentShardId),
    );
  }

  private startOf(shard: ShardInfo): StartPosition {
    const seq = this.positions[shard.shardId];
    if (seq !== undefined) return { type: 'after', sequenceNumber: seq };
    // A child's records all come after its parents': read it whole.
    if (shard.parentShardId !== undefined) return { type: 'oldest' };
    return { type: this.opts.startAt ?? 'oldest' };
  }

  async *batches(signal?: AbortSignal): AsyncIterable<ShardBatch> {
    const { stream } = this.opts;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const iterators = new Map<string, AsyncIterator<ShardRead>>();
    const pending = new Map<string, Promise<Step>>();
    /** Reads that have come back and wait their turn, in the order they came. */
    const ready = new Map<string, Step>();
    const pull = (shardId: string) => {
      const it = iterators.get(shardId)!;
      pending.set(
        shardId,
        it.next().then((result) => {
          const step = { shardId, result };
          ready.set(shardId, step);
          return step;
        }),
      );
    };
    const startReadable = async () => {
      this.lastShards = await stream.listShards();
      for (const shard of this.readable(this.lastShards)) {
        const reads = stream.readShard(shard.shardId, this.startOf(shard), {
          signal: stop.signal,
          limit: this.opts.batchLimit,
          untilCaughtUp: this.opts.untilCaughtUp,
        });
        const it = reads[Symbol.asyncIterator]();
        iterators.set(shard.shardId, it);
        this.reading.add(shard.shardId);
        pull(shard.shardId);
      }
    };

    const shardPollMs = this.opts.shardPollMs ?? 10_000;
    const idleExitMs = this.opts.idleExitMs;
    let lastRecordAt = Date.now();
    let lastListAt = Date.now();
    try {
      await startReadable();
      while (pending.size > 0 && !stop.signal.aborted) {
        const waitMs = Math.min(
          shardPollMs - (Date.now() - lastListAt),
          idleExitMs === undefined ? Infinity : idleExitMs - (Date.now() - lastRecordAt),
        );
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), Math.max(0, waitMs));
        });
        // The shard furthest behind is waited for while it has records to read: served whatever is
        // ready meanwhile, the others run ahead and their events wait in the caller's merge.
        const behind = this.behindInFlight(pending, ready);
        const waitOn = behind ? [pending.get(behind)!] : ready.size > 0 ? null : [...pending.values()];
        const came = waitOn === null ? true : await Promise.race([...waitOn, tick]);
        clearTimeout(timer);
        const step = came === null ? null : this.next(ready);
        if (step === null) {
          if (idleExitMs !== undefined && Date.now() - lastRecordAt >= idleExitMs) return;
          lastListAt = Date.now();
          await startReadable();
          continue;
        }
        const { shardId, result } = step;
        if (result.done) {
          // Ended without SHARD_END: sealed, caught up, or stopped. Not resumed in this run.
          pending.delete(shardId);
          iterators.delete(shardId);
          this.reading.delete(shardId);
          this.atTip.add(shardId);
          continue;
        }
        const read = result.value;
        const records = read.records;
        if (records.length === 0 || read.millisBehindLatest === 0) this.atTip.add(shardId);
        else this.atTip.delete(shardId);
        if (records.length > 0) {
          this.positions[shardId] = records[records.length - 1]!.sequenceNumber;
          lastRecordAt = Date.now();
        }
        if (read.shardEnded) {
          this.positions[shardId] = SHARD_END;
          pending.delete(shardId);
          iterators.delete(shardId);
          this.reading.delete(shardId);
        } else {
          pull(shardId);
        }
        if (records.length > 0) yield { shardId, records };
        if (read.shardEnded) {
          lastListAt = Date.now();
          await startReadable();
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop.abort();
      await Promise.allSettled([...iterators.values()].map((it) => it.return?.()));
      this.reading.clear();
    }
  }
}
