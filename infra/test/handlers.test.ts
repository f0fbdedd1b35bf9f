/**
 * Template tests: the streams, the two handlers and their event sources, the DynamoDB tables the
 * handlers and the alert store use, the topics, and the bundles esbuild made of src/aws/lambda.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARTITION_KEY, SORT_KEY } from '../../src/stores/dynamodb/item.js';
import { NAMES, STATE_TABLE_KEYS } from '../lib/config.js';
import { NATIVE_MODULES } from '../lib/handlers.js';
import { logicalId, removeOutdirs, resources, type Synth, synth } from './synth.js';

let s: Synth;
beforeAll(() => {
  s = synth();
});
afterAll(removeOutdirs);

describe('streams', () => {
  it('are the reference streams, provisioned with one shard each by default, 24 h, encrypted', () => {
    for (const name of [NAMES.stream1, NAMES.stream2]) {
      s.template.hasResourceProperties('AWS::Kinesis::Stream', {
        Name: name,
        ShardCount: 1,
        RetentionPeriodHours: 24,
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      });
    }
    s.template.resourceCountIs('AWS::Kinesis::Stream', 2);
  });

  it('take their mode, shards and retention from context', () => {
    const onDemand = synth({ streamMode: 'on-demand', retentionHours: 48 }, false).template;
    const streams = Object.values(resources(onDemand, 'AWS::Kinesis::Stream'));
    expect(streams).toHaveLength(2);
    for (const p of streams) {
      expect(p.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
      expect(p.ShardCount).toBeUndefined();
      expect(p.RetentionPeriodHours).toBe(48);
    }
    const sharded = synth({ stream1Shards: 4, stream2Shards: 2 }, false).template;
    sharded.hasResourceProperties('AWS::Kinesis::Stream', { Name: NAMES.stream1, ShardCount: 4 });
    sharded.hasResourceProperties('AWS::Kinesis::Stream', { Name: NAMES.stream2, ShardCount: 2 });
  });
});

describe('DynamoDB', () => {
  it('ddb-ecommerce-tab-1 has exactly the key scheme the DynamoDB alert store writes, and no index', () => {
    const tables = Object.values(resources(s.template, 'AWS::DynamoDB::Table')).filter(
      (t) => t.TableName === NAMES.alertTable,
    );
    expect(tables).toHaveLength(1);
    const t = tables[0]!;
    expect(t.KeySchema).toEqual([
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' },
    ]);
    expect(t.AttributeDefinitions).toEqual([
      { AttributeName: PARTITION_KEY, AttributeType: 'S' },
      { AttributeName: SORT_KEY, AttributeType: 'N' },
    ]);
    expect(t.GlobalSecondaryIndexes).toBeUndefined();
    expect(t.LocalSecondaryIndexes).toBeUndefined();
    expect(t.BillingMode).toBe('PAY_PER_REQUEST');
    expect(t.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('the alert table and the bucket are kept on stack deletion unless removalPolicy=destroy', () => {
    s.template.hasResource('AWS::DynamoDB::Table', {
      Properties: { TableName: NAMES.alertTable },
      DeletionPolicy: 'Retain',
    });
    s.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    const destroy = synth({ removalPolicy: 'destroy' }, false).template;
    destroy.hasResource('AWS::DynamoDB::Table', {
      Properties: { TableName: NAMES.alertTable },
      DeletionPolicy: 'Delete',
    });
    destroy.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });

  it('the alert table can be provisioned', () => {
    synth(
      { alertTableBilling: 'provisioned', alertTableReadUnits: 7, alertTableWriteUnits: 9 },
      false,
    ).template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.alertTable,
      ProvisionedThroughput: { ReadCapacityUnits: 7, WriteCapacityUnits: 9 },
    });
  });

  it('the detection-state table has its keys and a TTL', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.stateTable,
      KeySchema: [
        { AttributeName: STATE_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: STATE_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: STATE_TABLE_KEYS.ttlAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
    s.template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });
});

describe('SNS', () => {
  it('has the incidents topic and an alarms topic', () => {
    s.template.hasResourceProperties('AWS::SNS::Topic', { TopicName: NAMES.incidentsTopic });
    s.template.hasResourceProperties('AWS::SNS::Topic', { TopicName: NAMES.alarmsTopic });
    s.template.resourceCountIs('AWS::SNS::Topic', 2);
  });

  it('subscribes the AlertEmail parameter to both topics only when it is set', () => {
    s.template.hasParameter('AlertEmail', { Type: 'String', Default: '' });
    s.template.hasCondition('HasAlertEmail', { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlertEmail' }, ''] }] });
    const subs = s.template.findResources('AWS::SNS::Subscription');
    expect(Object.keys(subs)).toHaveLength(2);
    const topics = Object.values(subs).map((r) => {
      expect(r.Condition).toBe('HasAlertEmail');
      expect(r.Properties.Protocol).toBe('email');
      expect(r.Properties.Endpoint).toEqual({ Ref: 'AlertEmail' });
      return r.Properties.TopicArn.Ref;
    });
    expect(topics.sort()).toEqual(
      [
        logicalId(s.template, 'AWS::SNS::Topic', { TopicName: NAMES.incidentsTopic }),
        logicalId(s.template, 'AWS::SNS::Topic', { TopicName: NAMES.alarmsTopic }),
      ].sort(),
    );
  });
});

describe('handlers', () => {
  const stream = (name: string) => logicalId(s.template, 'AWS::Kinesis::Stream', { Name: name });
  const table = (name: string) => logicalId(s.template, 'AWS::DynamoDB::Table', { TableName: name });
  const fn = (name: string) => logicalId(s.template, 'AWS::Lambda::Function', { FunctionName: name });

  it('run on a supported Node runtime (nodejs22.x or later), arm64, ESM bundles', () => {
    const fns = Object.values(resources(s.template, 'AWS::Lambda::Function'));
    expect(fns).toHaveLength(2);
    for (const f of fns) {
      const m = /^nodejs(\d+)\.x$/.exec(String(f.Runtime));
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(22);
      expect(f.Handler).toBe('index.handler');
      expect(f.Architectures).toEqual(['arm64']);
    }
  });

  it('detect gets stream 2 and the state table; actions gets the alert table, the topic and the state table', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: NAMES.detectFunction,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          STREAM_2_NAME: { Ref: stream(NAMES.stream2) },
          STATE_TABLE_NAME: { Ref: table(NAMES.stateTable) },
        },
      },
    });
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: NAMES.actionsFunction,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          ALERT_TABLE_NAME: { Ref: table(NAMES.alertTable) },
          TOPIC_ARN: { Ref: logicalId(s.template, 'AWS::SNS::Topic', { TopicName: NAMES.incidentsTopic }) },
          STATE_TABLE_NAME: { Ref: table(NAMES.stateTable) },
        },
      },
    });
    const detectEnv = (
      resources(s.template, 'AWS::Lambda::Function')[fn(NAMES.detectFunction)]!.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(detectEnv.DETECT_CONFIG).toBeUndefined();
    synth({ detectConfig: '{"rules":[]}' }, false).template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: NAMES.detectFunction,
      Environment: { Variables: { DETECT_CONFIG: '{"rules":[]}' } },
    });
  });

  it('consume stream 1 (detect) and stream 2 (actions) with partial-batch responses, bisection and an SQS on-failure destination', () => {
    const mappings = Object.values(resources(s.template, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(2);
    const pairs = mappings.map((m) => [
      (m.FunctionName as { Ref: string }).Ref,
      (m.EventSourceArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0],
    ]);
    expect(pairs.sort()).toEqual(
      [
        [fn(NAMES.actionsFunction), stream(NAMES.stream2)],
        [fn(NAMES.detectFunction), stream(NAMES.stream1)],
      ].sort(),
    );
    const queues = Object.keys(resources(s.template, 'AWS::SQS::Queue'));
    expect(queues).toHaveLength(2);
    const destinations = new Set<string>();
    for (const m of mappings) {
      expect(m).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 1000,
        MaximumBatchingWindowInSeconds: 1,
        ParallelizationFactor: 1,
        MaximumRetryAttempts: 20,
        MaximumRecordAgeInSeconds: 6 * 3600,
      });
      const dest = (m.DestinationConfig as { OnFailure: { Destination: { 'Fn::GetAtt': string[] } } })
        .OnFailure.Destination;
      destinations.add(dest['Fn::GetAtt'][0]!);
    }
    expect([...destinations].sort()).toEqual(queues.sort());
  });

  it('take batch size, window, parallelization (actions only), retries and memory from context', () => {
    const t = synth(
      {
        batchSize: 10000,
        batchWindowSeconds: 5,
        actionsParallelizationFactor: 4,
        retryAttempts: 3,
        maxRecordAgeHours: 2,
        lambdaMemoryMb: 2048,
      },
      false,
    ).template;
    const fnOf = (name: string) => logicalId(t, 'AWS::Lambda::Function', { FunctionName: name });
    const mappings = Object.values(resources(t, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(2);
    for (const m of mappings) {
      const isDetect = (m.FunctionName as { Ref: string }).Ref === fnOf(NAMES.detectFunction);
      expect(m).toMatchObject({
        BatchSize: 10000,
        MaximumBatchingWindowInSeconds: 5,
        // Detection applies a shard's records in order: never more than one batch per shard.
        ParallelizationFactor: isDetect ? 1 : 4,
        MaximumRetryAttempts: 3,
        MaximumRecordAgeInSeconds: 7200,
      });
    }
    for (const f of Object.values(resources(t, 'AWS::Lambda::Function'))) expect(f.MemorySize).toBe(2048);
  });

  it('log to their own log groups, kept logRetentionDays', () => {
    for (const name of [NAMES.detectFunction, NAMES.actionsFunction]) {
      s.template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/lambda/${name}`,
        RetentionInDays: 30,
      });
      s.template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: name,
        LoggingConfig: {
          LogGroup: {
            Ref: logicalId(s.template, 'AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${name}` }),
          },
        },
      });
    }
  });

  it('are bundled from src/aws/lambda into ESM without the native modules of the CLI, and load', async () => {
    const assets = readdirSync(s.outdir).filter(
      (d) => d.startsWith('asset.') && statSync(path.join(s.outdir, d)).isDirectory(),
    );
    expect(assets).toHaveLength(2);
    for (const dir of assets) {
      const code = readFileSync(path.join(s.outdir, dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire } from 'node:module';")).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
      for (const mod of NATIVE_MODULES) expect(code).not.toContain(`"${mod}"`);
      // What Lambda does first: import the module (the require shim, bundled CommonJS, top-level code).
      const loaded = (await import(pathToFileURL(path.join(s.outdir, dir, 'index.mjs')).href)) as {
        handler?: unknown;
      };
      expect(typeof loaded.handler).toBe('function');
    }
  });
});
