/**
 * Hands every valid event to the lake beside detection, with the shard and sequence number it was
 * read from, each record once. A run restarts from its consumer checkpoint, but the lake may be
 * ahead of it (a crash after the lake published a flush and before the checkpoint was committed):
 * records up to the positions the lake published are left out. Writes run in order, several
 * batches together (GroupQueue), and only hold the processor up while the lake writes a full buffer.
 */
import type { LakeRecord } from '../lake/schema.js';
import { compareSequenceNumbers } from '../streams/types.js';
import { GroupQueue } from './group-queue.js';

/** What the lake writer takes (src/lake/writer.ts). */
export interface EventSink {
  write(records: LakeRecord[]): Promise<void>;
  /** Resolves once everything written so far is durable; later writes need not wait for it. */
  seal(): Promise<void>;
}

/** A record read from a stream: its provenance is always known. */
export type StreamLakeRecord = Required<LakeRecord>;

/** The run's lake counts (ProcessorStats), kept up to date as records are handed over. */
export interface LakeCounts {
  lakeRows: number;
  /** Records left out because the lake held them already. */
  lakeSkipped: number;
}

/** Records waiting before `push` waits too (memory bound while the lake writes a buffer out). */
const MAX_WAITING = 100_000;

export class LakeFeed {
  /** Shard → last sequence number the lake holds, for shards not yet read past it. */
  private readonly held: Map<string, string>;
  private readonly queue: GroupQueue<LakeRecord>;

  constructor(
    private readonly sink: EventSink,
    lakeHas: Readonly<Record<string, string>> | undefined,
    private readonly counts: LakeCounts,
  ) {
    this.held = new Map(Object.entries(lakeHas ?? {}));
    this.queue = new GroupQueue((records) => sink.write(records), MAX_WAITING);
  }

  /** Queues one batch of a shard (in the shard's order), leaving out what the lake holds already. */
  async push(shardId: string, records: StreamLakeRecord[]): Promise<void> {
    let fresh = records;
    const held = this.held.get(shardId);
    if (held !== undefined) {
      fresh = records.filter((r) => compareSequenceNumbers(r.seq, held) > 0);
      this.counts.lakeSkipped += records.length - fresh.length;
      // Past the held position, every later record of the shard is too. (Not on a batch with no
      // valid record: that says nothing about where the shard is.)
      if (fresh.length > 0) this.held.delete(shardId);
    }
    if (fresh.length === 0) return;
    await this.queue.push(fresh);
    this.counts.lakeRows += fresh.length;
  }

  /** Resolves once every record pushed so far is written to the lake (not yet durable). */
  written(): Promise<void> {
    return this.queue.written();
  }

  /** Resolves once the lake holds every record pushed so far, durably, with its positions. */
  sealed(): Promise<void> {
    return this.queue.written().then(() => this.sink.seal());
  }
}
