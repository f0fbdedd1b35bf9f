/**
 * The Lambda handlers' throughput per invocation and their AWS calls (the cost), against
 * `storepulse process` (runProcessor) on the same records in the same run: a 10,000-record batch of
 * one shard of stream 1 (generated traffic with attacks) through the detect handler's work
 * (detectBatch: chunk write, one detector step, alerts to stream 2), first on an empty state table,
 * then a second batch on the state the first left. DynamoDB and Kinesis calls are counted by SDK
 * middleware. The emulators (dynalite, kinesis-local on loopback) are in the figures: their latency
 * is not AWS's (a DynamoDB item write is ~5-10 ms there, against single-digit ms on AWS).
 *
 *   npm run build --silent && node dist/bench/aws-handlers.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { detectBatch } from '../src/aws/lambda/detect-batch.js';
import { openRecords } from '../src/aws/lambda/records.js';
import { StateTable } from '../src/aws/lambda/state.js';
import { encodeRecord } from '../src/core/codec.js';
import { DEFAULT_CONFIG } from '../src/core/config.js';
import { runProcessor } from '../src/pipeline/processor.js';
import { generateEvents } from '../src/sources/synthetic/generator.js';
import { SqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import type { StreamReader } from '../src/streams/types.js';
import { startDynalite } from '../test/helpers/dynalite.js';
import { startKinesisLocal } from '../test/helpers/kinesis-local.js';
import {
  createStateTable,
  createStream,
  dynamoClient,
  eventsOfStream,
  kinesisClient,
} from '../test/helpers/lambda-aws.js';

const BATCH = 10_000;
const BATCHES = 2;

type Counted = { middlewareStack: { add(mw: unknown, opts: { step: 'initialize'; name: string }): void } };

/** Counts every command a client sends, by name. */
function countCalls(client: Counted, counts: Map<string, number>): void {
  client.middlewareStack.add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const name = context.commandName ?? '?';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCalls' },
  );
}

async function main(): Promise<void> {
  const [kinesis, dynalite] = await Promise.all([startKinesisLocal(), startDynalite()]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-bench-aws-'));
  const kc = kinesisClient(kinesis.endpoint);
  const dc = dynamoClient(dynalite.endpoint);
  try {
    const arn = await createStream(kc, 'ecommerce-raw-user-activity-stream-1', 1);
    await createStream(kc, 'ecommerce-raw-user-activity-stream-2', 1);
    await createStateTable(dc, 'storepulse-detect-state');
    const events = [
      ...generateEvents({ events: BATCH * BATCHES, seed: 5, attacks: ['ddos-burst', 'scraper', 'cart-bot'] }),
    ];
    for (let i = 0; i < events.length; i += 500)
      await kc.send(
        new PutRecordsCommand({
          StreamName: 'ecommerce-raw-user-activity-stream-1',
          Records: events
            .slice(i, i + 500)
            .map((e) => ({ PartitionKey: e.category_id, Data: Buffer.from(encodeRecord(e)) })),
        }),
      );
    const [batches] = [
      ...(await eventsOfStream(kc, 'ecommerce-raw-user-activity-stream-1', arn, BATCH)).values(),
    ];

    const counts = new Map<string, number>();
    countCalls(kc as unknown as Counted, counts);
    countCalls(dc as unknown as Counted, counts);
    const ctx = {
      state: new StateTable(dc, 'storepulse-detect-state'),
      kinesis: kc,
      alertStream: 'ecommerce-raw-user-activity-stream-2',
      detect: DEFAULT_CONFIG.detect,
      idleShardMs: 600_000,
      maxRetries: 8,
      now: Date.now,
    };
    const handlerRates: number[] = [];
    for (const [i, batch] of batches!.entries()) {
      counts.clear();
      const t = performance.now();
      const r = await detectBatch(ctx, batch);
      const s = (performance.now() - t) / 1000;
      if (r.batchItemFailures.length > 0) throw new Error('the batch failed');
      handlerRates.push(batch.Records.length / s);
      const calls = [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      console.log(
        `detect invocation ${i + 1}: ${batch.Records.length} records in ${s.toFixed(2)} s = ${Math.round(batch.Records.length / s)} events/s; ` +
          `calls: ${calls} (${((total * 1000) / batch.Records.length).toFixed(2)} per 1,000 events)`,
      );
    }

    // storepulse process on the same records, one shard, batches of the same size.
    const records = openRecords(batches!.flatMap((b) => b.Records)).records.map((r) => ({
      ...r,
      arrivalTime: 0,
    }));
    const reader: StreamReader = {
      name: 'stream-1',
      shardIds: () => ['shardId-000000000000'],
      async *batches() {
        for (let i = 0; i < records.length; i += BATCH)
          yield { shardId: 'shardId-000000000000', records: records.slice(i, i + BATCH) };
      },
    };
    const store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'));
    const t = performance.now();
    await runProcessor({ reader, detect: DEFAULT_CONFIG.detect, store });
    const processRate = records.length / ((performance.now() - t) / 1000);
    await store.close();
    const steady = handlerRates[handlerRates.length - 1]!;
    console.log(`storepulse process (runProcessor, SQLite store): ${Math.round(processRate)} events/s`);
    console.log(
      `ratio handler (invocation ${handlerRates.length}) / process: ${(steady / processRate).toFixed(3)}`,
    );
  } finally {
    kc.destroy();
    dc.destroy();
    await Promise.all([kinesis.stop(), dynalite.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
