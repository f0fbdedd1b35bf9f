/**
 * What the AWS backends share: how a failure reads and whether it is retried, where the region comes
 * from, where a failed request went, and the SDK's Node-version notice kept out of the output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  awsCall,
  awsClient,
  awsError,
  awsErrorCode,
  PartialBatchError,
  retryableAwsCode,
} from '../../src/aws/sdk.js';
import { StorepulseError } from '../../src/core/errors.js';
import { freePort } from '../helpers/ports.js';

/** An error shaped like the SDK's: a name, a message, and the HTTP status when there was an answer. */
const sdkError = (name: string, message: string, status?: number) =>
  Object.assign(new Error(message), {
    name,
    $metadata: status === undefined ? {} : { httpStatusCode: status },
  });

/** A Node socket error as the SDK passes it on. */
const networkError = (code: string, message: string) =>
  Object.assign(new Error(message), { code, $metadata: { attempts: 1 } });

describe('awsError', () => {
  it('names the call, the resource, the AWS error and the retries; throttling is retryable', () => {
    const err = awsError(
      'Kinesis',
      'PutRecords',
      'stream "clicks"',
      sdkError('ProvisionedThroughputExceededException', 'Rate exceeded', 400),
      3,
    );
    expect(err).toBeInstanceOf(StorepulseError);
    expect(err.message).toBe(
      'PutRecords on Kinesis stream "clicks" failed after 3 retries: ProvisionedThroughputExceededException: Rate exceeded',
    );
    expect(err).toMatchObject({ code: 'IO', retryable: true });
    expect(
      awsError('DynamoDB', 'Scan', 'table "t"', sdkError('ThrottlingException', 'x', 400), 1).message,
    ).toBe('Scan on DynamoDB table "t" failed after 1 retry: ThrottlingException: x');
  });

  it('retries 429, 5xx, throttling and network failures; not other client errors', () => {
    const retryable = (e: unknown) => awsError('SNS', 'Publish', 'topic t', e).retryable;
    expect(retryable(sdkError('TooManyRequests', 'slow', 429))).toBe(true);
    expect(retryable(sdkError('InternalServerError', 'oops', 500))).toBe(true);
    expect(retryable(sdkError('ThrottledException', 'slow', 400))).toBe(true);
    expect(retryable(sdkError('KMSThrottlingException', 'slow', 400))).toBe(true);
    expect(retryable(networkError('ECONNRESET', 'socket hang up'))).toBe(true);
    expect(retryable(Object.assign(new Error('wrapped'), { cause: networkError('ETIMEDOUT', 'x') }))).toBe(
      true,
    );
    expect(retryable(sdkError('AbortError', 'aborted'))).toBe(true);
    expect(retryable(sdkError('ValidationException', 'bad', 400))).toBe(false);
    expect(retryable(sdkError('AuthorizationError', 'no', 403))).toBe(false);
    expect(retryable(sdkError('CredentialsProviderError', 'no credentials'))).toBe(false);
    expect(retryable(new TypeError('a bug'))).toBe(false);
  });

  it('makes a missing stream bad input and a missing table a store not set up', () => {
    const missing = sdkError('ResourceNotFoundException', 'not found', 400);
    expect(awsError('Kinesis', 'GetRecords', 'stream "s"', missing)).toMatchObject({
      code: 'INPUT',
      retryable: false,
    });
    expect(awsError('DynamoDB', 'Scan', 'table "t"', missing).code).toBe('STATE');
    expect(awsErrorCode(awsError('DynamoDB', 'Scan', 'table "t"', missing))).toBe(
      'ResourceNotFoundException',
    );
  });

  it('says which endpoint could not be reached, or which answered with no AWS answer', () => {
    const refused = networkError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443');
    expect(awsError('SNS', 'Publish', 'topic t', refused, 2).message).toBe(
      'Publish on SNS topic t failed after 2 retries: cannot reach the SNS endpoint ' +
        '(ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:443)',
    );
    // Node's connect to every address of a host: an AggregateError without a message of its own.
    const everyAddress = Object.assign(
      new AggregateError([
        new Error('connect ECONNREFUSED ::1:9'),
        new Error('connect ECONNREFUSED 127.0.0.1:9'),
      ]),
      { code: 'ECONNREFUSED' },
    );
    expect(awsError('Kinesis', 'ListShards', 'stream "s"', everyAddress).message).toBe(
      'ListShards on Kinesis stream "s" failed: cannot reach the Kinesis endpoint ' +
        '(ECONNREFUSED: connect ECONNREFUSED ::1:9; connect ECONNREFUSED 127.0.0.1:9)',
    );
    const proxyPage = sdkError('Unknown', 'UnknownError', 502);
    expect(awsError('DynamoDB', 'Scan', 'table "t"', proxyPage)).toMatchObject({
      message:
        'Scan on DynamoDB table "t" failed: the DynamoDB endpoint answered HTTP 502, which is no DynamoDB answer',
      retryable: true,
    });
  });

  it("keeps storepulse's own errors, and classifies what a batch left by its per-item code", () => {
    const own = new StorepulseError('INTERNAL', 'answered 2 results for 3 records');
    expect(awsError('Kinesis', 'PutRecords', 'stream "s"', own, 4)).toBe(own);
    const throttled = new PartialBatchError(
      'ProvisionedThroughputExceededException',
      '2 of 5 records not written',
    );
    expect(awsError('Kinesis', 'PutRecords', 'stream "s"', throttled, 8)).toMatchObject({
      message:
        'PutRecords on Kinesis stream "s" failed after 8 retries: ProvisionedThroughputExceededException: ' +
        '2 of 5 records not written',
      retryable: true,
    });
    expect(
      awsError('Kinesis', 'PutRecords', 'stream "s"', new PartialBatchError('KMSDisabledException', 'x'))
        .retryable,
    ).toBe(false);
    expect(
      awsError(
        'DynamoDB',
        'BatchWriteItem',
        'table "t"',
        new PartialBatchError('UnprocessedItems', 'x', true),
      ).retryable,
    ).toBe(true);
    expect(['InternalFailure', 'ServiceUnavailable', 'LimitExceededException'].every(retryableAwsCode)).toBe(
      true,
    );
  });
});

