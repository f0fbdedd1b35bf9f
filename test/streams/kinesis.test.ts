/**
 * The Kinesis backend against kinesis-local (kinesis-mock) started here on loopback. kinesis-mock is a
 * single-threaded Scala.js server and slow at PutRecords on a large shard (about 1 s per 500 records
 * once a shard holds a few thousand), so the 10,000-record stream is filled once and shared; the other
 * cases use small streams of their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  KinesisClient,
  ProvisionedThroughputExceededException,
  ExpiredIteratorException,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evenRanges, hashKey, shardFor } from '../../src/core/shard.js';
import { StorepulseError } from '../../src/core/errors.js';
import { type KinesisStreamOptions, openKinesisStream } from '../../src/streams/kinesis/stream.js';
import {
  compareSequenceNumbers,
  SHARD_END,
  type PutEntry,
  type ReadShardOptions,
  shardIdOf,
  type StartPosition,
  type StreamRecord,
} from '../../src/streams/types.js';
import type { DurableStream, ShardRead } from '../../src/streams/types.js';
import { SqliteCheckpointStore } from '../../src/stores/sqlite/checkpoint-store.js';
import { StreamConsumer } from '../../src/streams/consumer.js';
import { parseStreamUri } from '../../src/streams/uri.js';
import { type KinesisLocal, startKinesisLocal } from '../helpers/kinesis-local.js';
import { freePort } from '../helpers/ports.js';

const CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };
/** 300 category ids, as the reference simulator uses for partition keys. */
const CATEGORIES = Array.from({ length: 300 }, (_, i) => String(2053013555631882655n + BigInt(i) * 7919n));

function entries(n: number, from = 0): PutEntry[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      partitionKey: CATEGORIES[(i * 31) % CATEGORIES.length]!,
      data: JSON.stringify({ i, event_type: 'view', user_id: 500_000_000 + (i % 977), brand: 'café' }),
    };
  });
}

const indexOf = (r: StreamRecord): number => (JSON.parse(r.data) as { i: number }).i;

async function drain(
  stream: DurableStream,
  shardId: string,
  from: StartPosition,
  opts: ReadShardOptions = {},
): Promise<{ records: StreamRecord[]; reads: ShardRead[] }> {
  const reads: ShardRead[] = [];
  for await (const read of stream.readShard(shardId, from, { untilCaughtUp: true, ...opts }))
    reads.push(read);
  return { records: reads.flatMap((r) => r.records), reads };
}

type Send = (command: unknown, options?: unknown) => Promise<unknown>;

/** A real client whose `send` goes through `hook` (which may call the real one, or not). */
function hookedClient(
  endpoint: string,
  hook: (command: unknown, send: Send) => Promise<unknown>,
): KinesisClient {
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  const send = client.send.bind(client) as Send;
  (client as unknown as { send: Send }).send = (command, options) => hook(command, (c) => send(c, options));
  return client;
}

