/**
 * Lambda entry point: detection on stream 1 (`ecommerce-raw-user-activity-stream-1`), alerts to
 * stream 2. Event source mapping: ReportBatchItemFailures and bisectBatchOnFunctionError on,
 * ParallelizationFactor 1 (a shard's batches one at a time, in order). Env: STREAM_2_NAME,
 * STATE_TABLE_NAME, optional DETECT_CONFIG (the config file's `detect` section as JSON) and
 * IDLE_SHARD_MS. Design and exactness: docs/aws-handlers.md; the work: detect-batch.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { awsClient } from '../sdk.js';
import { RETRY_DEFAULTS } from '../../core/retry.js';
import { detectBatch } from './detect-batch.js';
import type { StepContext } from './detector-step.js';
import { detectConfigFromEnv, idleShardMsFromEnv, requiredEnv } from './env.js';
import { StateTable } from './state.js';
import type { BatchResponse, KinesisEvent } from './types.js';

let context: StepContext | undefined;

/** Made once per container, at the first invocation (a bad setting fails every invocation, loudly). */
function contextFromEnv(): StepContext {
  const dynamo = awsClient(DynamoDBClient);
  return {
    state: new StateTable(dynamo, requiredEnv('STATE_TABLE_NAME')),
    kinesis: awsClient(KinesisClient),
    alertStream: requiredEnv('STREAM_2_NAME'),
    detect: detectConfigFromEnv(),
    idleShardMs: idleShardMsFromEnv(),
    maxRetries: RETRY_DEFAULTS.maxRetries,
    now: Date.now,
  };
}

export async function handler(event: KinesisEvent): Promise<BatchResponse> {
  context ??= contextFromEnv();
  const { batchItemFailures } = await detectBatch(context, event);
  return { batchItemFailures };
}
