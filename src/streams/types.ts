/**
 * The stream contract, shaped after Kinesis Data Streams: records carry a partition key, land on the
 * shard whose hash-key range holds MD5(partition key), and get a per-shard sequence number.
 *
 * Two levels:
 * - `StreamWriter` / `StreamReader`: what the pipeline uses (simulator writes, processor reads batches).
 *   Backends: memory/ (in-process), stdio/ (NDJSON on stdout/stdin, for shell pipes), and every
 *   `DurableStream` through streams/consumer.ts.
 * - `DurableStream`: a stream that outlives processes, read per shard from a position, with consumer
 *   checkpoints. Backends: embedded/ (the default, segment files under the data folder) and kinesis/
 *   (Amazon Kinesis Data Streams, AWS SDK v3). One conformance suite (test/streams/conformance.test.ts)
 *   runs against both. docs/streams.md documents the contract.
 */
import type { CheckpointStore } from '../stores/types.js';

export interface PutEntry {
  partitionKey: string;
  /** The record body: one JSON stream record (core/codec.ts). */
  data: string;
}

export interface PutResult {
  shardId: string;
  sequenceNumber: string;
}

export interface StreamRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: string;
  /** Wall clock when the stream accepted the record, epoch ms. */
  arrivalTime: number;
}

/** Records of one shard, in the shard's order. */
export interface ShardBatch {
  shardId: string;
  records: StreamRecord[];
}

export interface StreamWriter {
  readonly name: string;
  /** Appends records in order; resolves when accepted (this is where backpressure applies). */
  putRecords(entries: readonly PutEntry[]): Promise<PutResult[]>;
  /** No more records: readers finish once they have read everything. */
  close(): Promise<void>;
}

export interface StreamReader {
  readonly name: string;
  /** Ids of the shards this reader follows. */
  shardIds(): string[];
  /** Batches from all shards as they arrive; ends when the writer closed and everything was read. */
  batches(signal?: AbortSignal): AsyncIterable<ShardBatch>;
  /**
   * Whether a shard had nothing more to read at its last read. Readers that can tell (the durable
   * streams' consumer) say so, and the processor then passes a silent shard only when it is caught
   * up, not merely slow (pipeline/shard-clock.ts); without it every silent shard counts as caught up.
   */
  caughtUp?(shardId: string): boolean;
  /** Of the shards with a batch ready, serve the one of lowest rank first (watermark alignment). */
  rankShards?(rank: (shardId: string) => number): void;
}

/** Shards of a stream storepulse creates unless told otherwise (config `simulate.shards`). */
export const DEFAULT_SHARDS = 4;

/** Kinesis shard id form, `shardId-000000000003`. */
export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Durable streams

/** Where a shard read starts: Kinesis's TRIM_HORIZON, LATEST, AT_ and AFTER_SEQUENCE_NUMBER. */
export type StartPosition =
  | { type: 'oldest' }
  | { type: 'latest' }
  | { type: 'at'; sequenceNumber: string }
  | { type: 'after'; sequenceNumber: string };

export interface ShardInfo {
  shardId: string;
  /** Set on a child of a split or merge: its records come after all of the parent's. */
  parentShardId?: string;
  /** The second parent of a merge. */
  adjacentParentShardId?: string;
  /** Inclusive 128-bit hash-key range, as decimal strings (Kinesis's form). */
  startingHashKey: string;
  endingHashKey: string;
  /** Closed by a split or merge: takes no new records; readers drain it, then read its children. */
  closed: boolean;
}

/** One step of a shard read. */
export interface ShardRead {
  /** In the shard's order; may be empty (a poll that found nothing new). */
  records: StreamRecord[];
  /** The shard is closed and this was its last batch (Kinesis: no NextShardIterator). */
  shardEnded?: boolean;
  /** How far the reader is behind the shard's newest record, in ms, when the backend knows. */
  millisBehindLatest?: number;
}

export interface ReadShardOptions {
  signal?: AbortSignal;
  /** Most records per batch (backend default otherwise; Kinesis allows at most 10,000). */
  limit?: number;
  /** Stop once caught up with the shard's tip instead of waiting for more. */
  untilCaughtUp?: boolean;
}

/** `positions[shardId]` once a closed shard has been read to its end. */
export const SHARD_END = 'SHARD_END';

export interface ShardStats {
  shardId: string;
  closed: boolean;
  /** Records and bytes held (after retention); undefined when the backend cannot tell (Kinesis). */
  records?: number;
  bytes?: number;
  oldestSequenceNumber?: string;
  newestSequenceNumber?: string;
}

/**
 * A stream that outlives processes. `putRecords` (from StreamWriter) resolves once the records are
 * accepted durably as the backend defines it; each record's shard and sequence number come back in
 * order. Sequence numbers of a shard compare with `compareSequenceNumbers`.
 */
export interface DurableStream extends StreamWriter {
  listShards(): Promise<ShardInfo[]>;
  /**
   * Reads one shard from `from`, in order. Yields batches as records arrive (waiting or polling when
   * caught up) until: the shard is closed and drained (the last batch has `shardEnded`), the stream is
   * sealed and the shard drained, `untilCaughtUp` and the tip is reached, or `signal` aborts.
   */
  readShard(shardId: string, from: StartPosition, opts?: ReadShardOptions): AsyncIterable<ShardRead>;
  readonly checkpoints: CheckpointStore;
  stats(): Promise<ShardStats[]>;
  /**
   * StreamWriter.close: the writer is done. It seals the stream where the backend can (embedded:
   * readers end once drained, until a writer opens it again; Kinesis: nothing to seal) and releases
   * the process's resources.
   */
  close(): Promise<void>;
  /** Releases the process's resources (and the writer lock) without sealing: a stop, not an end. */
  release(): Promise<void>;
}

/** Orders two sequence numbers of one shard (decimal strings; longer is later). */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
