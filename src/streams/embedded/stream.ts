/**
 * The embedded durable log: a DurableStream on local files (docs/streams-embedded.md). One writer
 * process (a lock file), any number of reader processes (they poll the files). Shard choice and
 * sequence numbers behave like Kinesis.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, errorMessage } from '../../core/errors.js';
import { evenRanges, type HashKeyRange, shardChooser } from '../../core/shard.js';
import {
  type DurableStream,
  type PutEntry,
  type PutResult,
  type ReadShardOptions,
  type ShardInfo,
  type ShardStats,
  shardIdOf,
  type StartPosition,
} from '../types.js';
import { ShardAppender, type TailRecovery } from './appender.js';
import { FileCheckpointStore } from './checkpoints.js';
import { BatchEncoder } from './batch.js';
import { acquireWriterLock, type WriterLock } from '../../fs/lock.js';
import { assertNoOrphanRecords, createMeta, readMeta, seal, type StreamMeta, unseal } from './meta.js';
import { type EmbeddedShardRead, readShardFiles, sealedMarker } from './reader.js';
import { shardDir } from './segment.js';
import { diskStats, type TailMark } from './stats.js';
import { type EmbeddedStreamOptions, resolveOptions, type ResolvedOptions } from './options.js';

export type { EmbeddedShardRead } from './reader.js';
export type { TailRecovery } from './appender.js';
export type { EmbeddedStreamOptions } from './options.js';

/** What opening in write mode repaired. */
export interface RecoveryReport {
  /** Bytes cut off torn or corrupt segment tails, over all shards. */
  droppedBytes: number;
  /** One entry per shard whose newest segment had a bad tail. */
  shards: TailRecovery[];
  /** The pid of a dead writer whose lock was taken over. */
  staleLockPid?: number;
}

/** Opens (in write mode: creates when missing) the stream in `opts.dir`. */
export async function openEmbeddedStream(opts: EmbeddedStreamOptions): Promise<EmbeddedStream> {
  const o = resolveOptions(opts);
  if (o.mode === 'read') {
    const meta = await readMeta(o.dir);
    if (!meta) {
      throw new StorepulseError(
        'NOT_FOUND',
        `stream ${o.name} does not exist (no ${path.join(o.dir, 'stream.json')}); a writer creates it`,
      );
    }
    return new EmbeddedStream(o, meta, null, [], { droppedBytes: 0, shards: [] });
  }
  await mkdir(o.dir, { recursive: true });
  const lock = acquireWriterLock(o.dir, { what: `stream ${o.name}` });
  const appenders: ShardAppender[] = [];
  try {
    let meta = await readMeta(o.dir);
    if (!meta) await assertNoOrphanRecords(o.dir, o.name, o.shards);
    await unseal(sealedMarker(o.dir));
    const count = meta?.shards ?? o.shards;
    const recovery: RecoveryReport = { droppedBytes: 0, shards: [] };
    if (lock.takenFrom !== undefined) {
      recovery.staleLockPid = lock.takenFrom;
      o.log(`stream ${o.name}: took over the lock of writer ${lock.takenFrom}, which is no longer running`);
    }
    for (let i = 0; i < count; i++) {
      const id = shardIdOf(i);
      const r = await ShardAppender.open(shardDir(o.dir, id), id, o.durability !== 'none');
      appenders.push(r.appender);
      if (r.recovery) {
        recovery.shards.push(r.recovery);
        recovery.droppedBytes += r.recovery.droppedBytes;
        o.log(
          `stream ${o.name} ${id}: dropped ${r.recovery.droppedBytes} bytes at offset ${r.recovery.offset} ` +
            `of ${r.recovery.file} (${r.recovery.reason}); the records before it are intact`,
        );
      }
    }
    meta ??= await createMeta(o.dir, o.name, count);
    const stream = new EmbeddedStream(o, meta, lock, appenders, recovery);
    await stream.enforceRetention();
    stream.startTimers();
    return stream;
  } catch (err) {
    await Promise.allSettled(appenders.map((a) => a.close()));
    lock.release();
    throw err;
  }
}

export class EmbeddedStream implements DurableStream {
  readonly name: string;
  readonly dir: string;
  readonly mode: 'write' | 'read';
  readonly shardCount: number;
  readonly createdAt: string;
  readonly checkpoints: FileCheckpointStore;
  /** What opening repaired (write mode); empty in read mode. */
  readonly recovery: RecoveryReport;
  private readonly ids: string[];
  private readonly ranges: HashKeyRange[];
  private readonly closed = new AbortController();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private failure: Error | null = null;
  private timers: NodeJS.Timeout[] = [];
  private retention: Promise<void> | null = null;
  private readonly tailMarks = new Map<string, TailMark>();
  private readonly encoder: BatchEncoder;

  constructor(
    private readonly opts: ResolvedOptions,
    meta: StreamMeta,
    private readonly lock: WriterLock | null,
    private readonly appenders: ShardAppender[],
    recovery: RecoveryReport,
  ) {
    this.name = opts.name;
    this.dir = opts.dir;
    this.mode = opts.mode;
    this.shardCount = meta.shards;
    this.createdAt = meta.createdAt;
    this.recovery = recovery;
    this.checkpoints = new FileCheckpointStore(opts.dir);
    this.ids = Array.from({ length: meta.shards }, (_, i) => shardIdOf(i));
    this.ranges = evenRanges(meta.shards);
    this.encoder = new BatchEncoder(this.ids, shardChooser(this.ranges));
  }

