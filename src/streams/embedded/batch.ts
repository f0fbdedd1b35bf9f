/**
 * putRecords' encoding: a batch of entries becomes one region of frames per shard, all in one
 * buffer (crc32.ts's memory, where the frames' checksums are computed), ready for one write call
 * per shard. Runs once per record written, so it avoids per-record allocation beyond the results.
 */
import { StorepulseError } from '../../core/errors.js';
import type { PutEntry, PutResult } from '../types.js';
import { frameCrc } from './crc32.js';
import {
  encodeFrame,
  frameBound,
  type KeyBytes,
  keyBytes,
  MAX_DATA_BYTES,
  MAX_KEY_CHARS,
  SeqFormatter,
  u64,
} from './format.js';

interface KeyInfo extends KeyBytes {
  shard: number;
}

/** Partition keys repeat (a store has hundreds of categories): their bytes and shard are memoised. */
const KEY_MEMO = 100_000;

export interface EncodedBatch {
  buf: Buffer;
  /** Per shard: its frames are buf[starts[s], ends[s]), `counts[s]` of them. */
  starts: Float64Array;
  ends: Float64Array;
  counts: Float64Array;
  results: PutResult[];
  /** The arrival time of every record of the batch. */
  now: number;
}

export class BatchEncoder {
  private readonly keys = new Map<string, KeyInfo>();
  private readonly seqFormats: SeqFormatter[];
  private batchKeys: KeyInfo[] = [];
  private readonly room: Float64Array;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly counts: Float64Array;

  constructor(
    private readonly shardIds: readonly string[],
    private readonly chooseShard: (key: string) => number,
  ) {
    const n = shardIds.length;
    this.seqFormats = shardIds.map(() => new SeqFormatter());
    this.room = new Float64Array(n);
    this.starts = new Float64Array(n);
    this.ends = new Float64Array(n);
    this.counts = new Float64Array(n);
  }

  private keyInfo(key: string): KeyInfo {
    let k = this.keys.get(key);
    if (k === undefined) {
      if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_CHARS) {
        throw new StorepulseError('USAGE', `a partition key must be 1-${MAX_KEY_CHARS} characters`);
      }
      if (this.keys.size >= KEY_MEMO) this.keys.clear();
      k = { ...keyBytes(key), shard: this.chooseShard(key) };
      this.keys.set(key, k);
    }
    return k;
  }

  /**
   * Encodes `entries` with sequence numbers from each shard's `nextSeq` on (not advanced here:
   * the appender does that once the bytes are written). Throws before encoding anything when an
   * entry is invalid. The result is valid until the next use of crc32.ts's memory.
   */
  encode(entries: readonly PutEntry[], shards: readonly { nextSeq: number }[]): EncodedBatch {
    const n = entries.length;
    const shardCount = this.shardIds.length;
    const keys = this.batchKeys;
    // Regions are sized for the worst case (3 bytes per character), so that each record's data is
    // encoded once, straight into place, without measuring it first.
    const room = this.room.fill(0);
    const counts = this.counts.fill(0);
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      const k = this.keyInfo(e.partitionKey);
      if (typeof e.data !== 'string')
        throw new StorepulseError('USAGE', `record ${i}: data must be a string`);
      if (e.data.length > MAX_DATA_BYTES) {
        throw new StorepulseError(
          'USAGE',
          `record ${i}: ${e.data.length} characters, over ${MAX_DATA_BYTES} bytes`,
        );
      }
      keys[i] = k;
      room[k.shard]! += frameBound(k.bytes.length, e.data.length);
      counts[k.shard]!++;
    }
    const { starts, ends } = this;
    let total = 0;
    for (let s = 0; s < shardCount; s++) {
      starts[s] = ends[s] = total;
      total += room[s]!;
    }
    const buf = frameCrc.scratch(total);
    const now = Date.now();
    const arrival = u64(now);
    const results = new Array<PutResult>(n);
    const seqs = shards.map((s) => s.nextSeq);
    try {
      for (let i = 0; i < n; i++) {
        const k = keys[i]!;
        const s = k.shard;
        const seq = seqs[s]!++;
        ends[s] = encodeFrame(buf, ends[s]!, seq, arrival, k, entries[i]!.data);
        results[i] = { shardId: this.shardIds[s]!, sequenceNumber: this.seqFormats[s]!.format(seq) };
      }
    } finally {
      keys.length = 0;
    }
    return { buf, starts, ends, counts, results, now };
  }
}
