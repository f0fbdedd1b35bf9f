/**
 * What the stack can be told, with its defaults, read from CDK context (`cdk synth -c key=value`,
 * or the `context` of cdk.json) and checked before anything is built, so a typo fails the synth
 * with the key's name instead of deploying something else. The resource names are the reference
 * architecture's and are not configurable: the CLI, the handlers and the docs all use them.
 */
import { DEFAULT_DYNAMODB_TABLE } from '../../src/stores/dynamodb/options.js';

/** The reference's names (docs/aws.md). */
export const NAMES = {
  stream1: 'ecommerce-raw-user-activity-stream-1',
  stream2: 'ecommerce-raw-user-activity-stream-2',
  alertTable: DEFAULT_DYNAMODB_TABLE,
  incidentsTopic: 'ecomm-user-high-severity-incidents',
  /** The reference Lambda's metric (EMF lines of the actions handler). */
  alertMetricNamespace: 'ecommerce-namespace-1',
  alertMetricName: 'ecomm-user-high-volume-events',
  stateTable: 'storepulse-detection-state',
  alarmsTopic: 'storepulse-alarms',
  detectFunction: 'storepulse-detect',
  actionsFunction: 'storepulse-actions',
  glueDatabase: 'storepulse',
  workgroup: 'storepulse',
  dashboard: 'storepulse',
  deliveryStream: 'storepulse-raw-copy',
} as const;

/** The detection-state table's key scheme and TTL attribute (epoch seconds), shared with the detect handler. */
export const STATE_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'ttl' } as const;

/** Where things live in the bucket. The lake keeps the local lake's layout (src/lake/layout.ts). */
export const BUCKET_PREFIXES = {
  lake: 'lake',
  firehoseErrors: 'firehose-errors',
  athenaResults: 'athena-results',
} as const;

export interface StackConfig {
  /** Stream capacity: on-demand (pay per GB, scales itself) or provisioned (pay per shard-hour). */
  streamMode: 'on-demand' | 'provisioned';
  /** Shards of each stream when provisioned. */
  stream1Shards: number;
  stream2Shards: number;
  /**
   * How long a stream keeps records: 24 h is included in the price; at most 168 h, because the detect
   * handler keeps what it applied for 7 days (src/aws/lambda/state.ts) and a redelivery must find it.
   */
  retentionHours: number;
  /** Records per Lambda invocation (1–10,000) and the longest wait to fill a batch. */
  batchSize: number;
  batchWindowSeconds: number;
  /**
   * Concurrent batches per shard of stream 2 for the actions handler (1–10; order per partition key is
   * kept). Detection always takes one batch per shard at a time: it applies a shard's records in
   * sequence order (src/aws/lambda/detect.ts), so it scales by shards.
   */
  actionsParallelizationFactor: number;
  /** Retries of a failing batch, and the oldest record retried, before its range goes to the DLQ. */
  retryAttempts: number;
  maxRecordAgeHours: number;
  lambdaMemoryMb: number;
  lambdaTimeoutSeconds: number;
  /** Days Lambda and Firehose logs are kept. */
  logRetentionDays: number;
  /** The raw copy of stream 1 to S3: Firehose with Parquet conversion, or none (run the lake writer yourself). */
  rawCopy: 'firehose' | 'none';
  /** Firehose buffer before a Parquet file is written: seconds (60–900) and MiB (64–128 with conversion). */
  firehoseBufferSeconds: number;
  firehoseBufferMb: number;
  /** First day Athena's partition projection covers (the REES46 months start 2019-10-01). */
  projectionStart: string;
  /** Days the lake's objects are kept; 0 keeps them. */
  lakeRetentionDays: number;
  /** Athena refuses a query that would scan more than this (GB). */
  athenaScanLimitGb: number;
  /** Alert table capacity: on-demand, or provisioned read/write units. */
  alertTableBilling: 'on-demand' | 'provisioned';
  alertTableReadUnits: number;
  alertTableWriteUnits: number;
  /** `destroy` lets `cdk destroy` delete the bucket and the alert table; the default keeps them. */
  removalPolicy: 'retain' | 'destroy';
  /** Alarm thresholds: iterator age (s), and alerts on stream 2 per 5 minutes. */
  iteratorAgeAlarmSeconds: number;
  alertsAlarmPer5Min: number;
  /** Optional JSON handed to the detect handler as DETECT_CONFIG. */
  detectConfig: string | undefined;
}