describe('awsClient', () => {
  const saved = { ...process.env };
  const dirs: string[] = [];
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The region a client made with these options and this environment settles on. */
  async function regionOf(env: Record<string, string | undefined>, region?: string): Promise<string> {
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-aws-'));
    dirs.push(dir);
    const config = path.join(dir, 'config');
    writeFileSync(config, env.profileRegion ? `[default]\nregion = ${env.profileRegion}\n` : '');
    for (const key of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[key];
    Object.assign(process.env, { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: config });
    for (const [key, value] of Object.entries(env))
      if (key.startsWith('AWS_') && value) process.env[key] = value;
    const client = awsClient(DynamoDBClient, region ? { region } : {});
    try {
      return await client.config.region();
    } finally {
      client.destroy();
    }
  }

  it('takes the region given, else AWS_REGION, AWS_DEFAULT_REGION, the config file, us-east-1', async () => {
    const all = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2', profileRegion: 'eu-west-3' };
    expect(await regionOf(all, 'ap-south-1')).toBe('ap-south-1');
    expect(await regionOf(all)).toBe('eu-west-1');
    expect(await regionOf({ ...all, AWS_REGION: undefined })).toBe('eu-west-2');
    expect(await regionOf({ profileRegion: 'eu-west-3' })).toBe('eu-west-3');
    expect(await regionOf({})).toBe('us-east-1');
  });

  it('turns SDK retries off, so that storepulse retries are the only ones, and names the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const client = awsClient(DynamoDBClient, {
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    let calls = 0;
    try {
      const target = { service: 'DynamoDB' as const, resource: 'table "t"', maxRetries: 1 };
      const err = await awsCall(target, 'DescribeTable', () => {
        calls++;
        return client.send(new DescribeTableCommand({ TableName: 't' }));
      }).catch((e: unknown) => e);
      expect((err as StorepulseError).message).toMatch(
        `DescribeTable on DynamoDB table "t" failed after 1 retry: cannot reach ${endpoint} (ECONNREFUSED`,
      );
      expect((err as { cause: { $metadata: { attempts: number } } }).cause.$metadata.attempts).toBe(1);
      expect(calls).toBe(2);
    } finally {
      client.destroy();
    }
  });

  it("keeps the SDK's Node-version notice out of the output, and every other warning in it", async () => {
    const hooks = pathToFileURL(path.resolve(import.meta.dirname, '../helpers/ts-hooks.mjs')).href;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        path.resolve(import.meta.dirname, 'fixtures/notice-child.ts'),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // As a user starts it: without the switch that an earlier client of this test process set.
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined },
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toContain('another warning, still shown');
    expect(output).not.toContain('NodeVersionSupportWarning');
  });

  it('leaves a setting of that switch by the user as it is', () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'false';
    awsClient(DynamoDBClient, { region: 'us-east-1' }).destroy();
    expect(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('false');
  });
});
