import { describe, expect, it } from 'vitest';
import { evenRanges, shardFor } from '../../src/core/shard.js';
import { MemoryStream } from '../../src/streams/memory/stream.js';
import { shardIdOf, type StreamRecord } from '../../src/streams/types.js';

describe('in-process stream', () => {
  it('puts records on the Kinesis shard of their key and keeps per-shard order', async () => {
    const stream = new MemoryStream({ shards: 4, highWaterMark: 100, maxBatch: 7 });
    const keys = Array.from({ length: 1000 }, (_, i) => String(2053013555631882655n + BigInt(i % 37)));
    const got: StreamRecord[] = [];
    const reading = (async () => {
      for await (const b of stream.batches()) {
        for (const r of b.records) expect(r.shardId).toBe(b.shardId);
        got.push(...b.records);
      }
    })();
    // Small puts against a small high-water mark: the writer must wait for the reader, not fail.
    for (let i = 0; i < keys.length; i += 50) {
      const res = await stream.putRecords(
        keys.slice(i, i + 50).map((k, j) => ({ partitionKey: k, data: String(i + j) })),
      );
      res.forEach((r, j) => expect(r.shardId).toBe(shardIdOf(shardFor(keys[i + j]!, evenRanges(4)))));
    }
    await stream.close();
    await reading;
    expect(got).toHaveLength(1000);
    for (const id of stream.shardIds()) {
      const mine = got.filter((r) => r.shardId === id);
      const seqs = mine.map((r) => BigInt(r.sequenceNumber));
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
      const data = mine.map((r) => Number(r.data));
      expect(data).toEqual([...data].sort((a, b) => a - b));
    }
  });

  it('refuses puts after close and ends readers', async () => {
    const stream = new MemoryStream();
    await stream.close();
    await expect(stream.putRecords([{ partitionKey: 'a', data: 'x' }])).rejects.toThrow(/closed/);
    const batches = [];
    for await (const b of stream.batches()) batches.push(b);
    expect(batches).toEqual([]);
  });
});
