/**
 * The durable stream contract (src/streams/types.ts, docs/streams.md), one suite for every backend:
 * the embedded log on a temp folder, and Kinesis against kinesis-local started here on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evenRanges, shardFor } from '../../src/core/shard.js';
import { openEmbeddedStream } from '../../src/streams/embedded/stream.js';
import { openKinesisStream } from '../../src/streams/kinesis/stream.js';
import { SqliteCheckpointStore } from '../../src/stores/sqlite/checkpoint-store.js';
import { StreamConsumer } from '../../src/streams/consumer.js';
import {
  type DurableStream,
  type PutEntry,
  type ShardRead,
  type StartPosition,
  type StreamRecord,
  compareSequenceNumbers,
  shardIdOf,
} from '../../src/streams/types.js';
import { startKinesisLocal } from '../helpers/kinesis-local.js';

interface Backend {
  name: string;
  /** Opens (creating in write mode) a stream of `shards` shards. */
  open(name: string, shards: number, mode: 'read' | 'write'): Promise<DurableStream>;
  stop(): Promise<void>;
}

const SHARDS = 3;

async function embedded(): Promise<Backend> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-conf-embedded-'));
  return {
    name: 'embedded',
    open: (name, shards, mode) =>
      openEmbeddedStream({ dir: path.join(dir, name), name, mode, shards, durability: 'none', pollMs: 10 }),
    stop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function kinesis(): Promise<Backend> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-conf-kinesis-'));
  const server = await startKinesisLocal();
  process.env.AWS_ACCESS_KEY_ID ??= 'x';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'x';
  return {
    name: 'kinesis',
    open: (name, shards, mode) =>
      openKinesisStream({
        name,
        region: 'us-east-1',
        endpoint: server.endpoint,
        checkpoints: new SqliteCheckpointStore(path.join(dir, 'store.sqlite'), name),
        ...(mode === 'write' ? { createShards: shards } : {}),
        pollMs: 50,
      }),
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records whose keys spread over every shard, with text that must survive byte for byte. */
function entries(n: number, from = 0): PutEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    partitionKey: String(2053013555631882655n + BigInt((from + i) % 37)),
    data: JSON.stringify({ i: from + i, text: 'café, "quoted" ✓\u2028' }),
  }));
}

async function drain(stream: DurableStream, shardId: string, from: StartPosition): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  for await (const read of stream.readShard(shardId, from, { untilCaughtUp: true }))
    out.push(...read.records);
  return out;
}

const indexOf = (r: StreamRecord) => (JSON.parse(r.data) as { i: number }).i;

