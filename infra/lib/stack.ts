/**
 * The reference architecture on AWS as one stack (docs/aws.md): the two Kinesis streams, detection
 * and the alert actions on Lambda running storepulse's handlers, the alert table and the detection
 * state table in DynamoDB, the incidents topic, the lake on S3 with Glue and Athena, and the
 * dashboard and alarms. Sizes come from CDK context (config.ts); the one deploy-time parameter is
 * the optional e-mail address subscribed to the topics.
 */
import {
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { NAMES, STATE_TABLE_KEYS, type StackConfig } from './config.js';
import { Handlers } from './handlers.js';
import { Lake } from './lake.js';
import { Monitoring } from './monitoring.js';

export interface StorepulseStackProps extends StackProps {
  config: StackConfig;
  /** The repository root (handler sources, lock file, `sql/`). */
  repoRoot: string;
}

export class StorepulseStack extends Stack {
  readonly handlers: Handlers;
  readonly lake: Lake;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: StorepulseStackProps) {
    super(scope, id, props);
    const { config, repoRoot } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const stream = (id: string, streamName: string, shards: number) =>
      new kinesis.Stream(this, id, {
        streamName,
        ...(config.streamMode === 'on-demand'
          ? { streamMode: kinesis.StreamMode.ON_DEMAND }
          : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: shards }),
        retentionPeriod: Duration.hours(config.retentionHours),
        encryption: kinesis.StreamEncryption.MANAGED,
      });
    const stream1 = stream('Stream1', NAMES.stream1, config.stream1Shards);
    const stream2 = stream('Stream2', NAMES.stream2, config.stream2Shards);

    // The reference table and key scheme, exactly what src/stores/dynamodb writes (item.ts): no
    // secondary index, since the store lists by Scan and reads single items by key.
    const alertTable = new dynamodb.Table(this, 'AlertTable', {
      tableName: NAMES.alertTable,
      partitionKey: { name: 'ddb_partition_key', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'ddb_sort_key', type: dynamodb.AttributeType.NUMBER },
      ...(config.alertTableBilling === 'on-demand'
        ? { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }
        : {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: config.alertTableReadUnits,
            writeCapacity: config.alertTableWriteUnits,
          }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
    const stateTable = new dynamodb.Table(this, 'StateTable', {
      tableName: NAMES.stateTable,
      partitionKey: { name: STATE_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: STATE_TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: STATE_TABLE_KEYS.ttlAttribute,
      // State is rebuilt from the stream: nothing here needs keeping past the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const topic = new sns.Topic(this, 'IncidentsTopic', {
      topicName: NAMES.incidentsTopic,
      displayName: 'storepulse incidents',
    });
    const alarmsTopic = new sns.Topic(this, 'AlarmsTopic', {
      topicName: NAMES.alarmsTopic,
      displayName: 'storepulse alarms',
    });
    const email = new CfnParameter(this, 'AlertEmail', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      description:
        'E-mail address subscribed to the incidents and alarms topics (empty: none). AWS e-mails a confirmation link first.',
    });
    const hasEmail = new CfnCondition(this, 'HasAlertEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(email.valueAsString, '')),
    });
    for (const [id, t] of [
      ['IncidentsEmail', topic],
      ['AlarmsEmail', alarmsTopic],
    ] as const) {
      const sub = new sns.CfnSubscription(this, id, {
        topicArn: t.topicArn,
        protocol: 'email',
        endpoint: email.valueAsString,
      });
      sub.cfnOptions.condition = hasEmail;
    }

    this.handlers = new Handlers(this, 'Handlers', {
      config,
      repoRoot,
      stream1,
      stream2,
      stateTable,
      alertTable,
      topic,
    });
    this.lake = new Lake(this, 'Lake', { config, stream1, sqlDir: `${repoRoot}/sql` });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      stream1,
      stream2,
      detect: this.handlers.detect,
      actions: this.handlers.actions,
      detectDlq: this.handlers.detectDlq,
      actionsDlq: this.handlers.actionsDlq,
      alertTable,
      stateTable,
      deliveryStream: this.lake.deliveryStream,
      alarmsTopic,
    });

    new CfnOutput(this, 'SimulateTarget', {
      description: 'storepulse simulate --to this',
      value: `kinesis://${NAMES.stream1}?region=${this.region}`,
    });
    new CfnOutput(this, 'LakeBucket', { value: this.lake.bucket.bucketName });
    new CfnOutput(this, 'LakeLocation', { value: `s3://${this.lake.bucket.bucketName}/lake` });
    new CfnOutput(this, 'IncidentsTopicArn', { value: topic.topicArn });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${NAMES.dashboard}`,
    });
  }
}
