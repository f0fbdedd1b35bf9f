import { describe, expect, it } from 'vitest';
import { LakeFeed, type StreamLakeRecord } from '../../src/pipeline/lake-feed.js';
import type { LakeRecord } from '../../src/lake/schema.js';
import { ev } from '../helpers/events.js';

const A = 'shardId-a';
const B = 'shardId-b';

/** Records of one shard with these sequence numbers. */
const recs = (shard: string, ...seqs: string[]): StreamLakeRecord[] =>
  seqs.map((seq) => ({ event: ev(1, Number(seq)), shard, seq }));

function sink() {
  const log: string[] = [];
  const written: LakeRecord[] = [];
  return {
    log,
    written,
    seqs: () => written.map((r) => `${r.shard}/${r.seq}`),
    write: async (records: LakeRecord[]) => {
      written.push(...records);
      log.push(`write ${records.length}`);
    },
    seal: async () => void log.push('seal'),
  };
}

describe('LakeFeed', () => {
  it('writes every record, in order, and seals after what was pushed before', async () => {
    const s = sink();
    const counts = { lakeRows: 0, lakeSkipped: 0 };
    const feed = new LakeFeed(s, undefined, counts);
    await feed.push(A, recs(A, '1', '2'));
    await feed.push(B, recs(B, '1'));
    await feed.sealed();
    expect(s.seqs()).toEqual([`${A}/1`, `${A}/2`, `${B}/1`]);
    expect(s.log.at(-1)).toBe('seal');
    expect(counts).toEqual({ lakeRows: 3, lakeSkipped: 0 });
  });

  it('leaves out what the lake holds already, per shard, by sequence number', async () => {
    const s = sink();
    const counts = { lakeRows: 0, lakeSkipped: 0 };
    // Sequence numbers compare as numbers written in decimal: 9 is before 10.
    const feed = new LakeFeed(s, { [A]: '10' }, counts);
    await feed.push(A, recs(A, '8', '9', '10', '11'));
    await feed.push(B, recs(B, '3'));
    await feed.push(A, recs(A, '12'));
    await feed.written();
    expect(s.seqs()).toEqual([`${A}/11`, `${B}/3`, `${A}/12`]);
    expect(counts).toEqual({ lakeRows: 3, lakeSkipped: 3 });
  });

  it('keeps checking a shard until a batch reaches past what the lake holds', async () => {
    const s = sink();
    const counts = { lakeRows: 0, lakeSkipped: 0 };
    const feed = new LakeFeed(s, { [A]: '5' }, counts);
    await feed.push(A, recs(A, '1', '2'));
    // A batch whose records all failed to decode says nothing about where the shard is.
    await feed.push(A, []);
    await feed.push(A, recs(A, '4', '5'));
    await feed.push(A, recs(A, '6'));
    await feed.written();
    expect(s.seqs()).toEqual([`${A}/6`]);
    expect(counts).toEqual({ lakeRows: 1, lakeSkipped: 4 });
  });

  it('fails later pushes and the seal when a write failed', async () => {
    const feed = new LakeFeed(
      { write: () => Promise.reject(new Error('disk full')), seal: async () => undefined },
      undefined,
      { lakeRows: 0, lakeSkipped: 0 },
    );
    await feed.push(A, recs(A, '1'));
    await expect(feed.sealed()).rejects.toThrow('disk full');
    await expect(feed.push(A, recs(A, '2'))).rejects.toThrow('disk full');
  });
});
