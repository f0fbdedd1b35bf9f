/**
 * The handlers end to end on emulators (kinesis-local, dynalite, fauxqs on loopback): generated
 * traffic with attacks goes to stream 1 (4 shards, keyed by category_id, some of it KPL-aggregated,
 * producer-retry duplicates and bad records among it); Kinesis events are built from GetRecords as the
 * event source mapping builds them; the shards' batches run through the detect handler in concurrent
 * invocations (one at a time per shard, as Lambda does) with retried, bisected and partially failed
 * deliveries; then stream 2 through the actions handler, also with duplicates and concurrency. The
 * alerts stored must equal the alerts the real processor (`storepulse process`'s runProcessor) fires
 * on the same records, and no alert may be published twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionsContext, actBatch } from '../../src/aws/lambda/actions-batch.js';
import { detectBatch, drainDetector } from '../../src/aws/lambda/detect-batch.js';
import type { StepContext } from '../../src/aws/lambda/detector-step.js';
import { openRecords } from '../../src/aws/lambda/records.js';
import { StateTable } from '../../src/aws/lambda/state.js';
import type { KinesisEvent } from '../../src/aws/lambda/types.js';
import type { Alert } from '../../src/core/alert.js';
import { encodeRecord } from '../../src/core/codec.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { SnsNotifier } from '../../src/notify/sns/notifier.js';
import { runProcessor } from '../../src/pipeline/processor.js';
import { generateEvents } from '../../src/sources/synthetic/generator.js';
import { DynamoAlertStore } from '../../src/stores/dynamodb/alert-store.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import type { ShardBatch, StreamReader, StreamRecord } from '../../src/streams/types.js';
import { type Dynalite, startDynalite } from '../helpers/dynalite.js';
import { type KinesisLocal, startKinesisLocal } from '../helpers/kinesis-local.js';
import {
  createStateTable,
  createStream,
  CREDENTIALS,
  dynamoClient,
  eventsOfStream,
  kinesisClient,
  kplAggregate,
  REGION,
} from '../helpers/lambda-aws.js';
import { type SnsEmulator, startSnsEmulator } from '../helpers/sns.js';

const STREAM_1 = 'ecommerce-raw-user-activity-stream-1';
const STREAM_2 = 'ecommerce-raw-user-activity-stream-2';
const STATE = 'storepulse-detect-state';
const EVENTS = 6000;
const BATCH = 400;

let kinesis: KinesisLocal;
let dynalite: Dynalite;
let sns: SnsEmulator;
let kc: KinesisClient;
let dc: DynamoDBClient;
let dir: string;

beforeAll(async () => {
  [kinesis, dynalite, sns] = await Promise.all([startKinesisLocal(), startDynalite(), startSnsEmulator()]);
  kc = kinesisClient(kinesis.endpoint);
  dc = dynamoClient(dynalite.endpoint);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sp-lambda-e2e-'));
}, 60_000);

afterAll(async () => {
  kc?.destroy();
  dc?.destroy();
  await Promise.all([kinesis?.stop(), dynalite?.stop(), sns?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The fields that say what an alert is; `detected_at` is the wall clock and differs by design. */
function essence(a: Alert) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    key_type: a.key_type,
    key: a.key,
    user_id: a.user_id,
    window_start: a.window_start,
    window_end: a.window_end,
    count: a.count,
    detected_event_time: a.detected_event_time,
  };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Stream 1 as a StreamReader over the same user records, for the processor: shards interleaved. */
function readerOf(records: Map<string, StreamRecord[]>, size = BATCH): StreamReader {
  return {
    name: STREAM_1,
    shardIds: () => [...records.keys()],
    async *batches() {
      const at = new Map([...records.keys()].map((k) => [k, 0]));
      for (let more = true; more;) {
        more = false;
        for (const [shardId, list] of records) {
          const i = at.get(shardId)!;
          if (i >= list.length) continue;
          more = true;
          at.set(shardId, i + size);
          yield { shardId, records: list.slice(i, i + size) } satisfies ShardBatch;
        }
      }
    },
  };
}

