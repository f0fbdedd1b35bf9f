/**
 * Template tests of the batch side: the bucket, the Glue database and events table (the lake's own
 * schema through src/lake/glue.ts), the Firehose raw copy, and the Athena workgroup with one named
 * query per report query of sql/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReportFile } from '../../src/batch/sqlfile.js';
import { glueType } from '../../src/lake/glue.js';
import { EVENT_COLUMNS, PARTITION_COLUMN } from '../../src/lake/schema.js';
import { toAthena } from '../lib/athena-queries.js';
import { NAMES } from '../lib/config.js';
import { FIREHOSE_TIMESTAMP_FORMATS, PARTITION_QUERY } from '../lib/lake.js';
import { logicalId, REPO_ROOT, removeOutdirs, resources, type Synth, synth } from './synth.js';

let s: Synth;
beforeAll(() => {
  s = synth({}, false);
});
afterAll(removeOutdirs);

const bucketId = () => Object.keys(resources(s.template, 'AWS::S3::Bucket'))[0]!;
const bucketPath = (suffix: string) => ({ 'Fn::Join': ['', ['s3://', { Ref: bucketId() }, suffix]] });

describe('bucket', () => {
  it('is private, encrypted, TLS-only, and expires query results and Firehose errors', () => {
    s.template.resourceCountIs('AWS::S3::Bucket', 1);
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
          Match.objectLike({ Prefix: 'athena-results/', ExpirationInDays: 30 }),
          Match.objectLike({ Prefix: 'firehose-errors/', ExpirationInDays: 30 }),
        ],
      },
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('expires the lake after lakeRetentionDays when set', () => {
    synth({ lakeRetentionDays: 400 }, false).template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'lake/', ExpirationInDays: 400 })]),
      },
    });
  });
});

describe('Glue', () => {
  it('registers the lake schema: every column of src/lake/schema.ts with its Glue type and comment', () => {
    s.template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: NAMES.glueDatabase } });
    const tables = Object.values(resources(s.template, 'AWS::Glue::Table'));
    expect(tables).toHaveLength(1);
    const t = tables[0]! as {
      DatabaseName: string;
      TableInput: {
        Name: string;
        TableType: string;
        PartitionKeys: unknown;
        StorageDescriptor: {
          Columns: unknown;
          Location: unknown;
          SerdeInfo: { SerializationLibrary: string };
        };
      };
    };
    expect(t.DatabaseName).toBe(NAMES.glueDatabase);
    expect(t.TableInput.Name).toBe('events');
    expect(t.TableInput.TableType).toBe('EXTERNAL_TABLE');
    expect(t.TableInput.StorageDescriptor.Columns).toEqual(
      EVENT_COLUMNS.map((c) => ({ Name: c.name, Type: glueType(c.type), Comment: c.description })),
    );
    expect(t.TableInput.PartitionKeys).toEqual([
      { Name: 'event_date', Type: 'date', Comment: PARTITION_COLUMN.description },
    ]);
    expect(t.TableInput.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    expect(t.TableInput.StorageDescriptor.Location).toEqual(bucketPath('/lake/events/'));
  });

  it('projects the event_date partitions from projectionStart, so Athena needs no partition registration', () => {
    const t = Object.values(resources(s.template, 'AWS::Glue::Table'))[0]! as {
      TableInput: { Parameters: Record<string, unknown> };
    };
    expect(t.TableInput.Parameters).toMatchObject({
      classification: 'parquet',
      'projection.enabled': 'true',
      'projection.event_date.type': 'date',
      'projection.event_date.format': 'yyyy-MM-dd',
      'projection.event_date.range': '2019-10-01,NOW',
      'storage.location.template': bucketPath('/lake/events/event_date=${event_date}/'),
    });
    const later = Object.values(
      resources(synth({ projectionStart: '2024-01-31' }, false).template, 'AWS::Glue::Table'),
    )[0]!;
    expect(
      (later.TableInput as { Parameters: Record<string, unknown> }).Parameters['projection.event_date.range'],
    ).toBe('2024-01-31,NOW');
  });
});

describe('raw copy (Firehose)', () => {
  it('copies stream 1 into lake/events/event_date=<UTC day of event_time>/ as Parquet with the Glue schema', () => {
    const stream1 = logicalId(s.template, 'AWS::Kinesis::Stream', { Name: NAMES.stream1 });
    const role = logicalId(s.template, 'AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'firehose.amazonaws.com' } })],
      },
    });
    s.template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 1);
    s.template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: NAMES.deliveryStream,
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: { 'Fn::GetAtt': [stream1, 'Arn'] },
        RoleARN: { 'Fn::GetAtt': [role, 'Arn'] },
      },
      ExtendedS3DestinationConfiguration: {
        Prefix: 'lake/events/event_date=!{partitionKeyFromQuery:event_date}/',
        FileExtension: '.parquet',
        ErrorOutputPrefix: 'firehose-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/',
        CompressionFormat: 'UNCOMPRESSED',
        BufferingHints: { IntervalInSeconds: 900, SizeInMBs: 128 },
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'MetadataExtraction',
              Parameters: [
                {
                  ParameterName: 'MetadataExtractionQuery',
                  ParameterValue: '{event_date: .event_time[0:10]}',
                },
                { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        DataFormatConversionConfiguration: {
          Enabled: true,
          InputFormatConfiguration: {
            Deserializer: { HiveJsonSerDe: { TimestampFormats: FIREHOSE_TIMESTAMP_FORMATS } },
          },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
          SchemaConfiguration: { DatabaseName: NAMES.glueDatabase, TableName: 'events', VersionId: 'LATEST' },
        },
      },
    });
    expect(PARTITION_QUERY).toBe('{event_date: .event_time[0:10]}');
  });

  it('is left out with rawCopy=none', () => {
    const t = synth({ rawCopy: 'none' }, false).template;
    t.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
    expect(
      Object.keys(
        t.findResources('AWS::CloudWatch::Alarm', {
          Properties: { AlarmName: 'storepulse-raw-copy-freshness' },
        }),
      ),
    ).toHaveLength(0);
  });
});

describe('Athena', () => {
  const sqlDir = path.join(REPO_ROOT, 'sql');
  const reports = readdirSync(sqlDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => parseReportFile(path.basename(f, '.sql'), readFileSync(path.join(sqlDir, f), 'utf8')));

  it('has the storepulse workgroup: engine v3, results in the bucket, a scan limit, deletable with its queries', () => {
    s.template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: NAMES.workgroup,
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 100 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: { OutputLocation: bucketPath('/athena-results/') },
      },
    });
  });

  it('has one named query per query of every report file in sql/, in Athena SQL', () => {
    const queries = Object.values(resources(s.template, 'AWS::Athena::NamedQuery'));
    const expected = reports.flatMap((r) => r.queries.map((q) => ({ report: r, q })));
    expect(expected.length).toBeGreaterThanOrEqual(reports.length);
    expect(queries).toHaveLength(expected.length);
    for (const { report, q } of expected) {
      const name = q.name === report.name ? report.name : `${report.name}.${q.name}`;
      const found = queries.find((n) => n.Name === name);
      expect(found, name).toBeDefined();
      expect(found!.Database).toBe(NAMES.glueDatabase);
      expect(found!.WorkGroup).toBe(NAMES.workgroup);
      expect(String(found!.QueryString)).toContain(toAthena(q.sql, report.defaults));
      expect(String(found!.Description).startsWith(report.title)).toBe(true);
    }
    for (const n of queries) {
      const sql = String(n.QueryString);
      expect(sql).not.toMatch(/\b(quantile_cont|median|isodow|dayname|strftime)\s*\(/i);
      expect(sql).not.toMatch(/\$[a-z_]/);
      expect(String(n.Name).length).toBeLessThanOrEqual(128);
    }
  });
});

describe('toAthena', () => {
  it('rewrites the DuckDB-only functions as docs/reports.md says', () => {
    expect(toAthena('SELECT median(x), quantile_cont(views, 0.75) FROM t', {})).toBe(
      'SELECT approx_percentile(x, 0.5), approx_percentile(views, 0.75) FROM t',
    );
    expect(toAthena('isodow(event_time) AS d, dayname(event_time)', {})).toBe(
      "day_of_week(event_time) AS d, date_format(event_time, '%W')",
    );
    expect(toAthena("strftime(ts, '%Y-%m-%d')", {})).toBe("date_format(ts, '%Y-%m-%d')");
    expect(toAthena('median(CAST(a AS DOUBLE) / median(b))', {})).toBe(
      'approx_percentile(CAST(a AS DOUBLE) / approx_percentile(b, 0.5), 0.5)',
    );
    expect(toAthena('SELECT median_conversion FROM t', {})).toContain('median_conversion');
  });

  it('puts each parameter default in place and refuses an undeclared one', () => {
    expect(toAthena('WHERE rank <= $top_n LIMIT $top_n', { top_n: 10 })).toBe('WHERE rank <= 10 LIMIT 10');
    expect(() => toAthena('LIMIT $n', {})).toThrow(/\$n/);
  });
});
