/**
 * One shard read: GetShardIterator, then a GetRecords loop like the KCL's polling fetcher. Waits
 * `pollMs` after a call that found nothing new; re-acquires an expired iterator (iterators live five
 * minutes) after the last record read; ends when the shard is closed and drained (no
 * NextShardIterator), when caught up if asked, or when the signal aborts.
 */
import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { awsCall, awsErrorCode, type AwsTarget } from '../../aws/sdk.js';
import { StorepulseError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import type { ReadShardOptions, ShardRead, StartPosition, StreamRecord } from '../types.js';

const MAX_GET_RECORDS = 10_000;
/** Expired iterators in a row before giving up (each re-acquire yields a fresh, five-minute one). */
const MAX_EXPIRED_IN_A_ROW = 3;

export interface ReadContext {
  client: KinesisClient;
  streamName: string;
  target: AwsTarget;
  pollMs: number;
}

const decoder = new TextDecoder();

function iteratorRequest(from: StartPosition): {
  ShardIteratorType: ShardIteratorType;
  StartingSequenceNumber?: string;
} {
  switch (from.type) {
    case 'oldest':
      return { ShardIteratorType: 'TRIM_HORIZON' };
    case 'latest':
      return { ShardIteratorType: 'LATEST' };
    case 'at':
      return { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: from.sequenceNumber };
    case 'after':
      return { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: from.sequenceNumber };
  }
}

async function shardIterator(
  ctx: ReadContext,
  shardId: string,
  from: StartPosition,
  signal?: AbortSignal,
): Promise<string> {
  const res = await awsCall(
    ctx.target,
    'GetShardIterator',
    () =>
      ctx.client.send(
        new GetShardIteratorCommand({
          StreamName: ctx.streamName,
          ShardId: shardId,
          ...iteratorRequest(from),
        }),
        { abortSignal: signal },
      ),
    signal,
  );
  if (!res.ShardIterator) {
    throw new StorepulseError(
      'IO',
      `GetShardIterator on Kinesis stream "${ctx.streamName}" returned no iterator`,
    );
  }
  return res.ShardIterator;
}

function toStreamRecord(shardId: string, r: KinesisRecord): StreamRecord {
  return {
    shardId,
    sequenceNumber: r.SequenceNumber ?? '',
    partitionKey: r.PartitionKey ?? '',
    data: r.Data ? decoder.decode(r.Data) : '',
    arrivalTime: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
  };
}

export async function* readKinesisShard(
  ctx: ReadContext,
  shardId: string,
  from: StartPosition,
  opts: ReadShardOptions = {},
): AsyncGenerator<ShardRead> {
  const { signal, untilCaughtUp = false } = opts;
  const limit = opts.limit ?? MAX_GET_RECORDS;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_GET_RECORDS) {
    throw new StorepulseError(
      'USAGE',
      `read limit must be an integer from 1 to ${MAX_GET_RECORDS}, got ${limit}`,
    );
  }
  if (signal?.aborted) return;
  let lastRead: string | undefined;
  let expiredInARow = 0;
  let iterator: string;
  try {
    iterator = await shardIterator(ctx, shardId, from, signal);
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }

  while (!signal?.aborted) {
    let res: GetRecordsCommandOutput;
    try {
      const it = iterator;
      res = await awsCall(
        ctx.target,
        'GetRecords',
        () =>
          ctx.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: limit }), {
            abortSignal: signal,
          }),
        signal,
      );
      expiredInARow = 0;
    } catch (err) {
      if (signal?.aborted) return;
      if (awsErrorCode(err) === 'ExpiredIteratorException' && ++expiredInARow <= MAX_EXPIRED_IN_A_ROW) {
        const resume: StartPosition = lastRead ? { type: 'after', sequenceNumber: lastRead } : from;
        try {
          iterator = await shardIterator(ctx, shardId, resume, signal);
        } catch (again) {
          if (signal?.aborted) return;
          throw again;
        }
        continue;
      }
      throw err;
    }

    const records = (res.Records ?? []).map((r) => toStreamRecord(shardId, r));
    if (records.length > 0) lastRead = records[records.length - 1]!.sequenceNumber;
    const millisBehindLatest = res.MillisBehindLatest;
    if (!res.NextShardIterator) {
      yield {
        records,
        shardEnded: true,
        ...(millisBehindLatest !== undefined ? { millisBehindLatest } : {}),
      };
      return;
    }
    iterator = res.NextShardIterator;
    // Kinesis can answer an empty page while still behind (a gap in the shard): only an empty page at
    // the tip means caught up.
    const caughtUp = records.length === 0 && (millisBehindLatest ?? 0) === 0;
    if (records.length > 0 || !untilCaughtUp) {
      yield { records, ...(millisBehindLatest !== undefined ? { millisBehindLatest } : {}) };
    }
    if (caughtUp) {
      if (untilCaughtUp) return;
      await sleep(ctx.pollMs, signal);
    }
  }
}
