/**
 * Amazon Kinesis Data Streams as a DurableStream (AWS SDK v3). Kinesis keeps no consumer positions, so
 * checkpoints go to the injected CheckpointStore (the storepulse SQLite store; the KCL keeps them in
 * a DynamoDB table instead). Works against AWS and against kinesis-local (kinesis-mock) through
 * `endpoint`.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  type ListShardsCommandOutput,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { type AwsCredentials, awsCall, awsClient, awsErrorCode, type AwsTarget } from '../../aws/sdk.js';
import { StorepulseError } from '../../core/errors.js';
import { RETRY_DEFAULTS } from '../../core/retry.js';
import { sleep } from '../../core/sleep.js';
import type {
  DurableStream,
  PutEntry,
  PutResult,
  ReadShardOptions,
  ShardInfo,
  ShardRead,
  ShardStats,
  StartPosition,
} from '../types.js';
import type { CheckpointStore } from '../../stores/types.js';
import { planPutRequests, putRequest } from './put.js';
import { readKinesisShard } from './read.js';

/** GetRecords allows 5 calls a second per shard: once a second while caught up leaves room for other readers. */
const KINESIS_POLL_MS = 1000;

export interface KinesisStreamOptions {
  name: string;
  /** Default from the AWS environment or config files, else 'us-east-1'. */
  region?: string;
  /** e.g. http://127.0.0.1:4567 for kinesis-local. */
  endpoint?: string;
  /** Static credentials (kinesis-local takes any); otherwise the AWS SDK's default provider chain. */
  credentials?: AwsCredentials;
  /**
   * Where consumer checkpoints live (the storepulse store, see SqliteCheckpointStore). Once the stream
   * is open it owns the store: close() and release() close it (when it has a close()).
   */
  checkpoints: CheckpointStore;
  /** Create the stream with this many shards when it does not exist (and wait until ACTIVE); otherwise a missing stream is a clear error. */
  createShards?: number;
  /** GetRecords poll interval when caught up (default 1000 like the KCL; tests use less). */
  pollMs?: number;
  /** Retries of a throttled or failed call (and of failed PutRecords entries) before giving up. */
  maxRetries?: number;
  /** Optional injection; an injected client stays the caller's (close() does not destroy it). */
  client?: KinesisClient;
}

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const ACTIVE_TIMEOUT_MS = 5 * 60_000;

export async function openKinesisStream(opts: KinesisStreamOptions): Promise<KinesisStream> {
  if (!STREAM_NAME.test(opts.name)) {
    throw new StorepulseError(
      'USAGE',
      `"${opts.name}" is not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)`,
    );
  }
  const { createShards, pollMs = KINESIS_POLL_MS, maxRetries = RETRY_DEFAULTS.maxRetries } = opts;
  if (createShards !== undefined && (!Number.isInteger(createShards) || createShards < 1)) {
    throw new StorepulseError('USAGE', `createShards must be a positive integer, got ${createShards}`);
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new StorepulseError('USAGE', `maxRetries must be a non-negative integer, got ${maxRetries}`);
  }
  if (!(pollMs >= 0)) throw new StorepulseError('USAGE', `pollMs must be >= 0, got ${pollMs}`);

  const owned = opts.client === undefined;
  const { region, endpoint, credentials } = opts;
  const client = opts.client ?? awsClient(KinesisClient, { region, endpoint, credentials });
  const stream = new KinesisStream(client, opts.name, opts.checkpoints, { pollMs, maxRetries, owned });
  try {
    await stream.ensureExists(createShards, opts.endpoint);
  } catch (err) {
    // The checkpoint store stays the caller's when opening fails.
    if (owned) client.destroy();
    throw err;
  }
  return stream;
}

class KinesisStream implements DurableStream {
  private readonly pollMs: number;
  private readonly target: AwsTarget;
  private readonly ownsClient: boolean;
  private released = false;

  constructor(
    readonly client: KinesisClient,
    readonly name: string,
    readonly checkpoints: CheckpointStore,
    opts: { pollMs?: number; maxRetries?: number; owned?: boolean } = {},
  ) {
    this.pollMs = opts.pollMs ?? KINESIS_POLL_MS;
    this.target = {
      service: 'Kinesis',
      resource: `stream "${name}"`,
      maxRetries: opts.maxRetries ?? RETRY_DEFAULTS.maxRetries,
    };
    this.ownsClient = opts.owned ?? false;
  }

