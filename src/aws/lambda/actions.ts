/**
 * Lambda entry point: the alert actions on stream 2 (`ecommerce-raw-user-activity-stream-2`), as the
 * reference's Lambda: store each alert in `ddb-ecommerce-tab-1`, the metric as EMF lines on stdout,
 * SNS to the topic for alerts of high severity, each notified once. Event source mapping:
 * ReportBatchItemFailures on. Env: ALERT_TABLE_NAME, TOPIC_ARN, STATE_TABLE_NAME, optional
 * APP_SERVER (the `<name>` of the reference key, default `storepulse`). The work: actions-batch.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClient } from '../sdk.js';
import { EmfMetrics } from '../../metrics/emf/metrics.js';
import { SnsNotifier } from '../../notify/sns/notifier.js';
import { DynamoAlertStore } from '../../stores/dynamodb/alert-store.js';
import { type ActionsContext, actBatch } from './actions-batch.js';
import { requiredEnv } from './env.js';
import { StateTable } from './state.js';
import type { BatchResponse, KinesisEvent } from './types.js';

/** Longer than the SNS notifier's 10 s request timeout. */
const LEASE_MS = 60_000;

let context: ActionsContext | undefined;

function contextFromEnv(): ActionsContext {
  const dynamo = awsClient(DynamoDBClient);
  return {
    store: new DynamoAlertStore({
      table: requiredEnv('ALERT_TABLE_NAME'),
      client: dynamo,
      appServer: process.env.APP_SERVER,
    }),
    notifier: new SnsNotifier({ topicArn: requiredEnv('TOPIC_ARN') }),
    state: new StateTable(dynamo, requiredEnv('STATE_TABLE_NAME')),
    metrics: [new EmfMetrics()],
    leaseMs: LEASE_MS,
    now: Date.now,
  };
}

export async function handler(event: KinesisEvent): Promise<BatchResponse> {
  context ??= contextFromEnv();
  const { batchItemFailures } = await actBatch(context, event);
  return { batchItemFailures };
}
