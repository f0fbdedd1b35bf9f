/** In-process stream: Kinesis shard choice and sequence numbers, bounded buffering for backpressure. */
import { evenRanges, shardChooser } from '../../core/shard.js';
import {
  DEFAULT_SHARDS,
  type PutEntry,
  type PutResult,
  type ShardBatch,
  shardIdOf,
  type StreamReader,
  type StreamRecord,
  type StreamWriter,
} from '../types.js';

export interface MemoryStreamOptions {
  name?: string;
  shards?: number;
  /** Records buffered across shards before putRecords waits for the reader. */
  highWaterMark?: number;
  /** Most records handed out per shard batch. */
  maxBatch?: number;
}

export class MemoryStream implements StreamWriter, StreamReader {
  readonly name: string;
  private readonly shardOf: (key: string) => number;
  private readonly ids: string[];
  private readonly queues: StreamRecord[][];
  private readonly heads: number[];
  private readonly seqs: number[];
  private buffered = 0;
  private closed = false;
  private readonly highWaterMark: number;
  private readonly maxBatch: number;
  private wakeReader: (() => void) | null = null;
  private wakeWriter: (() => void) | null = null;

  constructor(opts: MemoryStreamOptions = {}) {
    this.name = opts.name ?? 'memory';
    const n = opts.shards ?? DEFAULT_SHARDS;
    this.shardOf = shardChooser(evenRanges(n));
    this.ids = Array.from({ length: n }, (_, i) => shardIdOf(i));
    this.queues = this.ids.map(() => []);
    this.heads = this.ids.map(() => 0);
    this.seqs = this.ids.map(() => 0);
    this.highWaterMark = opts.highWaterMark ?? 50_000;
    this.maxBatch = opts.maxBatch ?? 10_000;
  }

  shardIds(): string[] {
    return [...this.ids];
  }

  /** Records put and not yet taken by the reader, per shard: the consumer's lag (the dashboard shows it). */
  backlog(): { shardId: string; lagRecords: number }[] {
    return this.ids.map((shardId, s) => ({ shardId, lagRecords: this.queues[s]!.length - this.heads[s]! }));
  }

  async putRecords(entries: readonly PutEntry[]): Promise<PutResult[]> {
    if (this.closed) throw new Error(`stream ${this.name} is closed`);
    while (this.buffered >= this.highWaterMark) {
      await new Promise<void>((resolve) => (this.wakeWriter = resolve));
    }
    const now = Date.now();
    const out: PutResult[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const shard = this.shardOf(e.partitionKey);
      const seq = ++this.seqs[shard]!;
      const rec: StreamRecord = {
        shardId: this.ids[shard]!,
        sequenceNumber: String(seq).padStart(20, '0'),
        partitionKey: e.partitionKey,
        data: e.data,
        arrivalTime: now,
      };
      this.queues[shard]!.push(rec);
      out[i] = { shardId: rec.shardId, sequenceNumber: rec.sequenceNumber };
    }
    this.buffered += entries.length;
    this.wake();
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = null;
    r?.();
  }

  private take(shard: number): StreamRecord[] {
    const q = this.queues[shard]!;
    const head = this.heads[shard]!;
    const end = Math.min(q.length, head + this.maxBatch);
    const records = q.slice(head, end);
    if (end === q.length) {
      q.length = 0;
      this.heads[shard] = 0;
    } else this.heads[shard] = end;
    this.buffered -= records.length;
    return records;
  }

  async *batches(signal?: AbortSignal): AsyncIterable<ShardBatch> {
    signal?.addEventListener('abort', () => this.wake(), { once: true });
    while (!signal?.aborted) {
      let gave = false;
      for (let s = 0; s < this.queues.length; s++) {
        if (this.queues[s]!.length > this.heads[s]!) {
          const records = this.take(s);
          const w = this.wakeWriter;
          this.wakeWriter = null;
          w?.();
          gave = true;
          yield { shardId: this.ids[s]!, records };
        }
      }
      if (gave) continue;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }
}
