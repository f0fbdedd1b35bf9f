/**
 * The detect handler's work on emulators (kinesis-local, dynalite): a crash after a detector step
 * committed and before its alerts reached stream 2 loses no alert, and redeliveries put none twice.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { detectBatch } from '../../src/aws/lambda/detect-batch.js';
import { StateTable } from '../../src/aws/lambda/state.js';
import { encodeRecord } from '../../src/core/codec.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { type Dynalite, startDynalite } from '../helpers/dynalite.js';
import { ev } from '../helpers/events.js';
import { type KinesisLocal, startKinesisLocal } from '../helpers/kinesis-local.js';
import {
  createStateTable,
  createStream,
  dynamoClient,
  eventsOfStream,
  kinesisClient,
} from '../helpers/lambda-aws.js';

let kinesis: KinesisLocal;
let dynalite: Dynalite;
let kc: KinesisClient;
let dc: DynamoDBClient;

beforeAll(async () => {
  [kinesis, dynalite] = await Promise.all([startKinesisLocal(), startDynalite()]);
  kc = kinesisClient(kinesis.endpoint);
  dc = dynamoClient(dynalite.endpoint);
}, 60_000);

afterAll(async () => {
  kc?.destroy();
  dc?.destroy();
  await Promise.all([kinesis?.stop(), dynalite?.stop()]);
});

it('puts the alerts of a step that crashed after its commit on the retry, once', async () => {
  const arn = await createStream(kc, 's1', 1);
  const arn2 = await createStream(kc, 's2', 1);
  await createStateTable(dc, 'state');
  // 40 views of one user in 8 s: over the user-rate rule's 16 per 10 s.
  const events = Array.from({ length: 40 }, (_, i) => ev(7, i * 200));
  await kc.send(
    new PutRecordsCommand({
      StreamName: 's1',
      Records: events.map((e) => ({ PartitionKey: e.category_id, Data: Buffer.from(encodeRecord(e)) })),
    }),
  );
  const [batch] = [...(await eventsOfStream(kc, 's1', arn, 100)).values()][0]!;
  const state = new StateTable(dc, 'state');
  const ctx = {
    state,
    kinesis: kc,
    alertStream: 's2',
    detect: DEFAULT_CONFIG.detect,
    idleShardMs: 600_000,
    maxRetries: 2,
    now: Date.now,
  };
  const alertsOnStream2 = async () =>
    [...(await eventsOfStream(kc, 's2', arn2, 100)).values()].flat().flatMap((e) => e.Records).length;

  const crashed = await detectBatch(ctx, batch!, {
    afterCommit: () => {
      throw new Error('crash after the commit');
    },
  });
  expect(crashed.batchItemFailures).toEqual([{ itemIdentifier: batch!.Records[0]!.kinesis.sequenceNumber }]);
  expect(crashed.fresh).toBe(40);
  expect(await alertsOnStream2()).toBe(0);
  expect((await state.head())?.alertsPut).toBe(false);

  const retried = await detectBatch(ctx, batch!);
  expect(retried).toMatchObject({ batchItemFailures: [], fresh: 0 });
  const put = await alertsOnStream2();
  expect(put).toBeGreaterThan(0);
  expect((await state.head())?.alertsPut).toBe(true);

  await detectBatch(ctx, batch!);
  expect(await alertsOnStream2()).toBe(put);
}, 60_000);
