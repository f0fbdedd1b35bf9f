/**
 * The stream contract, shaped after Kinesis Data Streams: records carry a partition key, land on the
 * shard whose hash-key range holds MD5(partition key), and get a per-shard sequence number.
 * Backends: memory/ (in-process), stdio/ (NDJSON on stdout/stdin, for shell pipes).
 */
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
}

/** Kinesis shard id form, `shardId-000000000003`. */
export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}
