/**
 * The Lambda event shapes the handlers take and return, written out here (only the fields used) so
 * that no `@types/aws-lambda` dependency is needed: a Kinesis event source mapping's batch of one
 * shard's records, and the partial-batch answer (ReportBatchItemFailures).
 */
import { errorMessage } from '../../core/errors.js';

/** One record as the event source mapping delivers it: data base64, as GetRecords returned it. */
export interface KinesisEventRecord {
  eventSource: 'aws:kinesis';
  eventSourceARN: string;
  eventID: string;
  eventName: 'aws:kinesis:record';
  eventVersion?: string;
  awsRegion?: string;
  kinesis: {
    kinesisSchemaVersion?: string;
    partitionKey: string;
    sequenceNumber: string;
    /** Base64 of the record's bytes (a KPL-aggregated record stays aggregated). */
    data: string;
    /** Epoch seconds, with a fraction. */
    approximateArrivalTimestamp: number;
  };
}

export interface KinesisEvent {
  Records: KinesisEventRecord[];
}

/** The records to retry: Lambda retries the batch from the lowest sequence number listed. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * Marks the batch failed from `sequenceNumber` on (Lambda delivers it again from there) and logs why,
 * as one JSON line: what both handlers do with an error they cannot settle in the batch.
 */
export function failFrom<R extends BatchResponse>(
  result: R,
  sequenceNumber: string,
  what: string,
  err: unknown,
): R {
  console.error(
    JSON.stringify({
      level: 'error',
      msg: `${what} failed, to be delivered again`,
      error: errorMessage(err),
    }),
  );
  result.batchItemFailures = [{ itemIdentifier: sequenceNumber }];
  return result;
}

/** The shard id in an eventID (`shardId-000000000000:4954…`). */
export function shardOfEvent(r: KinesisEventRecord): string {
  const i = r.eventID.indexOf(':');
  return i > 0 ? r.eventID.slice(0, i) : 'unknown';
}
