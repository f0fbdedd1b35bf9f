/**
 * What an operator watches: one CloudWatch dashboard and the alarms, each sent to the alarms topic.
 * Alarms: alerts on stream 2 (an attack under way), iterator age (a handler falling behind its
 * shards), handler errors and throttles, stream write throttles, DynamoDB throttles, records given up
 * on (DLQ depth), and the raw copy's data freshness. Missing data is never an alarm: a quiet store
 * sends nothing.
 */
import { Duration } from 'aws-cdk-lib/core';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NAMES, type StackConfig } from './config.js';

export interface MonitoringProps {
  config: StackConfig;
  stream1: kinesis.IStream;
  stream2: kinesis.IStream;
  detect: lambda.IFunction;
  actions: lambda.IFunction;
  detectDlq: sqs.IQueue;
  actionsDlq: sqs.IQueue;
  alertTable: dynamodb.ITable;
  stateTable: dynamodb.ITable;
  deliveryStream: firehose.CfnDeliveryStream | undefined;
  alarmsTopic: sns.ITopic;
}

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly alarms: cw.Alarm[] = [];
  readonly dashboard: cw.Dashboard;
  private readonly alarmsTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    this.alarmsTopic = props.alarmsTopic;
    const alertsIn = props.stream2.metricIncomingRecords({ statistic: 'Sum', period: FIVE_MINUTES });
    const fns = [
      { name: 'detect', fn: props.detect, dlq: props.detectDlq },
      { name: 'actions', fn: props.actions, dlq: props.actionsDlq },
    ];
    const iteratorAge = (fn: lambda.IFunction) =>
      fn.metric('IteratorAge', { statistic: 'Maximum', period: MINUTE, unit: cw.Unit.MILLISECONDS });
    // Metric ids must differ within one graph: `<id>r + <id>w`.
    const tableThrottles = (table: dynamodb.ITable, id: string, label: string) =>
      new cw.MathExpression({
        expression: `${id}r + ${id}w`,
        label,
        period: FIVE_MINUTES,
        usingMetrics: {
          [`${id}r`]: table.metric('ReadThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
          [`${id}w`]: table.metric('WriteThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
        },
      });

    this.alarm(
      'alerts',
      'Alerts were written to stream 2: an attack may be under way',
      alertsIn,
      config.alertsAlarmPer5Min,
    );
    for (const { name, fn, dlq } of fns) {
      this.alarm(
        `${name}-iterator-age`,
        `The ${name} handler is more than ${config.iteratorAgeAlarmSeconds} s behind its stream`,
        iteratorAge(fn),
        config.iteratorAgeAlarmSeconds * 1000,
        3,
        cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      );
      this.alarm(
        `${name}-errors`,
        `The ${name} handler failed (its batch is retried, then bisected)`,
        fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
        1,
      );
      this.alarm(
        `${name}-throttles`,
        `The ${name} handler was throttled (account or reserved concurrency)`,
        fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
        1,
      );
      this.alarm(
        `${name}-dlq`,
        `Records the ${name} handler gave up on: replay them from the ranges in the queue`,
        dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES }),
        1,
      );
    }
    for (const [name, stream] of [
      ['stream-1', props.stream1],
      ['stream-2', props.stream2],
    ] as const) {
      this.alarm(
        `${name}-write-throttles`,
        `Writes to ${stream === props.stream1 ? NAMES.stream1 : NAMES.stream2} were throttled: add shards`,
        stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', period: FIVE_MINUTES }),
        1,
      );
    }
    this.alarm(
      'alert-table-throttles',
      `${NAMES.alertTable} throttled reads or writes`,
      tableThrottles(props.alertTable, 'alert', 'alert table throttles'),
      1,
    );
    this.alarm(
      'state-table-throttles',
      `${NAMES.stateTable} throttled reads or writes`,
      tableThrottles(props.stateTable, 'state', 'state table throttles'),
      1,
    );
    const freshness = props.deliveryStream
      ? new cw.Metric({
          namespace: 'AWS/Firehose',
          metricName: 'DeliveryToS3.DataFreshness',
          dimensionsMap: { DeliveryStreamName: NAMES.deliveryStream },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        })
      : undefined;
    if (freshness) {
      this.alarm(
        'raw-copy-freshness',
        'The raw copy to S3 is late by more than twice its buffer time',
        freshness,
        2 * config.firehoseBufferSeconds,
        3,
        cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      );
    }

    const search = new cw.MathExpression({
      expression: `SEARCH('{${NAMES.alertMetricNamespace},user_id} MetricName="${NAMES.alertMetricName}"', 'Sum', 60)`,
      label: 'alerted users',
      period: MINUTE,
      usingMetrics: {},
    });
    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: NAMES.dashboard,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cw.GraphWidget({
            title: 'Events in (stream 1) and alerts out (stream 2)',
            left: [
              props.stream1.metricIncomingRecords({ statistic: 'Sum', period: MINUTE, label: 'events' }),
            ],
            right: [
              props.stream2.metricIncomingRecords({ statistic: 'Sum', period: MINUTE, label: 'alerts' }),
            ],
            width: 12,
          }),
          new cw.GraphWidget({ title: `${NAMES.alertMetricName} by user`, left: [search], width: 12 }),
        ],
        [
          new cw.GraphWidget({
            title: 'Iterator age (ms)',
            left: fns.map(({ name, fn }) => iteratorAge(fn).with({ label: name })),
            width: 8,
          }),
          new cw.GraphWidget({
            title: 'Handler errors and throttles',
            left: fns.flatMap(({ name, fn }) => [
              fn.metricErrors({ statistic: 'Sum', period: MINUTE, label: `${name} errors` }),
              fn.metricThrottles({ statistic: 'Sum', period: MINUTE, label: `${name} throttles` }),
            ]),
            width: 8,
          }),
          new cw.GraphWidget({
            title: 'Handler duration (p99, ms) and concurrency',
            left: fns.map(({ name, fn }) =>
              fn.metricDuration({ statistic: 'p99', period: MINUTE, label: name }),
            ),
            right: fns.map(({ name, fn }) =>
              fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: MINUTE, label: name }),
            ),
            width: 8,
          }),
        ],
        [
          new cw.GraphWidget({
            title: 'Records given up on (DLQ depth)',
            left: fns.map(({ name, dlq }) =>
              dlq.metricApproximateNumberOfMessagesVisible({ period: MINUTE, label: name }),
            ),
            width: 8,
          }),
          new cw.GraphWidget({
            title: 'DynamoDB throttles',
            left: [
              tableThrottles(props.alertTable, 'alert', 'alert table'),
              tableThrottles(props.stateTable, 'state', 'state table'),
            ],
            width: 8,
          }),
          new cw.GraphWidget({
            title: 'Stream write throttles',
            left: [
              props.stream1.metricWriteProvisionedThroughputExceeded({
                statistic: 'Sum',
                period: MINUTE,
                label: 'stream 1',
              }),
              props.stream2.metricWriteProvisionedThroughputExceeded({
                statistic: 'Sum',
                period: MINUTE,
                label: 'stream 2',
              }),
            ],
            width: 8,
          }),
        ],
        [
          ...(freshness
            ? [new cw.GraphWidget({ title: 'Raw copy data freshness (s)', left: [freshness], width: 12 })]
            : []),
          new cw.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
        ],
      ],
    });
  }

  private alarm(
    name: string,
    description: string,
    metric: cw.IMetric,
    threshold: number,
    evaluationPeriods = 1,
    comparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  ): void {
    const alarm = new cw.Alarm(this, `Alarm-${name}`, {
      alarmName: `storepulse-${name}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alarmsTopic));
    this.alarms.push(alarm);
  }
}