export const DEFAULTS: StackConfig = {
  streamMode: 'provisioned',
  stream1Shards: 1,
  stream2Shards: 1,
  retentionHours: 24,
  batchSize: 1000,
  batchWindowSeconds: 1,
  actionsParallelizationFactor: 1,
  retryAttempts: 20,
  maxRecordAgeHours: 6,
  lambdaMemoryMb: 1024,
  lambdaTimeoutSeconds: 120,
  logRetentionDays: 30,
  rawCopy: 'firehose',
  firehoseBufferSeconds: 900,
  firehoseBufferMb: 128,
  projectionStart: '2019-10-01',
  lakeRetentionDays: 0,
  athenaScanLimitGb: 100,
  alertTableBilling: 'on-demand',
  alertTableReadUnits: 5,
  alertTableWriteUnits: 5,
  removalPolicy: 'retain',
  iteratorAgeAlarmSeconds: 60,
  alertsAlarmPer5Min: 1,
  detectConfig: undefined,
};

type Range = readonly [number, number];
const INT_RANGES: Partial<Record<keyof StackConfig, Range>> = {
  stream1Shards: [1, 500],
  stream2Shards: [1, 500],
  retentionHours: [24, 168],
  batchSize: [1, 10_000],
  batchWindowSeconds: [0, 300],
  actionsParallelizationFactor: [1, 10],
  retryAttempts: [0, 10_000],
  maxRecordAgeHours: [1, 168],
  lambdaMemoryMb: [128, 10_240],
  lambdaTimeoutSeconds: [1, 900],
  firehoseBufferSeconds: [60, 900],
  firehoseBufferMb: [64, 128],
  lakeRetentionDays: [0, 36_500],
  athenaScanLimitGb: [1, 100_000],
  alertTableReadUnits: [1, 40_000],
  alertTableWriteUnits: [1, 40_000],
  iteratorAgeAlarmSeconds: [1, 604_800],
  alertsAlarmPer5Min: [1, 1_000_000],
};
const CHOICES: Partial<Record<keyof StackConfig, readonly string[]>> = {
  streamMode: ['on-demand', 'provisioned'],
  rawCopy: ['firehose', 'none'],
  alertTableBilling: ['on-demand', 'provisioned'],
  removalPolicy: ['retain', 'destroy'],
};
/** CloudWatch Logs accepts only these retention periods (days). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** A context value as given: -c gives text, cdk.json and tests may give numbers. */
export type ContextReader = (key: string) => unknown;

/** The stack's configuration from CDK context; an unknown value throws, naming the key. */
export function readConfig(get: ContextReader): StackConfig {
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof StackConfig)[]) {
    const raw = get(key);
    if (raw === undefined || raw === null || raw === '') continue;
    const text = String(raw);
    const range = INT_RANGES[key];
    const choices = CHOICES[key];
    if (range) {
      const n = Number(text);
      if (!Number.isInteger(n) || n < range[0] || n > range[1]) {
        throw new Error(
          `context ${key}: ${JSON.stringify(text)} is not a whole number from ${range[0]} to ${range[1]}`,
        );
      }
      out[key] = n;
    } else if (choices) {
      if (!choices.includes(text))
        throw new Error(`context ${key}: ${JSON.stringify(text)} is not one of ${choices.join(', ')}`);
      out[key] = text;
    } else out[key] = text;
  }
  const config = out as unknown as StackConfig;
  if (!LOG_RETENTION_DAYS.includes(config.logRetentionDays)) {
    throw new Error(
      `context logRetentionDays: ${config.logRetentionDays} is not one of ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  }
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(config.projectionStart) ||
    Number.isNaN(Date.parse(config.projectionStart))
  ) {
    throw new Error(
      `context projectionStart: ${JSON.stringify(config.projectionStart)} is not a YYYY-MM-DD date`,
    );
  }
  if (config.maxRecordAgeHours > config.retentionHours) {
    throw new Error(
      `context maxRecordAgeHours (${config.maxRecordAgeHours}) exceeds retentionHours (${config.retentionHours})`,
    );
  }
  if (config.detectConfig !== undefined) {
    try {
      JSON.parse(config.detectConfig);
    } catch {
      throw new Error('context detectConfig: not JSON');
    }
  }
  return config;
}
