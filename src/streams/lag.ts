/** How far behind each consumer of a stream is, per shard: `storepulse streams` and the dashboard. */
import { SHARD_END, type DurableStream, type ShardStats } from './types.js';

export interface ConsumerLag {
  consumer: string;
  updatedAt: string;
  /** Records not yet processed, summed over shards; null where the backend cannot count (Kinesis). */
  lagRecords: number | null;
  /** The same per shard. */
  shards: { shardId: string; lagRecords: number | null }[];
  shardsDone: number;
}

export interface StreamReport {
  uri: string;
  shards: ShardStats[];
  records: number | null;
  bytes: number | null;
  consumers: ConsumerLag[];
}

/**
 * Records after `position` in a shard. Embedded sequence numbers are consecutive, so the difference
 * counts records; a backend that does not count records (Kinesis) gets null.
 */
function shardLag(shard: ShardStats, position: string | undefined): number | null {
  if (position === SHARD_END) return 0;
  if (shard.records === undefined) return null;
  if (shard.records === 0 || shard.newestSequenceNumber === undefined) return 0;
  if (position === undefined) return shard.records;
  return Math.max(0, Math.min(shard.records, Number(BigInt(shard.newestSequenceNumber) - BigInt(position))));
}

export async function describeStream(uri: string, stream: DurableStream): Promise<StreamReport> {
  const shards = await stream.stats();
  const sum = (f: (s: ShardStats) => number | undefined) =>
    shards.every((s) => f(s) !== undefined) ? shards.reduce((a, s) => a + f(s)!, 0) : null;
  const consumers: ConsumerLag[] = [];
  for (const name of await stream.checkpoints.consumers()) {
    const cp = await stream.checkpoints.load(name);
    // A replay's checkpoint (`simulate:<source>`) belongs to a producer, not a consumer.
    if (!cp || name.startsWith('simulate:')) continue;
    const perShard = shards.map((s) => ({
      shardId: s.shardId,
      lagRecords: shardLag(s, cp.positions[s.shardId]),
    }));
    consumers.push({
      consumer: name,
      updatedAt: new Date(cp.updatedAt).toISOString(),
      lagRecords: perShard.some((s) => s.lagRecords === null)
        ? null
        : perShard.reduce((a, s) => a + s.lagRecords!, 0),
      shards: perShard,
      shardsDone: Object.values(cp.positions).filter((p) => p === SHARD_END).length,
    });
  }
  return { uri, shards, records: sum((s) => s.records), bytes: sum((s) => s.bytes), consumers };
}
