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
    const pull = (shardId: string) => {
      const it = iterators.get(shardId)!;
      pending.set(
        shardId,
        it.next().then((result) => ({ shardId, result })),
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
        const step = await Promise.race([...pending.values(), tick]);
        clearTimeout(timer);
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
          continue;
        }
        const read = result.value;
        const records = read.records;
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