describe('kinesis:// stream URIs', () => {
  const parse = (uri: string) => parseStreamUri(uri, '--to');

  it('reads name, region and endpoint, encoded or not', () => {
    expect(parse('kinesis://ecommerce-raw-user-activity-stream-1')).toEqual({
      kind: 'kinesis',
      name: 'ecommerce-raw-user-activity-stream-1',
    });
    expect(parse('kinesis://My_Stream.1?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A4567')).toEqual({
      kind: 'kinesis',
      name: 'My_Stream.1',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:4567',
    });
    expect(parse('kinesis://s?endpoint=http://127.0.0.1:4567/&region=us-east-1')).toEqual({
      kind: 'kinesis',
      name: 's',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4567/',
    });
  });

  it('refuses what is not a Kinesis stream URI, as a usage error naming the flag', () => {
    for (const bad of [
      'kinesis://',
      'kinesis://s/extra',
      'kinesis://bad name',
      'kinesis://s?shards=4',
      'kinesis://s?endpoint=ftp://x',
      'kinesis://s?endpoint=not a url',
      'kinesis://s?endpoint=',
      'kinesis://s?region=EU West',
      'kinesis://s?region=',
    ]) {
      expect(() => parse(bad), bad).toThrow(StorepulseError);
      expect(() => parse(bad), bad).toThrow(/^--to kinesis:\/\//);
      try {
        parse(bad);
      } catch (err) {
        expect((err as StorepulseError).exitCode, bad).toBe(2);
      }
    }
  });
});

describe('Kinesis endpoint that does not answer as Kinesis', () => {
  /** What opening a stream there fails with (after two retries). */
  async function failure(endpoint: string): Promise<unknown> {
    const checkpoints = new SqliteCheckpointStore(':memory:', 's');
    try {
      await openKinesisStream({
        name: 's',
        region: 'us-east-1',
        endpoint,
        credentials: CREDENTIALS,
        checkpoints,
        maxRetries: 2,
      });
      return undefined;
    } catch (err) {
      return err;
    } finally {
      checkpoints.close();
    }
  }

  it('names the endpoint, the network error code and the retries when nothing listens', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const err = await failure(endpoint);
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).message).toBe(
      `DescribeStreamSummary on Kinesis stream "s" failed after 2 retries: cannot reach ${endpoint} ` +
        `(ECONNREFUSED: connect ECONNREFUSED ${endpoint.slice('http://'.length)})`,
    );
    expect((err as StorepulseError).retryable).toBe(true);
  });

  it('names the endpoint and the HTTP status of an answer that is no AWS answer (a proxy, say)', async () => {
    let requests = 0;
    const proxy = http.createServer((_req, res) => {
      requests++;
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    try {
      expect(((await failure(endpoint)) as Error).message).toBe(
        `DescribeStreamSummary on Kinesis stream "s" failed after 2 retries: ${endpoint} answered HTTP 503, ` +
          'which is no Kinesis answer',
      );
      expect(requests).toBe(3);
    } finally {
      proxy.close();
    }
  });
});

