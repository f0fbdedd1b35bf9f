/**
 * Resuming a replay without sending anything twice. A replay's checkpoint holds how many source
 * events were delivered and the stream positions right after them. Records a crashed run put after
 * those positions (acknowledged or not) are read back per shard; the source events that follow are
 * matched against them in order, shard by shard, and only the ones not in the stream are sent. A put
 * that a crash tore (some shards written, others not) is completed the same way.
 */
import { decodeRecord, encodeRecord } from '../core/codec.js';
import type { ClickEvent } from '../core/event.js';
import { isRejection } from '../core/row.js';
import { shardChooser } from '../core/shard.js';
import type { DurableStream, StartPosition, StreamRecord } from '../streams/types.js';
import type { PartitionKeyField } from './simulator.js';
import { keyOf } from './simulator.js';

export interface ResumeTail {
  /** Records found after the checkpoint positions. */
  found: number;
  /**
   * True for a source event that is in the stream already (call once per event, in source order);
   * it then moves `positions` of the event's shard to that record, as if this run had put it.
   */
  alreadySent(e: ClickEvent): boolean;
}

/**
 * `positions`: the last sequence number the replay had acknowledged per shard (updated as events are
 * matched); `emptyAtStart`: shards that held nothing when the replay began (read from the oldest
 * record when they have no position).
 */
export async function readResumeTail(
  stream: DurableStream,
  positions: Record<string, string>,
  emptyAtStart: readonly string[],
  partitionKey: PartitionKeyField,
): Promise<ResumeTail> {
  const shards = await stream.listShards();
  const open = shards.filter((s) => !s.closed);
  const tails = new Map<number, StreamRecord[]>();
  let found = 0;
  for (let i = 0; i < open.length; i++) {
    const id = open[i]!.shardId;
    const seq = positions[id];
    const data: StreamRecord[] = [];
    // Without either, the backend did not say where the shard ended (Kinesis): nothing to match.
    if (seq !== undefined || emptyAtStart.includes(id)) {
      const from: StartPosition =
        seq === undefined ? { type: 'oldest' } : { type: 'after', sequenceNumber: seq };
      for await (const read of stream.readShard(id, from, { untilCaughtUp: true })) {
        data.push(...read.records);
      }
    }
    tails.set(i, data);
    found += data.length;
  }
  const heads = new Map<number, number>();
  const shardOf = shardChooser(
    open.map((s) => ({ startingHashKey: BigInt(s.startingHashKey), endingHashKey: BigInt(s.endingHashKey) })),
  );
  let left = found;
  return {
    found,
    alreadySent(e) {
      if (left === 0) return false;
      const shard = shardOf(keyOf(e, partitionKey));
      const tail = tails.get(shard)!;
      const at = heads.get(shard) ?? 0;
      if (at >= tail.length) return false;
      const record = tail[at]!;
      const rec = decodeRecord(record.data);
      if (isRejection(rec) || rec.txn_timestamp === undefined) return false;
      // The same event sent at another time: equal once stamped with that record's send time.
      if (encodeRecord({ ...e, txn_timestamp: rec.txn_timestamp }) !== record.data) return false;
      heads.set(shard, at + 1);
      positions[record.shardId] = record.sequenceNumber;
      left--;
      return true;
    },
  };
}
