/**
 * The batch side of the reference: the bucket holding the lake, the Glue database and events table
 * (glue-table.ts), the raw copy of stream 1 into the lake as date-partitioned Parquet (Firehose with
 * format conversion; docs/aws.md says why it was chosen over the lake writer), and an Athena
 * workgroup with the `sql/` reports as named queries (athena-queries.ts).
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EVENTS_TABLE, PARTITION_KEY } from '../../src/lake/layout.js';
import { namedQueries } from './athena-queries.js';
import { BUCKET_PREFIXES, NAMES, type StackConfig } from './config.js';
import { eventsTableInput } from './glue-table.js';

export interface LakeProps {
  config: StackConfig;
  stream1: kinesis.IStream;
  /** The repository's `sql/` folder. */
  sqlDir: string;
}

/**
 * How Firehose reads the simulator's JSON (src/core/codec.ts): `event_time` is
 * `2019-10-01 00:00:00 UTC` (milliseconds when not whole), `txn_timestamp` is ISO-8601 with `Z`.
 */
export const FIREHOSE_TIMESTAMP_FORMATS = [
  "yyyy-MM-dd HH:mm:ss 'UTC'",
  "yyyy-MM-dd HH:mm:ss.SSS 'UTC'",
  "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
  "yyyy-MM-dd'T'HH:mm:ss'Z'",
];

/** The partition of a record is the UTC date of its event_time: its first ten characters. */
export const PARTITION_QUERY = `{${PARTITION_KEY}: .event_time[0:10]}`;

export class Lake extends Construct {
  readonly bucket: s3.Bucket;
  readonly database: glue.CfnDatabase;
  readonly table: glue.CfnTable;
  readonly workgroup: athena.CfnWorkGroup;
  readonly deliveryStream: firehose.CfnDeliveryStream | undefined;

  constructor(scope: Construct, id: string, props: LakeProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { prefix: `${BUCKET_PREFIXES.athenaResults}/`, expiration: Duration.days(30) },
        { prefix: `${BUCKET_PREFIXES.firehoseErrors}/`, expiration: Duration.days(30) },
        ...(config.lakeRetentionDays > 0
          ? [{ prefix: `${BUCKET_PREFIXES.lake}/`, expiration: Duration.days(config.lakeRetentionDays) }]
          : []),
      ],
    });

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: NAMES.glueDatabase, description: 'storepulse lake (docs/aws.md)' },
    });
    this.table = new glue.CfnTable(this, 'EventsTable', {
      catalogId: stack.account,
      databaseName: NAMES.glueDatabase,
      tableInput: eventsTableInput(
        `s3://${this.bucket.bucketName}/${BUCKET_PREFIXES.lake}`,
        config.projectionStart,
      ),
    });
    this.table.addResourceDependency(this.database);

    if (config.rawCopy === 'firehose') this.deliveryStream = this.rawCopy(props);

    this.workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: NAMES.workgroup,
      description: 'storepulse reports over the lake (sql/)',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: config.athenaScanLimitGb * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${BUCKET_PREFIXES.athenaResults}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    for (const q of namedQueries(props.sqlDir)) {
      const named = new athena.CfnNamedQuery(this, `Query-${q.name}`, {
        name: q.name,
        description: q.description,
        database: NAMES.glueDatabase,
        queryString: q.sql,
        workGroup: NAMES.workgroup,
      });
      named.addResourceDependency(this.workgroup);
      named.addResourceDependency(this.table);
    }
  }

  /** Stream 1 → Firehose → `lake/events/event_date=YYYY-MM-DD/*.parquet`, the local lake's layout. */
  private rawCopy(props: LakeProps): firehose.CfnDeliveryStream {
    const { config } = props;
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, 'RawCopyLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logStream = new logs.LogStream(this, 'RawCopyLogStream', { logGroup });
    const role = new iam.Role(this, 'RawCopyRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Firehose: read stream 1, read the Glue schema, write Parquet to the lake',
    });
    const lakeObjects = this.bucket.arnForObjects(`${BUCKET_PREFIXES.lake}/${EVENTS_TABLE}/*`);
    const errorObjects = this.bucket.arnForObjects(`${BUCKET_PREFIXES.firehoseErrors}/*`);
    const policy = new iam.Policy(this, 'RawCopyPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'kinesis:DescribeStream',
            'kinesis:DescribeStreamSummary',
            'kinesis:GetShardIterator',
            'kinesis:GetRecords',
            'kinesis:ListShards',
          ],
          resources: [props.stream1.streamArn],
        }),
        new iam.PolicyStatement({
          actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
          resources: [this.bucket.bucketArn],
        }),
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
          resources: [lakeObjects, errorObjects],
        }),
        new iam.PolicyStatement({
          actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
          resources: [
            stack.formatArn({ service: 'glue', resource: 'catalog' }),
            stack.formatArn({ service: 'glue', resource: 'database', resourceName: NAMES.glueDatabase }),
            stack.formatArn({
              service: 'glue',
              resource: 'table',
              resourceName: `${NAMES.glueDatabase}/${EVENTS_TABLE}`,
            }),
          ],
        }),
        new iam.PolicyStatement({
          actions: ['logs:PutLogEvents'],
          resources: [
            stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: `${logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      ],
    });
    const delivery = new firehose.CfnDeliveryStream(this, 'RawCopy', {
      deliveryStreamName: NAMES.deliveryStream,
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: props.stream1.streamArn, roleArn: role.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: role.roleArn,
        prefix: `${BUCKET_PREFIXES.lake}/${EVENTS_TABLE}/${PARTITION_KEY}=!{partitionKeyFromQuery:${PARTITION_KEY}}/`,
        // The lake's readers take `*.parquet` files only (src/lake/layout.ts).
        fileExtension: '.parquet',
        errorOutputPrefix: `${BUCKET_PREFIXES.firehoseErrors}/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: {
          intervalInSeconds: config.firehoseBufferSeconds,
          sizeInMBs: config.firehoseBufferMb,
        },
        // Parquet compresses its own pages; Firehose requires UNCOMPRESSED with format conversion.
        compressionFormat: 'UNCOMPRESSED',
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        dataFormatConversionConfiguration: {
          enabled: true,
          inputFormatConfiguration: {
            deserializer: { hiveJsonSerDe: { timestampFormats: FIREHOSE_TIMESTAMP_FORMATS } },
          },
          outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
          schemaConfiguration: {
            catalogId: stack.account,
            databaseName: NAMES.glueDatabase,
            tableName: EVENTS_TABLE,
            region: stack.region,
            roleArn: role.roleArn,
            versionId: 'LATEST',
          },
        },
      },
    });
    // Firehose checks its role when the stream is created: the policy must exist first.
    delivery.node.addDependency(policy);
    delivery.addResourceDependency(this.table);
    return delivery;
  }
}