describe('Kinesis stream on kinesis-local', () => {
  let server: KinesisLocal;
  let dir: string;
  let admin: KinesisClient;
  const open = (name: string, more: Partial<KinesisStreamOptions> = {}) =>
    openKinesisStream({
      name,
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: CREDENTIALS,
      checkpoints: new SqliteCheckpointStore(path.join(dir, 'store.sqlite'), name),
      pollMs: 20,
      ...more,
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sp-kinesis-'));
    server = await startKinesisLocal();
    admin = hookedClient(server.endpoint, (c, send) => send(c));
  });
  afterAll(async () => {
    admin?.destroy();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says clearly when the stream does not exist, and creates it when asked', async () => {
    await expect(open('nowhere')).rejects.toThrow(/Kinesis stream "nowhere" does not exist/);
    const stream = await open('nowhere', { createShards: 2 });
    try {
      expect((await stream.listShards()).map((s) => s.shardId)).toEqual([shardIdOf(0), shardIdOf(1)]);
      expect(await stream.stats()).toEqual([
        { shardId: shardIdOf(0), closed: false },
        { shardId: shardIdOf(1), closed: false },
      ]);
    } finally {
      await stream.close();
    }
  });

  describe('a 4-shard stream with 10,000 records', () => {
    let stream: DurableStream;
    const input = entries(10_000);
    let results: Awaited<ReturnType<DurableStream['putRecords']>>;

    beforeAll(async () => {
      stream = await open('clicks', { createShards: 4 });
      results = await stream.putRecords(input);
    }, 60_000);
    afterAll(async () => stream?.close());

    it('has the shards of an even split, so MD5 of the key picks the same shard as core/shard.ts', async () => {
      const shards = await stream.listShards();
      expect(shards.map((s) => s.shardId)).toEqual([0, 1, 2, 3].map(shardIdOf));
      expect(shards.every((s) => !s.closed && s.parentShardId === undefined)).toBe(true);
      // kinesis-mock starts shard i at i * floor((2^128 - 1) / n), core/shard.ts at i * 2^128 / n: the
      // same when n does not divide 2^128 (the conformance suite's 3 shards), up to i lower for 4. Only
      // a key whose MD5 is one of those few boundary values could land elsewhere: none does.
      const even = evenRanges(4);
      shards.forEach((s, i) => {
        expect(even[i]!.startingHashKey - BigInt(s.startingHashKey)).toBe(BigInt(i));
        expect(even[i]!.endingHashKey - BigInt(s.endingHashKey)).toBe(i === 3 ? 0n : BigInt(i + 1));
      });
      const mock = shards.map((s) => ({
        startingHashKey: BigInt(s.startingHashKey),
        endingHashKey: BigInt(s.endingHashKey),
      }));
      for (const key of CATEGORIES) expect(shardFor(key, mock)).toBe(shardFor(key, even));
      expect(new Set(CATEGORIES.map((key) => shardFor(key, even))).size).toBe(4);
    });

    it('returns shard and sequence number of every record in input order, on the shard of its key', () => {
      expect(results).toHaveLength(input.length);
      const even = evenRanges(4);
      const last = new Map<string, string>();
      results.forEach((r, i) => {
        expect(r.shardId).toBe(shardIdOf(shardFor(input[i]!.partitionKey, even)));
        const prev = last.get(r.shardId);
        if (prev !== undefined) expect(compareSequenceNumbers(r.sequenceNumber, prev)).toBeGreaterThan(0);
        last.set(r.shardId, r.sequenceNumber);
      });
      expect(last.size).toBe(4);
    });

    it('reads every record back exactly once, per shard in sequence order', async () => {
      const seen = new Array<number>(input.length).fill(0);
      for (let s = 0; s < 4; s++) {
        const shardId = shardIdOf(s);
        const { records } = await drain(stream, shardId, { type: 'oldest' });
        const expected = results.flatMap((r, i) => (r.shardId === shardId ? [i] : []));
        expect(records.map(indexOf)).toEqual(expected);
        for (let k = 1; k < records.length; k++) {
          expect(compareSequenceNumbers(records[k]!.sequenceNumber, records[k - 1]!.sequenceNumber)).toBe(1);
        }
        for (const r of records) {
          const i = indexOf(r);
          seen[i]!++;
          expect(r.shardId).toBe(shardId);
          expect(r.partitionKey).toBe(input[i]!.partitionKey);
          expect(r.data).toBe(input[i]!.data);
          expect(r.sequenceNumber).toBe(results[i]!.sequenceNumber);
          expect(Math.abs(r.arrivalTime - Date.now())).toBeLessThan(300_000);
        }
      }
      expect(seen.every((n) => n === 1)).toBe(true);
    });

    it('reads at and after a sequence number, in pages of at most `limit`', async () => {
      const shardId = shardIdOf(2);
      const all = (await drain(stream, shardId, { type: 'oldest' })).records;
      const mid = all[Math.floor(all.length / 2)]!;
      const at = await drain(
        stream,
        shardId,
        { type: 'at', sequenceNumber: mid.sequenceNumber },
        { limit: 500 },
      );
      expect(at.records.map((r) => r.sequenceNumber)).toEqual(
        all.slice(Math.floor(all.length / 2)).map((r) => r.sequenceNumber),
      );
      expect(at.reads.length).toBeGreaterThan(1);
      expect(at.reads.every((r) => r.records.length <= 500)).toBe(true);
      const after = await drain(stream, shardId, { type: 'after', sequenceNumber: mid.sequenceNumber });
      expect(after.records.map((r) => r.sequenceNumber)).toEqual(
        at.records.slice(1).map((r) => r.sequenceNumber),
      );
      const lastSeq = all[all.length - 1]!.sequenceNumber;
      expect((await drain(stream, shardId, { type: 'after', sequenceNumber: lastSeq })).records).toEqual([]);
    });

    it('hands a reader from the latest position only what comes later, and stops on abort', async () => {
      const shardId = shardIdOf(1);
      expect((await drain(stream, shardId, { type: 'latest' })).records).toEqual([]);
      const stop = new AbortController();
      const got: StreamRecord[] = [];
      // LATEST is fixed when the iterator is made; the read's first (empty) page says it was made.
      let caughtUp!: () => void;
      const waiting = new Promise<void>((resolve) => (caughtUp = resolve));
      const reading = (async () => {
        for await (const read of stream.readShard(shardId, { type: 'latest' }, { signal: stop.signal })) {
          if (read.records.length === 0) caughtUp();
          got.push(...read.records);
          if (got.length >= 3) stop.abort();
        }
      })();
      await waiting;
      const keys = CATEGORIES.filter((k) => shardFor(k, evenRanges(4)) === 1).slice(0, 3);
      const later = keys.map((partitionKey, n) => ({
        partitionKey,
        data: JSON.stringify({ i: 20_000 + n }),
      }));
      await stream.putRecords(later);
      await reading;
      expect(got.map(indexOf)).toEqual([20_000, 20_001, 20_002]);
    });
  });

  it('after a split, the parent ends with shardEnded and its children hold the later records', async () => {
    const stream = await open('resharded', { createShards: 2 });
    try {
      const before = entries(200);
      await stream.putRecords(before);
      const [parent] = await stream.listShards();
      const midpoint = (BigInt(parent!.startingHashKey) + BigInt(parent!.endingHashKey) + 1n) / 2n;
      await admin.send(
        new SplitShardCommand({
          StreamName: 'resharded',
          ShardToSplit: parent!.shardId,
          NewStartingHashKey: midpoint.toString(),
        }),
      );
      for (let status = ''; status !== 'ACTIVE'; await new Promise((r) => setTimeout(r, 20))) {
        const res = await admin.send(new DescribeStreamSummaryCommand({ StreamName: 'resharded' }));
        status = res.StreamDescriptionSummary?.StreamStatus ?? '';
      }
      const after = entries(200, 1000);
      const afterResults = await stream.putRecords(after);

      const shards = await stream.listShards();
      const children = shards.filter((s) => s.parentShardId === parent!.shardId);
      expect(children.map((c) => c.shardId)).toEqual([shardIdOf(2), shardIdOf(3)]);
      expect(shards.find((s) => s.shardId === parent!.shardId)!.closed).toBe(true);
      expect(shards.filter((s) => !s.closed)).toHaveLength(3);
      expect(children.map((c) => [c.startingHashKey, c.endingHashKey])).toEqual([
        [parent!.startingHashKey, (midpoint - 1n).toString()],
        [midpoint.toString(), parent!.endingHashKey],
      ]);
      expect((await stream.stats()).filter((s) => s.closed).map((s) => s.shardId)).toEqual([parent!.shardId]);

      const fromParent = await drain(stream, parent!.shardId, { type: 'oldest' });
      expect(fromParent.reads.at(-1)!.shardEnded).toBe(true);
      expect(fromParent.reads.slice(0, -1).every((r) => !r.shardEnded)).toBe(true);
      const parentKeys = before.filter((e) => shardFor(e.partitionKey, evenRanges(2)) === 0);
      expect(fromParent.records.map((r) => r.partitionKey)).toEqual(parentKeys.map((e) => e.partitionKey));

      // The parent, read to its end again from its last record, ends at once.
      const last = fromParent.records.at(-1)!.sequenceNumber;
      const again = await drain(stream, parent!.shardId, { type: 'after', sequenceNumber: last });
      expect(again.reads).toEqual([{ records: [], shardEnded: true, millisBehindLatest: 0 }]);

      for (const child of children) {
        const { records, reads } = await drain(stream, child.shardId, { type: 'oldest' });
        expect(reads.some((r) => r.shardEnded)).toBe(false);
        const lo = BigInt(child.startingHashKey);
        const hi = BigInt(child.endingHashKey);
        const expected = after.flatMap((e, i) => {
          const h = hashKey(e.partitionKey);
          return h >= lo && h <= hi ? [1000 + i] : [];
        });
        expect(records.map(indexOf)).toEqual(expected);
        expect(expected.length).toBeGreaterThan(0);
      }
      const onChildren = afterResults.filter((r) => children.some((c) => c.shardId === r.shardId)).length;
      const onParent = afterResults.filter((r) => r.shardId === parent!.shardId).length;
      expect(onParent).toBe(0);
      expect(onChildren).toBe(after.filter((e) => shardFor(e.partitionKey, evenRanges(2)) === 0).length);
    } finally {
      await stream.close();
    }
  });

  it('a checkpointed consumer follows a split mid-run: every record once, parents before children', async () => {
    const stream = await open('consumed-while-split', { createShards: 2 });
    try {
      const consumer = await StreamConsumer.open({
        stream,
        consumer: 'c',
        idleExitMs: 2500,
        shardPollMs: 200,
      });
      const got: StreamRecord[] = [];
      const reading = (async () => {
        for await (const b of consumer.batches()) got.push(...b.records);
      })();
      await stream.putRecords(entries(300));
      const [parent] = await stream.listShards();
      const midpoint = (BigInt(parent!.startingHashKey) + BigInt(parent!.endingHashKey) + 1n) / 2n;
      await admin.send(
        new SplitShardCommand({
          StreamName: 'consumed-while-split',
          ShardToSplit: parent!.shardId,
          NewStartingHashKey: midpoint.toString(),
        }),
      );
      for (let status = ''; status !== 'ACTIVE'; await new Promise((r) => setTimeout(r, 20))) {
        const res = await admin.send(
          new DescribeStreamSummaryCommand({ StreamName: 'consumed-while-split' }),
        );
        status = res.StreamDescriptionSummary?.StreamStatus ?? '';
      }
      await stream.putRecords(entries(300, 300));
      await reading;

      expect(got.map(indexOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i));
      // Per partition key, records come in the order they were put, across the split.
      const lastByKey = new Map<string, number>();
      for (const r of got) {
        expect(indexOf(r)).toBeGreaterThan(lastByKey.get(r.partitionKey) ?? -1);
        lastByKey.set(r.partitionKey, indexOf(r));
      }
      expect(got.some((r) => r.shardId === shardIdOf(2) || r.shardId === shardIdOf(3))).toBe(true);
      await consumer.commit();
      const saved = await stream.checkpoints.load('c');
      expect(saved!.positions[parent!.shardId]).toBe(SHARD_END);
    } finally {
      await stream.close();
    }
  });

  it('splits a put into PutRecords calls of at most 500 records and 5 MiB', async () => {
    const calls: number[] = [];
    const client = hookedClient(server.endpoint, (command, send) => {
      if (command instanceof PutRecordsCommand) calls.push(command.input.Records!.length);
      return send(command);
    });
    const stream = await open('limits', { createShards: 1, client });
    try {
      const many = await stream.putRecords(entries(1201));
      expect(calls).toEqual([500, 500, 201]);
      expect(new Set(many.map((r) => r.sequenceNumber)).size).toBe(1201);

      calls.length = 0;
      // 7 records of 900,000 bytes (+ key): five fit in 5 MiB (5,242,880 bytes), the sixth does not.
      const big = Array.from({ length: 7 }, (_, i) => ({
        partitionKey: `big-${i}`,
        data: 'x'.repeat(900_000),
      }));
      const bigResults = await stream.putRecords(big);
      expect(calls).toEqual([5, 2]);
      expect(bigResults.every((r) => r.shardId === shardIdOf(0))).toBe(true);

      calls.length = 0;
      const tooBig = [
        { partitionKey: 'ok', data: 'y' },
        { partitionKey: 'k', data: 'z'.repeat(1024 * 1024) },
      ];
      await expect(stream.putRecords(tooBig)).rejects.toThrow(/record 1 .*1 MiB/);
      await expect(stream.putRecords([{ partitionKey: '', data: 'y' }])).rejects.toThrow(
        /partition key is empty/,
      );
      expect(calls).toEqual([]);
    } finally {
      await stream.close();
      client.destroy();
    }
  });

  it('retries only the entries that failed, and the results stay in input order', async () => {
    // kinesis-mock never throttles (it has no per-shard throughput limit), so this wrapper makes the
    // first PutRecords behave like a partly throttled one: it sends only the even entries for real and
    // answers ProvisionedThroughputExceededException for the odd ones, which were not written.
    const sent: string[][] = [];
    const client = hookedClient(server.endpoint, async (command, send) => {
      if (!(command instanceof PutRecordsCommand)) return send(command);
      const records = command.input.Records!;
      sent.push(records.map((r) => r.PartitionKey!));
      if (sent.length > 1) return send(command);
      const even = records.filter((_, i) => i % 2 === 0);
      const res = (await send(
        new PutRecordsCommand({ ...command.input, Records: even }),
      )) as PutRecordsCommandOutput;
      return {
        ...res,
        FailedRecordCount: records.length - even.length,
        Records: records.map((_, i) =>
          i % 2 === 0
            ? res.Records![i / 2]
            : {
                ErrorCode: 'ProvisionedThroughputExceededException',
                ErrorMessage: 'Rate exceeded (injected)',
              },
        ),
      };
    });
    const stream = await open('partial', { createShards: 2, client });
    try {
      const input = entries(40).map((e, i) => ({ ...e, partitionKey: `user-${i}` }));
      const results = await stream.putRecords(input);
      expect(sent).toHaveLength(2);
      expect(sent[1]).toEqual(input.filter((_, i) => i % 2 === 1).map((e) => e.partitionKey));
      const read = new Map<number, StreamRecord>();
      for (const { shardId } of await stream.listShards()) {
        for (const r of (await drain(stream, shardId, { type: 'oldest' })).records) {
          expect(read.has(indexOf(r))).toBe(false);
          read.set(indexOf(r), r);
        }
      }
      expect(read.size).toBe(40);
      results.forEach((res, i) => {
        expect(res.sequenceNumber).toBe(read.get(i)!.sequenceNumber);
        expect(res.shardId).toBe(read.get(i)!.shardId);
      });
    } finally {
      await stream.close();
      client.destroy();
    }
  });

  it('fails a put at once on a per-record code that no retry fixes, naming the record', async () => {
    let puts = 0;
    const client = hookedClient(server.endpoint, async (command, send) => {
      if (!(command instanceof PutRecordsCommand)) return send(command);
      puts++;
      const records = command.input.Records!;
      return {
        FailedRecordCount: 1,
        Records: records.map((_, i) =>
          i === 1
            ? { ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'no key for you (injected)' }
            : { ShardId: shardIdOf(0), SequenceNumber: String(1000 + i) },
        ),
        $metadata: {},
      } satisfies PutRecordsCommandOutput;
    });
    const stream = await open('refused', { createShards: 1, client });
    try {
      await expect(stream.putRecords(entries(3))).rejects.toThrow(
        'PutRecords on Kinesis stream "refused" failed: KMSAccessDeniedException: record 1 was refused ' +
          '(no key for you (injected))',
      );
      expect(puts).toBe(1);
    } finally {
      await stream.close();
      client.destroy();
    }
  });

  it('retries throttled calls with backoff and gives up after maxRetries, naming the error', async () => {
    // Injected for the same reason: the emulator cannot be made to throttle a whole call.
    let throttle = 1;
    let putCalls = 0;
    const client = hookedClient(server.endpoint, (command, send) => {
      if (!(command instanceof PutRecordsCommand)) return send(command);
      putCalls++;
      if (throttle-- > 0) {
        return Promise.reject(
          new ProvisionedThroughputExceededException({ message: 'Rate exceeded (injected)', $metadata: {} }),
        );
      }
      return send(command);
    });
    const stream = await open('throttled', { createShards: 1, client, maxRetries: 3 });
    try {
      expect(await stream.putRecords(entries(3))).toHaveLength(3);
      expect(putCalls).toBe(2);
      throttle = Infinity;
      putCalls = 0;
      await expect(stream.putRecords(entries(3))).rejects.toThrow(
        /PutRecords .* failed after 3 retries: ProvisionedThroughputExceededException/,
      );
      expect(putCalls).toBe(4);
    } finally {
      await stream.close();
      client.destroy();
    }
  });

  it('re-acquires an expired iterator after the last record read', async () => {
    // Iterators expire after five minutes; the wrapper expires one GetRecords after the first page.
    let getRecords = 0;
    let expireAt = 2;
    const client = hookedClient(server.endpoint, (command, send) => {
      if (command instanceof GetRecordsCommand && ++getRecords === expireAt) {
        return Promise.reject(
          new ExpiredIteratorException({ message: 'Iterator expired (injected)', $metadata: {} }),
        );
      }
      return send(command);
    });
    const stream = await open('expiring', { createShards: 1, client });
    try {
      await stream.putRecords(entries(30));
      const { records } = await drain(stream, shardIdOf(0), { type: 'oldest' }, { limit: 10 });
      expect(records.map(indexOf)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(getRecords).toBeGreaterThan(expireAt);
      getRecords = 0;
      expireAt = 1;
      expect((await drain(stream, shardIdOf(0), { type: 'oldest' })).records).toHaveLength(30);
    } finally {
      await stream.close();
      client.destroy();
    }
  });

  it('keeps consumer checkpoints in the injected store, which it closes with the stream', async () => {
    const store = new SqliteCheckpointStore(path.join(dir, 'store.sqlite'), 'nowhere');
    const stream = await open('nowhere', { checkpoints: store });
    expect(stream.checkpoints).toBe(store);
    await stream.checkpoints.save('process', {
      positions: { [shardIdOf(0)]: '42' },
      state: 's',
      updatedAt: 7,
    });
    await stream.release();
    const again = await open('nowhere');
    try {
      expect(await again.checkpoints.load('process')).toEqual({
        positions: { [shardIdOf(0)]: '42' },
        state: 's',
        updatedAt: 7,
      });
      expect(await again.checkpoints.consumers()).toEqual(['process']);
    } finally {
      await again.close();
    }
  });
});