/** Lambda's delivery of one shard's batches, one at a time, with the faults the test injects. */
async function deliver(
  batches: readonly KinesisEvent[],
  invoke: (
    e: KinesisEvent,
    fault?: 'append' | 'commit',
  ) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>,
  faults: Map<number, 'retry' | 'bisect' | 'partial' | 'commit'>,
): Promise<void> {
  for (const [i, batch] of batches.entries()) {
    const fault = faults.get(i);
    if (fault === 'bisect') {
      // The function failed on the whole batch; Lambda splits it and delivers the halves.
      await invoke(batch, 'append');
      const half = batch.Records.length >> 1;
      await invoke({ Records: batch.Records.slice(0, half) });
      await invoke({ Records: batch.Records.slice(half) });
      continue;
    }
    let res = await invoke(batch, fault === 'partial' ? 'append' : fault === 'commit' ? 'commit' : undefined);
    // ReportBatchItemFailures: Lambda delivers again from the lowest sequence number reported.
    while (res.batchItemFailures.length > 0) {
      const from = batch.Records.findIndex(
        (r) => r.kinesis.sequenceNumber === res.batchItemFailures[0]!.itemIdentifier,
      );
      res = await invoke({ Records: batch.Records.slice(from) });
    }
    if (fault === 'retry') await invoke(batch);
  }
}

class Injected extends Error {}