for (const make of [embedded, kinesis]) {
  describe(`durable stream contract: ${make.name}`, () => {
    let backend: Backend;
    let counter = 0;
    const fresh = () => `conf-${make.name}-${++counter}`;

    beforeAll(async () => {
      backend = await make();
    }, 120_000);
    afterAll(async () => backend?.stop());

    it('says NOT_FOUND when a reader opens a stream no writer created (a reader may wait on it)', async () => {
      await expect(backend.open(fresh(), SHARDS, 'read')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('puts records on the Kinesis shard of their key and returns shard and sequence in input order', async () => {
      const stream = await backend.open(fresh(), SHARDS, 'write');
      try {
        const shards = await stream.listShards();
        const ranges = evenRanges(SHARDS);
        expect(shards.map((s) => s.shardId)).toEqual(ranges.map((_, i) => shardIdOf(i)));
        expect(shards.map((s) => [s.startingHashKey, s.endingHashKey])).toEqual(
          ranges.map((r) => [r.startingHashKey.toString(), r.endingHashKey.toString()]),
        );
        expect(shards.every((s) => !s.closed)).toBe(true);

        const batch = entries(600);
        const results = await stream.putRecords(batch);
        expect(results).toHaveLength(batch.length);
        const lastSeq = new Map<string, string>();
        results.forEach((r, i) => {
          expect(r.shardId).toBe(shardIdOf(shardFor(batch[i]!.partitionKey, ranges)));
          const prev = lastSeq.get(r.shardId);
          if (prev !== undefined) expect(compareSequenceNumbers(r.sequenceNumber, prev)).toBeGreaterThan(0);
          lastSeq.set(r.shardId, r.sequenceNumber);
        });
        expect(lastSeq.size).toBe(SHARDS);
      } finally {
        await stream.close();
      }
    });

    it('reads each shard in order from the oldest, at and after a sequence number, and the latest', async () => {
      const name = fresh();
      const writer = await backend.open(name, SHARDS, 'write');
      const batch = entries(300);
      const results = await writer.putRecords(batch);
      const reader = await backend.open(name, SHARDS, 'read');
      try {
        let total = 0;
        for (let s = 0; s < SHARDS; s++) {
          const shardId = shardIdOf(s);
          const expected = results.flatMap((r, i) => (r.shardId === shardId ? [i] : []));
          const got = await drain(reader, shardId, { type: 'oldest' });
          expect(got.map(indexOf)).toEqual(expected);
          for (const r of got) {
            expect(r.shardId).toBe(shardId);
            expect(r.partitionKey).toBe(batch[indexOf(r)]!.partitionKey);
            expect(r.data).toBe(batch[indexOf(r)]!.data);
            expect(r.sequenceNumber).toBe(results[indexOf(r)]!.sequenceNumber);
            expect(r.arrivalTime).toBeGreaterThan(Date.now() - 600_000);
          }
          total += got.length;
          const mid = got[Math.floor(got.length / 2)]!;
          const at = await drain(reader, shardId, { type: 'at', sequenceNumber: mid.sequenceNumber });
          expect(at[0]!.sequenceNumber).toBe(mid.sequenceNumber);
          expect(at.length).toBe(got.length - Math.floor(got.length / 2));
          const after = await drain(reader, shardId, { type: 'after', sequenceNumber: mid.sequenceNumber });
          expect(after.map((r) => r.sequenceNumber)).toEqual(at.slice(1).map((r) => r.sequenceNumber));
          expect(await drain(reader, shardId, { type: 'latest' })).toEqual([]);
        }
        expect(total).toBe(300);
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    it('hands a waiting reader the records put after it started, until stopped', async () => {
      const name = fresh();
      const writer = await backend.open(name, 1, 'write');
      const reader = await backend.open(name, 1, 'read');
      const stop = new AbortController();
      const got: StreamRecord[] = [];
      // A caught-up reader yields an empty read: from then on its LATEST is fixed, on any machine.
      let caughtUp!: () => void;
      const waiting = new Promise<void>((resolve) => (caughtUp = resolve));
      const reading = (async () => {
        const it = reader.readShard(shardIdOf(0), { type: 'latest' }, { signal: stop.signal });
        for await (const read of it as AsyncIterable<ShardRead>) {
          if (read.records.length === 0) caughtUp();
          got.push(...read.records);
          if (got.length >= 20) stop.abort();
        }
      })();
      try {
        await waiting;
        await writer.putRecords(entries(20));
        await reading;
        expect(got.map(indexOf)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      } finally {
        stop.abort();
        await reader.close();
        await writer.release();
      }
    });

    it('keeps consumer checkpoints: save, replace, list, and read back after reopening', async () => {
      const name = fresh();
      const stream = await backend.open(name, SHARDS, 'write');
      await stream.checkpoints.save('process', {
        positions: { [shardIdOf(0)]: '1' },
        state: '{"a":1}',
        updatedAt: 1,
      });
      await stream.checkpoints.save('process', {
        positions: { [shardIdOf(0)]: '2', [shardIdOf(1)]: 'SHARD_END' },
        state: '{"a":2}',
        updatedAt: 2,
      });
      await stream.checkpoints.save('simulate:/data/x.csv', { positions: {}, updatedAt: 3 });
      await stream.close();
      const again = await backend.open(name, SHARDS, 'read');
      try {
        expect(await again.checkpoints.consumers()).toEqual(['process', 'simulate:/data/x.csv']);
        expect(await again.checkpoints.load('process')).toEqual({
          positions: { [shardIdOf(0)]: '2', [shardIdOf(1)]: 'SHARD_END' },
          state: '{"a":2}',
          updatedAt: 2,
        });
        expect(await again.checkpoints.load('nobody')).toBeUndefined();
      } finally {
        await again.close();
      }
    });

    it('a checkpointed consumer gets every record once, and resumes after its last commit', async () => {
      const name = fresh();
      const writer = await backend.open(name, SHARDS, 'write');
      await writer.putRecords(entries(400));
      const reader = await backend.open(name, SHARDS, 'read');
      try {
        const first = await StreamConsumer.open({ stream: reader, consumer: 'c', untilCaughtUp: true });
        const seen: number[] = [];
        for await (const b of first.batches()) seen.push(...b.records.map(indexOf));
        expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
        await first.commit('{"n":400}');

        await writer.putRecords(entries(50, 400));
        const second = await StreamConsumer.open({ stream: reader, consumer: 'c', untilCaughtUp: true });
        expect(second.restoredState).toBe('{"n":400}');
        const later: number[] = [];
        for await (const b of second.batches()) later.push(...b.records.map(indexOf));
        expect(later.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 400 + i));
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    it('reports its shards in stats', async () => {
      const stream = await backend.open(fresh(), SHARDS, 'write');
      try {
        await stream.putRecords(entries(30));
        const stats = await stream.stats();
        expect(stats.map((s) => s.shardId)).toEqual([0, 1, 2].map(shardIdOf));
        if (stats[0]!.records !== undefined) expect(stats.reduce((a, s) => a + s.records!, 0)).toBe(30);
      } finally {
        await stream.close();
      }
    });
  });
}
