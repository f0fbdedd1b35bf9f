/**
 * What the Lambda handler tests and the handler benchmark share: AWS clients for the emulators,
 * streams and tables created there, KPL aggregation (the producer side of src/aws/lambda/records.ts),
 * and Kinesis events built from GetRecords results as the Lambda event source mapping builds them
 * (base64 data, eventID `<shardId>:<sequence number>`, the stream's ARN).
 */
import { createHash } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import protobuf from 'protobufjs';
import { awsClient } from '../../src/aws/sdk.js';
import type { KinesisEvent, KinesisEventRecord } from '../../src/aws/lambda/types.js';

export const CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };
export const REGION = 'us-east-1';

export function kinesisClient(endpoint: string): KinesisClient {
  return awsClient(KinesisClient, { endpoint, region: REGION, credentials: CREDENTIALS });
}

export function dynamoClient(endpoint: string): DynamoDBClient {
  return awsClient(DynamoDBClient, { endpoint, region: REGION, credentials: CREDENTIALS });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function createStream(client: KinesisClient, name: string, shards: number): Promise<string> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  let arn = '';
  await until(async () => {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    arn = s.StreamDescriptionSummary?.StreamARN ?? '';
    return s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  }, `stream ${name}`);
  return arn;
}

/** The detection-state table with the shape the CDK app deploys: pk (S), sk (S). */
export async function createStateTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  await until(
    async () =>
      (await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus === 'ACTIVE',
    `table ${name}`,
  );
}

const Aggregated = protobuf
  .parse(
    `syntax = "proto2";
message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
message Tag { required string key = 1; optional string value = 2; }
message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; required bytes data = 3; repeated Tag tags = 4; }`,
    { keepCase: true },
  )
  .root.lookupType('AggregatedRecord');

/** A KPL-aggregated record of `records`, as the KPL writes it (magic, protobuf, MD5 of the protobuf). */
export function kplAggregate(records: readonly { partitionKey: string; data: string }[]): Buffer {
  const keys = [...new Set(records.map((r) => r.partitionKey))];
  const body = Buffer.from(
    Aggregated.encode(
      Aggregated.fromObject({
        partition_key_table: keys,
        records: records.map((r) => ({
          partition_key_index: keys.indexOf(r.partitionKey),
          data: Buffer.from(r.data),
        })),
      }),
    ).finish(),
  );
  return Buffer.concat([
    Buffer.from([0xf3, 0x89, 0x9a, 0xc2]),
    body,
    createHash('md5').update(body).digest(),
  ]);
}

/**
 * Every record of every shard of a stream, as Lambda would hand them over: one KinesisEvent per
 * GetRecords answer of at most `batchSize` records, per shard in order.
 */
export async function eventsOfStream(
  client: KinesisClient,
  stream: string,
  arn: string,
  batchSize: number,
): Promise<Map<string, KinesisEvent[]>> {
  const out = new Map<string, KinesisEvent[]>();
  const shards = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  for (const shard of shards) {
    const shardId = shard.ShardId!;
    const batches: KinesisEvent[] = [];
    let iterator = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));
      const records = res.Records ?? [];
      if (records.length > 0)
        batches.push({
          Records: records.map((r): KinesisEventRecord => ({
            eventSource: 'aws:kinesis',
            eventSourceARN: arn,
            eventID: `${shardId}:${r.SequenceNumber!}`,
            eventName: 'aws:kinesis:record',
            eventVersion: '1.0',
            awsRegion: REGION,
            kinesis: {
              kinesisSchemaVersion: '1.0',
              partitionKey: r.PartitionKey!,
              sequenceNumber: r.SequenceNumber!,
              data: Buffer.from(r.Data!).toString('base64'),
              approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
            },
          })),
        });
      if (records.length === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
      iterator = res.NextShardIterator;
    }
    out.set(shardId, batches);
  }
  return out;
}
