/**
 * Template tests of least privilege (every IAM statement, no wildcard action, no managed policy) and
 * of what an operator watches (alarms, dashboard), plus the context checks and cdk.json.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, NAMES, readConfig } from '../lib/config.js';
import { logicalId, REPO_ROOT, removeOutdirs, resources, type Synth, synth } from './synth.js';

let s: Synth;
beforeAll(() => {
  s = synth({}, false);
});
afterAll(removeOutdirs);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function statementsOf(policy: Record<string, unknown>): Statement[] {
  return (policy.PolicyDocument as { Statement: Statement[] }).Statement;
}
const list = (a: string | string[]) => (Array.isArray(a) ? a : [a]);

/** Role logical id → its Allow statements as `actions @ resource logical id or text`. */
function grants(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of Object.values(resources(s.template, 'AWS::IAM::Policy'))) {
    for (const role of p.Roles as { Ref: string }[]) {
      const lines = out.get(role.Ref) ?? [];
      for (const st of statementsOf(p)) {
        const res = (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map((r) => JSON.stringify(r));
        lines.push(`${st.Effect} ${list(st.Action).join(',')} @ ${res.join(' ')}`);
      }
      out.set(role.Ref, lines);
    }
  }
  return out;
}

describe('IAM', () => {
  it('no Allow statement anywhere has a wildcard action or a wildcard resource', () => {
    const policies = [
      ...Object.values(resources(s.template, 'AWS::IAM::Policy')),
      ...Object.values(resources(s.template, 'AWS::SQS::QueuePolicy')),
      ...Object.values(resources(s.template, 'AWS::S3::BucketPolicy')),
    ];
    expect(policies.length).toBeGreaterThan(0);
    for (const p of policies) {
      for (const st of statementsOf(p)) {
        if (st.Effect !== 'Allow') continue;
        for (const a of list(st.Action)) expect(a, JSON.stringify(st)).not.toContain('*');
        expect(JSON.stringify(st.Resource)).not.toBe('"*"');
      }
    }
  });

  it('no role has a managed policy (so no *FullAccess) and none is assumable by another service', () => {
    const roles = resources(s.template, 'AWS::IAM::Role');
    expect(Object.keys(roles)).toHaveLength(3);
    for (const r of Object.values(roles)) {
      expect(r.ManagedPolicyArns).toBeUndefined();
      const principals = (
        r.AssumeRolePolicyDocument as { Statement: { Principal: { Service: string } }[] }
      ).Statement.map((st) => st.Principal.Service);
      expect(principals.every((p) => p === 'lambda.amazonaws.com' || p === 'firehose.amazonaws.com')).toBe(
        true,
      );
    }
    s.template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    expect(JSON.stringify(s.template.toJSON())).not.toMatch(/FullAccess/);
  });

  it('each role holds exactly these statements', () => {
    const id = (type: string, props: Record<string, unknown>) => logicalId(s.template, type, props);
    const arn = (logical: string) => JSON.stringify({ 'Fn::GetAtt': [logical, 'Arn'] });
    const stream1 = arn(id('AWS::Kinesis::Stream', { Name: NAMES.stream1 }));
    const stream2 = arn(id('AWS::Kinesis::Stream', { Name: NAMES.stream2 }));
    const state = arn(id('AWS::DynamoDB::Table', { TableName: NAMES.stateTable }));
    const alerts = arn(id('AWS::DynamoDB::Table', { TableName: NAMES.alertTable }));
    const topic = JSON.stringify({ Ref: id('AWS::SNS::Topic', { TopicName: NAMES.incidentsTopic }) });
    const logs = (fn: string) => arn(id('AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${fn}` }));
    const queues = Object.keys(resources(s.template, 'AWS::SQS::Queue'));
    const roleOf = (fn: string) =>
      (
        resources(s.template, 'AWS::Lambda::Function')[id('AWS::Lambda::Function', { FunctionName: fn })]!
          .Role as {
          'Fn::GetAtt': string[];
        }
      )['Fn::GetAtt'][0]!;
    const dlqOf = (fn: string) => {
      const m = Object.values(resources(s.template, 'AWS::Lambda::EventSourceMapping')).find(
        (e) => (e.FunctionName as { Ref: string }).Ref === id('AWS::Lambda::Function', { FunctionName: fn }),
      )!;
      return arn(
        (m.DestinationConfig as { OnFailure: { Destination: { 'Fn::GetAtt': string[] } } }).OnFailure
          .Destination['Fn::GetAtt'][0]!,
      );
    };
    expect(queues.map((q) => arn(q)).sort()).toEqual(
      [dlqOf(NAMES.detectFunction), dlqOf(NAMES.actionsFunction)].sort(),
    );
    const STATE =
      'dynamodb:DescribeTable,dynamodb:GetItem,dynamodb:BatchGetItem,dynamodb:Query,dynamodb:PutItem,dynamodb:UpdateItem,dynamodb:DeleteItem,dynamodb:BatchWriteItem,dynamodb:ConditionCheckItem';
    const READ_STREAM =
      'kinesis:DescribeStreamSummary,kinesis:GetRecords,kinesis:GetShardIterator,kinesis:ListShards,kinesis:SubscribeToShard,kinesis:DescribeStream,kinesis:ListStreams,kinesis:DescribeStreamConsumer';
    const DLQ = 'sqs:SendMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl';
    const g = grants();
    expect(g.get(roleOf(NAMES.detectFunction))!.sort()).toEqual(
      [
        `Allow logs:CreateLogStream,logs:PutLogEvents @ ${logs(NAMES.detectFunction)}`,
        `Allow kinesis:PutRecord,kinesis:PutRecords,kinesis:DescribeStreamSummary,kinesis:ListShards @ ${stream2}`,
        `Allow ${STATE} @ ${state}`,
        `Allow ${DLQ} @ ${dlqOf(NAMES.detectFunction)}`,
        `Allow ${READ_STREAM} @ ${stream1}`,
      ].sort(),
    );
    expect(g.get(roleOf(NAMES.actionsFunction))!.sort()).toEqual(
      [
        `Allow logs:CreateLogStream,logs:PutLogEvents @ ${logs(NAMES.actionsFunction)}`,
        `Allow dynamodb:DescribeTable,dynamodb:BatchGetItem,dynamodb:BatchWriteItem,dynamodb:GetItem,dynamodb:PutItem,dynamodb:Scan @ ${alerts}`,
        `Allow ${STATE} @ ${state}`,
        `Allow sns:Publish @ ${topic}`,
        `Allow ${DLQ} @ ${dlqOf(NAMES.actionsFunction)}`,
        `Allow ${READ_STREAM} @ ${stream2}`,
      ].sort(),
    );
    const firehoseRole = [...g.keys()].find(
      (r) => r !== roleOf(NAMES.detectFunction) && r !== roleOf(NAMES.actionsFunction),
    )!;
    const fh = g.get(firehoseRole)!.join('\n');
    expect(g.get(firehoseRole)).toHaveLength(5);
    expect(fh).toContain(
      `Allow kinesis:DescribeStream,kinesis:DescribeStreamSummary,kinesis:GetShardIterator,kinesis:GetRecords,kinesis:ListShards @ ${stream1}`,
    );
    expect(fh).toMatch(
      /Allow s3:GetBucketLocation,s3:ListBucket,s3:ListBucketMultipartUploads @ \{"Fn::GetAtt":\["LakeBucket/,
    );
    expect(fh).toMatch(
      /Allow s3:PutObject,s3:GetObject,s3:AbortMultipartUpload @ .*\/lake\/events\/\*.*\/firehose-errors\/\*/,
    );
    expect(fh).toMatch(
      /Allow glue:GetTable,glue:GetTableVersion,glue:GetTableVersions @ .*:catalog.*:database\/storepulse.*:table\/storepulse\/events/,
    );
    expect(fh).toMatch(/Allow logs:PutLogEvents @ .*:log-stream:/);
  });
});

describe('alarms', () => {
  const alarms = () => Object.values(resources(s.template, 'AWS::CloudWatch::Alarm'));
  const alarm = (name: string) => alarms().find((a) => a.AlarmName === `storepulse-${name}`)!;

  it('are these, each notifying the alarms topic and quiet on missing data', () => {
    const names = alarms()
      .map((a) => a.AlarmName)
      .sort();
    expect(names).toEqual(
      [
        'alerts',
        'detect-iterator-age',
        'detect-errors',
        'detect-throttles',
        'detect-dlq',
        'actions-iterator-age',
        'actions-errors',
        'actions-throttles',
        'actions-dlq',
        'stream-1-write-throttles',
        'stream-2-write-throttles',
        'alert-table-throttles',
        'state-table-throttles',
        'raw-copy-freshness',
      ]
        .map((n) => `storepulse-${n}`)
        .sort(),
    );
    const topic = logicalId(s.template, 'AWS::SNS::Topic', { TopicName: NAMES.alarmsTopic });
    for (const a of alarms()) {
      expect(a.AlarmActions).toEqual([{ Ref: topic }]);
      expect(a.TreatMissingData).toBe('notBreaching');
    }
  });

  it('watch the right metrics with the configured thresholds', () => {
    const stream2 = logicalId(s.template, 'AWS::Kinesis::Stream', { Name: NAMES.stream2 });
    expect(alarm('alerts')).toMatchObject({
      Namespace: 'AWS/Kinesis',
      MetricName: 'IncomingRecords',
      Dimensions: [{ Name: 'StreamName', Value: { Ref: stream2 } }],
      Statistic: 'Sum',
      Threshold: DEFAULTS.alertsAlarmPer5Min,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    for (const fn of ['detect', 'actions']) {
      expect(alarm(`${fn}-iterator-age`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Statistic: 'Maximum',
        Threshold: DEFAULTS.iteratorAgeAlarmSeconds * 1000,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm(`${fn}-errors`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Threshold: 1,
      });
      expect(alarm(`${fn}-throttles`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Threshold: 1,
      });
      expect(alarm(`${fn}-dlq`)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Threshold: 1,
      });
    }
    for (const n of ['stream-1', 'stream-2']) {
      expect(alarm(`${n}-write-throttles`)).toMatchObject({
        Namespace: 'AWS/Kinesis',
        MetricName: 'WriteProvisionedThroughputExceeded',
      });
    }
    for (const n of ['alert-table', 'state-table']) {
      const metrics = (
        alarm(`${n}-throttles`).Metrics as {
          MetricStat?: { Metric: { MetricName: string; Namespace: string } };
        }[]
      ).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []));
      expect(metrics.map((m) => `${m.Namespace} ${m.MetricName}`).sort()).toEqual([
        'AWS/DynamoDB ReadThrottleEvents',
        'AWS/DynamoDB WriteThrottleEvents',
      ]);
    }
    expect(alarm('raw-copy-freshness')).toMatchObject({
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.DataFreshness',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: NAMES.deliveryStream }],
      Threshold: 2 * DEFAULTS.firehoseBufferSeconds,
    });
    const tuned = synth({ iteratorAgeAlarmSeconds: 300, alertsAlarmPer5Min: 50 }, false).template;
    tuned.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'storepulse-detect-iterator-age',
      Threshold: 300_000,
    });
    tuned.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'storepulse-alerts', Threshold: 50 });
  });
});