describe('Lambda handlers on emulators', () => {
  it('store the alerts storepulse process fires on the same records, each notified once', async () => {
    // ---- stream 1: generated traffic with attacks, some KPL-aggregated, duplicates, bad records ----
    const arn1 = await createStream(kc, STREAM_1, 4);
    const arn2 = await createStream(kc, STREAM_2, 2);
    await createStateTable(dc, STATE);
    const events = [
      ...generateEvents({
        events: EVENTS,
        seed: 17,
        attacks: ['ddos-burst', 'scraper', 'cart-bot', 'item-flood'],
      }),
    ];
    const entries: { PartitionKey: string; Data: Uint8Array }[] = events.map((e) => ({
      PartitionKey: e.category_id,
      Data: Buffer.from(encodeRecord(e)),
    }));
    // A producer retry: the same records put twice.
    const at = (f: number) => Math.floor(entries.length * f);
    entries.splice(at(0.2), 0, ...entries.slice(at(0.2) - 100, at(0.2) - 50));
    // A KPL-aggregated record of 60 user records (it lands on its first key's shard).
    const agg = entries.splice(at(0.35), 60);
    entries.splice(at(0.35), 0, {
      PartitionKey: agg[0]!.PartitionKey,
      Data: kplAggregate(
        agg.map((x) => ({ partitionKey: x.PartitionKey, data: Buffer.from(x.Data).toString() })),
      ),
    });
    // Bad records: not JSON, and an aggregated record whose MD5 does not match.
    const broken = kplAggregate([{ partitionKey: 'k', data: '{}' }]);
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 0xff;
    entries.splice(
      at(0.5),
      0,
      { PartitionKey: 'bad', Data: Buffer.from('not json') },
      { PartitionKey: 'bad2', Data: broken },
    );
    for (let i = 0; i < entries.length; i += 500)
      await kc.send(new PutRecordsCommand({ StreamName: STREAM_1, Records: entries.slice(i, i + 500) }));

    const byShard = await eventsOfStream(kc, STREAM_1, arn1, BATCH);
    expect(byShard.size).toBe(4);

    // ---- the processor, on the same user records in the same shards ----
    const userRecords = new Map<string, StreamRecord[]>();
    for (const [shardId, batches] of byShard) {
      const opened = openRecords(batches.flatMap((b) => b.Records));
      userRecords.set(
        shardId,
        opened.records.map((r) => ({
          shardId,
          sequenceNumber: r.sequenceNumber,
          partitionKey: r.partitionKey,
          data: r.data,
          arrivalTime: 0,
        })),
      );
    }
    const local = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'));
    const processed = await runProcessor({
      reader: readerOf(userRecords),
      detect: DEFAULT_CONFIG.detect,
      store: local,
    });
    const expected = (await local.list({ limit: 100_000 })).sort(byId);
    await local.close();
    expect(processed.rejected).toBe(1);
    // The KPL-aggregated record's 60 user records are in.
    expect([...userRecords.values()].reduce((n, l) => n + l.length, 0)).toBe(entries.length - 2 + 60);
    expect(expected.length).toBeGreaterThan(5);
    expect(new Set(expected.map((a) => a.severity))).toContain('high');

    // ---- detect: every shard in its own concurrent invocation chain, with faults ----
    const state = new StateTable(dc, STATE);
    const ctx: StepContext = {
      state,
      kinesis: kc,
      alertStream: STREAM_2,
      detect: DEFAULT_CONFIG.detect,
      // Longer than the test: no shard counts as idle, as none does in the processor's run.
      idleShardMs: 600_000,
      maxRetries: 8,
      now: Date.now,
    };
    let fresh = 0;
    let deadLetters = 0;
    const invokeDetect = async (e: KinesisEvent, fault?: 'append' | 'commit') => {
      const hooks = {
        afterAppend:
          fault === 'append'
            ? () => {
                throw new Injected('crash after the chunk');
              }
            : undefined,
        afterCommit:
          fault === 'commit'
            ? () => {
                throw new Injected('crash after the commit');
              }
            : undefined,
      };
      const r = await detectBatch(ctx, e, hooks);
      fresh += r.fresh;
      deadLetters += r.deadLetters;
      return r;
    };
    const shards = [...byShard.keys()];
    const faults = [
      new Map([
        [1, 'retry' as const],
        [4, 'commit' as const],
      ]),
      new Map([[2, 'bisect' as const]]),
      new Map([
        [3, 'partial' as const],
        [5, 'retry' as const],
      ]),
      new Map([
        [0, 'commit' as const],
        [2, 'bisect' as const],
      ]),
    ];
    await Promise.all(shards.map((id, i) => deliver(byShard.get(id)!, invokeDetect, faults[i]!)));
    await drainDetector(ctx);

    // Each user record applied once, whatever the deliveries: the valid ones plus the one bad JSON.
    const userTotal = [...userRecords.values()].reduce((n, l) => n + l.length, 0);
    expect(fresh).toBe(userTotal);
    const letters = (await Promise.all(shards.map((s) => state.deadLetters(s)))).flat();
    expect(letters.map((l) => l.reason.split(':')[0]).sort()).toEqual([
      'KPL aggregated record',
      'field_count',
    ]);
    expect(deadLetters).toBe(2);

    // ---- actions: stream 2, with a duplicate delivery and two racing invocations ----
    const store = new DynamoAlertStore({
      table: 'ddb-ecommerce-tab-1',
      endpoint: dynalite.endpoint,
      region: REGION,
      credentials: CREDENTIALS,
      createTable: true,
    });
    const notifier = new SnsNotifier({ endpoint: sns.endpoint, region: REGION, credentials: CREDENTIALS });
    const actx: ActionsContext = { store, notifier, state, leaseMs: 60_000, now: Date.now };
    const alertBatches = await eventsOfStream(kc, STREAM_2, arn2, 50);
    await Promise.all(
      [...alertBatches.values()].map(async (batches) => {
        for (const [i, b] of batches.entries()) {
          // Two invocations of the same batch at once, then Lambda's retry of it.
          const runs = i === 0 ? [actBatch(actx, b), actBatch(actx, b)] : [actBatch(actx, b)];
          for (let res of await Promise.all(runs)) {
            while (res.batchItemFailures.length > 0) {
              const from = b.Records.findIndex(
                (r) => r.kinesis.sequenceNumber === res.batchItemFailures[0]!.itemIdentifier,
              );
              res = await actBatch(actx, { Records: b.Records.slice(from) });
            }
          }
          if (i === 1) await actBatch(actx, b);
        }
      }),
    );

    const stored = (await store.list({ limit: 100_000 })).sort(byId);
    // The same things alerted on, rule by rule and key by key.
    const subjects = (list: Alert[]) => list.map((a) => `${a.rule} ${a.key_type} ${a.key}`).sort();
    expect(subjects(stored)).toEqual(subjects(expected));
    // And nearly all of them to the field. The rest differ where the detector's early firing depends
    // on the order in which one key's events from several shards are applied (a session's rate
    // crossing seen at another of its events, a surge count one off): `storepulse process` on these
    // records in batches of 97 instead of 400 differs the same way (docs/aws-handlers.md).
    const same = stored.filter((a) =>
      expected.some((b) => JSON.stringify(essence(a)) === JSON.stringify(essence(b))),
    );
    expect(same.length).toBeGreaterThanOrEqual(Math.ceil(expected.length * 0.8));
    expect(new Set(stored.map((a) => a.id)).size).toBe(stored.length);

    const published = sns.published().map((m) => m.attributes.delivery_id);
    expect(new Set(published).size).toBe(published.length);
    expect(published.sort()).toEqual(
      stored
        .filter((a) => a.severity === 'high')
        .map((a) => `${a.id}:sns`)
        .sort(),
    );
    expect(published.length).toBeGreaterThan(0);
    await store.close();
    await notifier.close();
  }, 120_000);
});