  /** Checks the stream exists (creating it with `createShards` shards if asked) and waits until usable. */
  async ensureExists(createShards?: number, endpoint?: string): Promise<void> {
    let status = await this.status();
    if (status === undefined) {
      if (createShards === undefined) {
        const where = `region ${await this.client.config.region()}${endpoint ? `, endpoint ${endpoint}` : ''}`;
        throw new StorepulseError(
          'NOT_FOUND',
          `Kinesis stream "${this.name}" does not exist (${where}); create it first ` +
            `(aws kinesis create-stream --stream-name ${this.name} --shard-count N) or let storepulse create it`,
        );
      }
      try {
        await awsCall(this.target, 'CreateStream', () =>
          this.client.send(new CreateStreamCommand({ StreamName: this.name, ShardCount: createShards })),
        );
      } catch (err) {
        // Someone else created it meanwhile: fine, wait for it like for ours.
        if (awsErrorCode(err) !== 'ResourceInUseException') throw err;
      }
      status = 'CREATING';
    }
    const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
    for (let wait = 25; status !== 'ACTIVE' && status !== 'UPDATING'; wait = Math.min(1000, wait * 2)) {
      if (status === 'DELETING' || status === undefined) {
        throw new StorepulseError('STATE', `Kinesis stream "${this.name}" is being deleted`);
      }
      if (Date.now() > deadline) {
        throw new StorepulseError('STATE', `Kinesis stream "${this.name}" still ${status} after 5 minutes`);
      }
      await sleep(wait);
      status = await this.status();
    }
  }

  /** StreamStatus, or undefined when the stream does not exist. */
  private async status(): Promise<string | undefined> {
    try {
      const res = await awsCall(this.target, 'DescribeStreamSummary', () =>
        this.client.send(new DescribeStreamSummaryCommand({ StreamName: this.name })),
      );
      return res.StreamDescriptionSummary?.StreamStatus ?? 'ACTIVE';
    } catch (err) {
      if (awsErrorCode(err) === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }

  async putRecords(entries: readonly PutEntry[]): Promise<PutResult[]> {
    const requests = planPutRequests(entries);
    const results: PutResult[] = new Array<PutResult>(entries.length);
    const ctx = { client: this.client, streamName: this.name, target: this.target };
    for (const request of requests) await putRequest(ctx, request, results);
    return results;
  }

  async listShards(): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const res: ListShardsCommandOutput = await awsCall(this.target, 'ListShards', () =>
        this.client.send(
          // The API takes either the stream name or a NextToken, never both.
          new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.name }),
        ),
      );
      for (const s of res.Shards ?? []) shards.push(toShardInfo(this.name, s));
      nextToken = res.NextToken;
    } while (nextToken);
    return shards;
  }

  readShard(shardId: string, from: StartPosition, opts?: ReadShardOptions): AsyncIterable<ShardRead> {
    return readKinesisShard(
      { client: this.client, streamName: this.name, target: this.target, pollMs: this.pollMs },
      shardId,
      from,
      opts,
    );
  }

  /** Kinesis does not tell how many records a shard holds: only ids and the closed flag. */
  async stats(): Promise<ShardStats[]> {
    return (await this.listShards()).map((s) => ({ shardId: s.shardId, closed: s.closed }));
  }

  /** Nothing to seal (a Kinesis stream has no end): the same as release(). */
  async close(): Promise<void> {
    await this.release();
  }

  /** Closes the checkpoint store and the client's sockets (an injected client stays open). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.ownsClient) this.client.destroy();
    const store = this.checkpoints as CheckpointStore & { close?: () => unknown };
    if (typeof store.close === 'function') await store.close();
  }
}

function toShardInfo(stream: string, s: Shard): ShardInfo {
  if (!s.ShardId || !s.HashKeyRange?.StartingHashKey || !s.HashKeyRange.EndingHashKey) {
    throw new StorepulseError(
      'IO',
      `ListShards on Kinesis stream "${stream}": a shard without id or hash-key range: ${JSON.stringify(s)}`,
    );
  }
  const info: ShardInfo = {
    shardId: s.ShardId,
    startingHashKey: s.HashKeyRange.StartingHashKey,
    endingHashKey: s.HashKeyRange.EndingHashKey,
    closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
  };
  if (s.ParentShardId) info.parentShardId = s.ParentShardId;
  if (s.AdjacentParentShardId) info.adjacentParentShardId = s.AdjacentParentShardId;
  return info;
}
