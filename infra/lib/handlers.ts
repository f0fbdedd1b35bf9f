/**
 * The two Lambda functions of the reference, running storepulse's own handlers (src/aws/lambda/,
 * docs/aws-handlers.md): detection on stream 1, which writes alerts to stream 2, and the alert actions
 * on stream 2, which store them in `ddb-ecommerce-tab-1` and publish to SNS. Bundled by esbuild from
 * the repository's node_modules (no Docker), each with its own role that holds only what it uses,
 * its own log group, and an SQS on-failure destination for the record ranges it gave up on.
 */
import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib/core';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NAMES, type StackConfig } from './config.js';

/** The supported Node runtime the handlers run on (nodejs20.x is deprecated). */
const RUNTIME = lambda.Runtime.NODEJS_24_X;

/** The handlers are ESM like the rest of storepulse; bundled CommonJS dependencies still call require(). */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** Native modules the CLI uses and a handler must never load (they are not in the bundle). */
export const NATIVE_MODULES = ['better-sqlite3', '@duckdb/node-api'];

/** Item-level actions on the detection-state table (the handlers' checkpoints, windows and done-marks). */
const STATE_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

/** What the DynamoDB alert store (src/stores/dynamodb/alert-store.ts) calls when it puts alerts and reads mutes. */
const ALERT_TABLE_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Scan',
];

export interface HandlersProps {
  config: StackConfig;
  /** The repository root: entries are `src/aws/lambda/*.ts`, the lock file is its package-lock.json. */
  repoRoot: string;
  stream1: kinesis.IStream;
  stream2: kinesis.IStream;
  stateTable: dynamodb.ITable;
  alertTable: dynamodb.ITable;
  topic: sns.ITopic;
}

export class Handlers extends Construct {
  readonly detect: NodejsFunction;
  readonly actions: NodejsFunction;
  readonly detectDlq: sqs.Queue;
  readonly actionsDlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: HandlersProps) {
    super(scope, id);
    const { config } = props;

    this.detect = this.handler('Detect', NAMES.detectFunction, 'detect.ts', props, {
      STREAM_2_NAME: props.stream2.streamName,
      STATE_TABLE_NAME: props.stateTable.tableName,
      ...(config.detectConfig !== undefined ? { DETECT_CONFIG: config.detectConfig } : {}),
    });
    this.detect.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'kinesis:PutRecord',
          'kinesis:PutRecords',
          'kinesis:DescribeStreamSummary',
          'kinesis:ListShards',
        ],
        resources: [props.stream2.streamArn],
      }),
    );
    this.detect.addToRolePolicy(
      new iam.PolicyStatement({ actions: STATE_ACTIONS, resources: [props.stateTable.tableArn] }),
    );
    // One batch per shard at a time: detection applies a shard's records in sequence order.
    this.detectDlq = this.consume(this.detect, props.stream1, 'DetectDlq', config, 1);

    this.actions = this.handler('Actions', NAMES.actionsFunction, 'actions.ts', props, {
      ALERT_TABLE_NAME: props.alertTable.tableName,
      TOPIC_ARN: props.topic.topicArn,
      STATE_TABLE_NAME: props.stateTable.tableName,
    });
    this.actions.addToRolePolicy(
      new iam.PolicyStatement({ actions: ALERT_TABLE_ACTIONS, resources: [props.alertTable.tableArn] }),
    );
    this.actions.addToRolePolicy(
      new iam.PolicyStatement({ actions: STATE_ACTIONS, resources: [props.stateTable.tableArn] }),
    );
    this.actions.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.topic.topicArn] }),
    );
    this.actionsDlq = this.consume(
      this.actions,
      props.stream2,
      'ActionsDlq',
      config,
      config.actionsParallelizationFactor,
    );
  }

  private handler(
    id: string,
    functionName: string,
    file: string,
    props: HandlersProps,
    environment: Record<string, string>,
  ): NodejsFunction {
    const { config, repoRoot } = props;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, so no managed policy (AWSLambdaBasicExecutionRole allows logs on every group).
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${functionName}: only what the handler calls`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    return new NodejsFunction(this, id, {
      functionName,
      entry: path.join(repoRoot, 'src', 'aws', 'lambda', file),
      handler: 'handler',
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: config.lambdaMemoryMb,
      timeout: Duration.seconds(config.lambdaTimeoutSeconds),
      role,
      logGroup,
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        tsconfig: path.join(repoRoot, 'tsconfig.json'),
        // The AWS SDK is bundled (the version the tests ran), not taken from the runtime.
        externalModules: NATIVE_MODULES,
        forceDockerBundling: false,
      },
    });
  }

  /** The Kinesis event source of a handler and the SQS queue its failed record ranges go to. */
  private consume(
    fn: NodejsFunction,
    stream: kinesis.IStream,
    dlqId: string,
    config: StackConfig,
    parallelizationFactor: number,
  ): sqs.Queue {
    const dlq = new sqs.Queue(this, dlqId, {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    fn.addEventSource(
      new KinesisEventSource(stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: config.batchSize,
        maxBatchingWindow: Duration.seconds(config.batchWindowSeconds),
        parallelizationFactor,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: config.retryAttempts,
        maxRecordAge: Duration.hours(config.maxRecordAgeHours),
        onFailure: new SqsDlq(dlq),
      }),
    );
    return dlq;
  }
}