  /** @internal Fsync and retention timers of a writer. */
  startTimers(): void {
    if (this.opts.durability === 'interval') {
      this.timers.push(
        setInterval(() => this.syncAll().catch((err: unknown) => this.fail(err)), this.opts.fsyncIntervalMs),
      );
    }
    const every = Math.min(60_000, Math.max(1000, this.opts.retentionMs / 10));
    this.timers.push(
      setInterval(() => void this.enforceRetention().catch((err: unknown) => this.fail(err)), every),
    );
    for (const t of this.timers) t.unref();
  }

  private fail(err: unknown): void {
    this.failure ??= err as Error;
    this.opts.log(`stream ${this.name}: ${errorMessage(err)}`);
  }

  async listShards(): Promise<ShardInfo[]> {
    return this.ids.map((shardId, i) => ({
      shardId,
      startingHashKey: this.ranges[i]!.startingHashKey.toString(),
      endingHashKey: this.ranges[i]!.endingHashKey.toString(),
      closed: false,
    }));
  }

  readShard(shardId: string, from: StartPosition, opts?: ReadShardOptions): AsyncIterable<EmbeddedShardRead> {
    if (!this.ids.includes(shardId)) {
      throw new StorepulseError(
        'USAGE',
        `stream ${this.name} has no shard ${shardId} (it has ${this.ids.length})`,
      );
    }
    return readShardFiles(
      {
        streamName: this.name,
        shardDir: shardDir(this.dir, shardId),
        shardId,
        sealedFile: sealedMarker(this.dir),
        pollMs: this.opts.pollMs,
        closed: this.closed.signal,
      },
      from,
      opts,
    );
  }

  /**
   * Appends a batch: one buffer and one write call per shard, then (durability 'batch') one fsync
   * per shard touched, shared with concurrent puts. Resolves with each record's shard and sequence
   * number, in input order.
   */
  async putRecords(entries: readonly PutEntry[]): Promise<PutResult[]> {
    if (this.mode !== 'write')
      throw new StorepulseError('USAGE', `stream ${this.name} is open for reading only`);
    if (this.state !== 'open') throw new StorepulseError('USAGE', `stream ${this.name} is closed`);
    if (this.failure)
      throw new StorepulseError('IO', `stream ${this.name}: ${this.failure.message}`, {
        cause: this.failure,
      });
    if (entries.length === 0) return [];
    const batch = this.encoder.encode(entries, this.appenders);
    const { buf, starts, ends, now } = batch;
    const touched: ShardAppender[] = [];
    let rolled = false;
    for (let s = 0; s < this.shardCount; s++) {
      if (batch.counts[s] === 0) continue;
      const a = this.appenders[s]!;
      const segments = a.segmentCount;
      a.append(buf, starts[s]!, ends[s]! - starts[s]!, batch.counts[s]!, this.opts.segmentBytes, now);
      rolled ||= a.segmentCount !== segments;
      touched.push(a);
    }
    if (rolled) void this.enforceRetention().catch((err: unknown) => this.fail(err));
    if (this.opts.durability === 'batch') await Promise.all(touched.map((a) => a.sync()));
    return batch.results;
  }

  /**
   * Deletes the oldest segments of shards over their share of `retentionBytes` or older than
   * `retentionMs` (write mode; runs on open, on every segment roll and on a timer).
   * Returns the records deleted.
   */
  async enforceRetention(): Promise<number> {
    if (this.mode !== 'write' || this.state !== 'open') return 0;
    while (this.retention) await this.retention;
    let deleted = 0;
    const run = (async () => {
      const share = Math.floor(this.opts.retentionBytes / this.shardCount);
      const now = Date.now();
      for (const a of this.appenders) deleted += await a.applyRetention(share, this.opts.retentionMs, now);
    })();
    this.retention = run.finally(() => {
      this.retention = null;
    });
    await this.retention;
    return deleted;
  }

  /**
   * The 'interval' fsync: one shard after the other, so that the file system's writeback work
   * takes one core and not all of them from the writer (the bench runs on two).
   */
  private async syncAll(): Promise<void> {
    for (const a of this.appenders) await a.sync();
  }

  async stats(): Promise<ShardStats[]> {
    if (this.mode === 'write' && this.state === 'open') {
      return this.appenders.map((a, i) => {
        const s = a.stats();
        return {
          shardId: this.ids[i]!,
          closed: false,
          records: s.records,
          bytes: s.bytes,
          ...(s.oldest ? { oldestSequenceNumber: s.oldest, newestSequenceNumber: s.newest } : {}),
        };
      });
    }
    return diskStats(this.dir, this.ids, this.tailMarks);
  }

  /** The writer is done: flush, fsync, seal (readers end once drained) and release the lock. */
  async close(): Promise<void> {
    await this.shutdown(true);
  }

  /** Stops without sealing: readers keep waiting for a next writer. */
  async release(): Promise<void> {
    await this.shutdown(false);
  }

  private async shutdown(sealing: boolean): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.mode === 'read') {
      this.closed.abort();
      this.state = 'closed';
      return;
    }
    try {
      await this.retention?.catch(() => undefined);
      const closing = await Promise.allSettled(this.appenders.map((a) => a.close()));
      const failed = closing.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      if (sealing) await seal(sealedMarker(this.dir));
    } finally {
      this.lock?.release();
      this.state = 'closed';
    }
  }
}
