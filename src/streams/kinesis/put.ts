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
import { awsCall, type AwsTarget, PartialBatchError, retryableAwsCode } from '../../aws/sdk.js';
import { StorepulseError } from '../../core/errors.js';
import type { PutEntry, PutResult } from '../types.js';

const MAX_RECORDS_PER_PUT = 500;
const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_PARTITION_KEY_CHARS = 256;

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
  target: AwsTarget;
}

/**
 * Sends one planned request, writing each entry's result into `results[entry.index]`. Entries that
 * fail with a per-record ErrorCode that a retry can fix (throttling, InternalFailure) are sent again,
 * alone, after a backoff, as is the whole request after a throttling or transient error: one retry
 * loop and one `maxRetries` for both. Any other per-record code fails the put at once.
 */
export async function putRequest(
  ctx: PutContext,
  request: readonly EncodedEntry[],
  results: PutResult[],
): Promise<void> {
  let pending = request;
  await awsCall(ctx.target, 'PutRecords', async () => {
    const res = await ctx.client.send(
      new PutRecordsCommand({
        StreamName: ctx.streamName,
        Records: pending.map((e) => ({ PartitionKey: e.partitionKey, Data: e.data })),
      }),
    );
    const failed = keepResults(ctx.streamName, pending, res.Records ?? [], results);
    pending = failed;
    if (failed.length > 0) throw partialFailure(failed, request.length);
  });
}

interface FailedEntry extends EncodedEntry {
  errorCode: string;
  errorMessage: string | undefined;
}

/** Writes the results of the entries that were put; returns the ones that failed, with their codes. */
function keepResults(
  stream: string,
  sent: readonly EncodedEntry[],
  answer: readonly PutRecordsResultEntry[],
  results: PutResult[],
): FailedEntry[] {
  if (answer.length !== sent.length) {
    throw new StorepulseError(
      'INTERNAL',
      `PutRecords on Kinesis stream "${stream}" answered ${answer.length} results for ${sent.length} records`,
    );
  }
  const failed: FailedEntry[] = [];
  answer.forEach((r, i) => {
    const entry = sent[i]!;
    if (r.ErrorCode) {
      failed.push({ ...entry, errorCode: r.ErrorCode, errorMessage: r.ErrorMessage });
    } else if (r.ShardId && r.SequenceNumber) {
      results[entry.index] = { shardId: r.ShardId, sequenceNumber: r.SequenceNumber };
    } else {
      throw new StorepulseError(
        'INTERNAL',
        `PutRecords on Kinesis stream "${stream}": record ${entry.index} has neither an error nor a sequence number`,
      );
    }
  });
  return failed;
}

/** The failed entries as one error: named after a code no retry fixes if there is one, else the last. */
function partialFailure(failed: readonly FailedEntry[], of: number): PartialBatchError {
  const refused = failed.find((e) => !retryableAwsCode(e.errorCode));
  const shown = refused ?? failed[failed.length - 1]!;
  const detail = shown.errorMessage ? ` (${shown.errorMessage})` : '';
  return new PartialBatchError(
    shown.errorCode,
    refused
      ? `record ${shown.index} was refused${detail}`
      : `${failed.length} of ${of} records not written, e.g. record ${shown.index}${detail}`,
  );
}