describe('dashboard', () => {
  it('is named storepulse and shows the streams, the handlers, the DLQs, the tables and the alert metric', () => {
    const dashboards = Object.values(resources(s.template, 'AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.DashboardName).toBe(NAMES.dashboard);
    const body = JSON.stringify(dashboards[0]!.DashboardBody);
    for (const text of [
      'IncomingRecords',
      'IteratorAge',
      'ConcurrentExecutions',
      'ApproximateNumberOfMessagesVisible',
      'WriteThrottleEvents',
      'WriteProvisionedThroughputExceeded',
      'DeliveryToS3.DataFreshness',
      `MetricName=\\\\\\"${NAMES.alertMetricName}\\\\\\"`,
      NAMES.alertMetricNamespace,
      'type\\":\\"alarm',
    ]) {
      expect(body, text).toContain(text);
    }
  });
});

describe('configuration', () => {
  it('refuses unknown values, naming the context key', () => {
    const read = (values: Record<string, unknown>) => () => readConfig((k) => values[k]);
    expect(read({ streamMode: 'serverless' })).toThrow(/streamMode/);
    expect(read({ stream1Shards: '0' })).toThrow(/stream1Shards/);
    expect(read({ batchSize: 10_001 })).toThrow(/batchSize/);
    expect(read({ retentionHours: '12' })).toThrow(/retentionHours/);
    expect(read({ retentionHours: 169 })).toThrow(/retentionHours/);
    expect(read({ logRetentionDays: 10 })).toThrow(/logRetentionDays/);
    expect(read({ projectionStart: '2019-13-45' })).toThrow(/projectionStart/);
    expect(read({ maxRecordAgeHours: 48 })).toThrow(/maxRecordAgeHours/);
    expect(read({ detectConfig: '{oops' })).toThrow(/detectConfig/);
    expect(readConfig((k) => ({ stream1Shards: '3', streamMode: 'on-demand' })[k])).toMatchObject({
      stream1Shards: 3,
      streamMode: 'on-demand',
    });
  });

  it('cdk.json runs the app with tsx and turns the CLI telemetry off', () => {
    const cdk = JSON.parse(readFileSync(`${REPO_ROOT}/infra/cdk.json`, 'utf8'));
    expect(cdk.context['cli-telemetry']).toBe(false);
    expect(cdk.app).toBe('node --import tsx bin/storepulse.ts');
  });

  it('outputs the kinesis:// target for storepulse simulate', () => {
    s.template.hasOutput('SimulateTarget', { Value: `kinesis://${NAMES.stream1}?region=eu-west-1` });
  });
});
