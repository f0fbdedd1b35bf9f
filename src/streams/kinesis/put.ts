/**
 * PutRecords within the API limits, retrying only the entries that failed.
 *
 * Limits (Kinesis Data Streams quotas): at most 500 records and 5 MiB per request, counting each
 * record's data and partition key bytes; at most 1 MiB per record (counted the same way, which is the
 * conservative reading); partition keys of 1 to 256 Unicode characters.
 *
 * Order: requests go out one after another, in input order. Kinesis itself does not keep order across
 * a partial failure: a retried entry lands after entries of the same request that succeeded, exactly
 * as with the KPL or the AWS CLI. Results still come back in input order.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { StorepulseError } from '../../core/errors.js';
import type { PutEntry, PutResult } from '../types.js';
import { backoffMs, isRetriable, kinesisError, RETRIABLE_ENTRY_CODES, sleep } from './retry.js';

export const MAX_RECORDS_PER_PUT = 500;
export const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
export const MAX_RECORD_BYTES = 1024 * 1024;
export const MAX_PARTITION_KEY_CHARS = 256;

const encoder = new TextEncoder();

export interface EncodedEntry {
  /** Position in the caller's input, where its result goes. */
  index: number;
  partitionKey: string;
  data: Uint8Array;
  bytes: number;
}

function countChars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Encodes and checks every entry, then cuts them into requests within the limits, in order. */
export function planPutRequests(entries: readonly PutEntry[]): EncodedEntry[][] {
  const requests: EncodedEntry[][] = [];
  let current: EncodedEntry[] = [];
  let currentBytes = 0;
  entries.forEach((entry, index) => {
    const { partitionKey } = entry;
    if (typeof partitionKey !== 'string' || partitionKey.length === 0) {
      throw new StorepulseError('INPUT', `record ${index}: the partition key is empty`);
    }
    if (partitionKey.length > MAX_PARTITION_KEY_CHARS && countChars(partitionKey) > MAX_PARTITION_KEY_CHARS) {
      throw new StorepulseError(
        'INPUT',
        `record ${index}: partition key of ${countChars(partitionKey)} characters; Kinesis allows at most ${MAX_PARTITION_KEY_CHARS}`,
      );
    }
    const data = encoder.encode(entry.data);
    const bytes = data.byteLength + Buffer.byteLength(partitionKey, 'utf8');
    if (bytes > MAX_RECORD_BYTES) {
      throw new StorepulseError(
        'INPUT',
        `record ${index} (partition key ${JSON.stringify(partitionKey.slice(0, 64))}): ${bytes} bytes of data and ` +
          `partition key; Kinesis allows at most ${MAX_RECORD_BYTES} bytes (1 MiB) per record`,
      );
    }
    if (current.length === MAX_RECORDS_PER_PUT || currentBytes + bytes > MAX_BYTES_PER_PUT) {
      requests.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push({ index, partitionKey, data, bytes });
    currentBytes += bytes;
  });
  if (current.length > 0) requests.push(current);
  return requests;
}

export interface PutContext {
  client: KinesisClient;
  streamName: string;
  maxRetries: number;
}

/**
 * Sends one planned request; entries that fail with a retriable per-record code are sent again (alone)
 * after a backoff, and so is the whole request after a throttling or transient error. Writes each
 * entry's result into `results[entry.index]`.
 */
export async function putRequest(
  ctx: PutContext,
  request: readonly EncodedEntry[],
  results: PutResult[],
): Promise<void> {
  let pending = request;
  for (let attempt = 0; ; attempt++) {
    let answer: PutRecordsResultEntry[];
    try {
      const res = await ctx.client.send(
        new PutRecordsCommand({
          StreamName: ctx.streamName,
          Records: pending.map((e) => ({ PartitionKey: e.partitionKey, Data: e.data })),
        }),
      );
      answer = res.Records ?? [];
    } catch (err) {
      if (attempt < ctx.maxRetries && isRetriable(err)) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw kinesisError('PutRecords', ctx.streamName, err, attempt);
    }
    if (answer.length !== pending.length) {
      throw new StorepulseError(
        'INTERNAL',
        `PutRecords on Kinesis stream "${ctx.streamName}" answered ${answer.length} results for ${pending.length} records`,
      );
    }
    const failed: EncodedEntry[] = [];
    let lastFailure = '';
    answer.forEach((r, i) => {
      const entry = pending[i]!;
      if (r.ErrorCode) {
        lastFailure = `${r.ErrorCode}${r.ErrorMessage ? `: ${r.ErrorMessage}` : ''}`;
        if (!RETRIABLE_ENTRY_CODES.has(r.ErrorCode)) {
          throw new StorepulseError(
            'IO',
            `PutRecords on Kinesis stream "${ctx.streamName}": record ${entry.index} was refused (${lastFailure})`,
          );
        }
        failed.push(entry);
      } else if (r.ShardId && r.SequenceNumber) {
        results[entry.index] = { shardId: r.ShardId, sequenceNumber: r.SequenceNumber };
      } else {
        throw new StorepulseError(
          'INTERNAL',
          `PutRecords on Kinesis stream "${ctx.streamName}": record ${entry.index} has neither an error nor a sequence number`,
        );
      }
    });
    if (failed.length === 0) return;
    if (attempt >= ctx.maxRetries) {
      throw new StorepulseError(
        'IO',
        `PutRecords on Kinesis stream "${ctx.streamName}": ${failed.length} of ${request.length} records still ` +
          `failing after ${ctx.maxRetries} retries (last: ${lastFailure})`,
      );
    }
    pending = failed;
    await sleep(backoffMs(attempt));
  }
}
