/**
 * The detection-state table (partition key `pk`, sort key `sk`, TTL attribute `ttl`; env
 * STATE_TABLE_NAME), as the handlers use it. Items:
 *
 * - `chunk#<shardId>` / `<n>`: the decoded events of one delivery (gzip JSON), in shard order, with
 *   the position (sequence and sub-sequence number) of its last record. Written on the condition that
 *   chunk `n` does not exist yet: the chunks are the record of what was applied, so a record is
 *   applied once however often (and however cut) its batch is delivered. No transactions: DynamoDB
 *   emulators lack them, and one conditional put per delivery is all it takes.
 * - `progress` / `<shardId>`: a pointer to the shard's newest chunk and the wall time it came, so one
 *   Query finds every shard; rolled forward from the chunks when a crash left it behind.
 * - `detector` / `head`: the one detector's version, which chunks of each shard it has merged, and
 *   whether the alerts of that version are on stream 2 yet. Replaced only on the condition that the
 *   version is still the one read (optimistic lock).
 * - `state` / `<version>#<writer token>#<part>`: that version's processor state (processor-state.ts) and the alerts
 *   it fired, gzip JSON cut into parts below DynamoDB's 400 KB item limit.
 * - `deadletter#<shardId>` / `<seq>#<sub>`: a record that did not decode, with the reason.
 * - `notified#<delivery id>` / `sns`: the actions handler's claim and done-mark of one notification.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { awsCall, awsErrorCode, type AwsTarget } from '../sdk.js';
import type { Position } from './records.js';

/** Below DynamoDB's 400 KB per item, with room for the keys and the other attributes. */
const PART_BYTES = 350_000;
const DAY_S = 86_400;
/** Chunks outlive the stream's longest retention (365 days is the maximum; 7 days is the default here). */
const CHUNK_TTL_S = 7 * DAY_S;
const STATE_TTL_S = 30 * DAY_S;
const DEADLETTER_TTL_S = 14 * DAY_S;

const pad = (n: number) => String(n).padStart(12, '0');
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const ttl = (nowMs: number, seconds: number) => N(Math.floor(nowMs / 1000) + seconds);

export interface ShardProgress {
  shardId: string;
  last: Position;
  /** Newest chunk number (0: none yet). */
  chunk: number;
  /** Wall ms of the last chunk. */
  heardAt: number;
}

export interface Head {
  version: number;
  /** Which writer's parts of this version are the committed ones (every step writes its own). */
  token: string;
  parts: number;
  /** Shard → newest chunk number merged into the detector. */
  merged: Record<string, number>;
  alertsPut: boolean;
  /** Wall ms of the first commit: a listed shard that never sent holds the watermark back until idle from then. */
  since: number;
}

export interface Chunk {
  shardId: string;
  n: number;
  /** Newest event time in it (-Infinity when none has one). */
  newest: number;
  /** Position of its last record. */
  last: Position;
  /** Wall ms it was written. */
  heardAt: number;
  data: Buffer;
}

export function gzipJson(value: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(value)), { level: 1 });
}

export function gunzipJson<T>(data: Buffer): T {
  return JSON.parse(gunzipSync(data).toString('utf8')) as T;
}

export class StateTable {
  readonly target: AwsTarget;

  constructor(
    readonly client: DynamoDBClient,
    readonly table: string,
    maxRetries = 8,
  ) {
    this.target = { service: 'DynamoDB', resource: `table "${table}"`, maxRetries };
  }

  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return awsCall(this.target, op, fn);
  }

  /** Runs a conditional write: false when the condition did not hold. */
  private async conditional(op: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.call(op, fn);
      return true;
    } catch (err) {
      // awsErrorCode looks through storepulse's wrapping (awsCall) to the SDK's error.
      if (awsErrorCode(err) === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  private async queryAll(pk: string, after?: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const from = start;
      const res = await this.call('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            ConsistentRead: true,
            KeyConditionExpression: after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
            ExpressionAttributeValues: {
              ':pk': S(pk),
              ...(after === undefined ? {} : { ':after': S(after) }),
            },
            ExclusiveStartKey: from,
          }),
        ),
      );
      items.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    return items;
  }

  // ---- per-shard progress and chunks ----

  async progress(): Promise<ShardProgress[]> {
    return (await this.queryAll('progress')).map(toProgress);
  }

  async shardProgress(shardId: string): Promise<ShardProgress | undefined> {
    const res = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: S('progress'), sk: S(shardId) },
          ConsistentRead: true,
        }),
      ),
    );
    return res.Item ? toProgress(res.Item) : undefined;
  }

  /**
   * Writes chunk `n` of a shard, on the condition that no chunk `n` exists: false when one does (a
   * delivery of the same records that got there first, or crashed after it). A chunk is the record
   * of what was applied: the progress item only points at the newest one, and is rolled forward
   * from the chunks when a crash left it behind.
   */
  putChunk(shardId: string, n: number, chunk: { data: Buffer; newest: number; last: Position }, now: number) {
    return this.conditional('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: S(`chunk#${shardId}`),
            sk: S(pad(n)),
            newest: N(Number.isFinite(chunk.newest) ? chunk.newest : -1),
            seq: S(chunk.last.sequenceNumber),
            sub: N(chunk.last.subSequence),
            heardAt: N(now),
            data: { B: chunk.data },
            ttl: ttl(now, CHUNK_TTL_S),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /** Points a shard's progress at chunk `p.chunk`, if it still points at `before` (none: no item yet). */
  setProgress(before: number | undefined, p: ShardProgress): Promise<boolean> {
    return this.conditional('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: S('progress'),
            sk: S(p.shardId),
            seq: S(p.last.sequenceNumber),
            sub: N(p.last.subSequence),
            chunk: N(p.chunk),
            heardAt: N(p.heardAt),
          },
          ConditionExpression: before === undefined ? 'attribute_not_exists(pk)' : 'chunk = :prev',
          ...(before === undefined ? {} : { ExpressionAttributeValues: { ':prev': N(before) } }),
        }),
      ),
    );
  }

  /** A shard's chunks after number `after`, in order. */
  async chunksAfter(shardId: string, after: number): Promise<Chunk[]> {
    return (await this.queryAll(`chunk#${shardId}`, pad(after))).map((it) => ({
      shardId,
      n: Number(it.sk!.S),
      newest: Number(it.newest!.N) < 0 ? -Infinity : Number(it.newest!.N),
      last: { sequenceNumber: it.seq!.S!, subSequence: Number(it.sub!.N) },
      heardAt: Number(it.heardAt!.N),
      data: Buffer.from(it.data!.B!),
    }));
  }

  // ---- the detector: head and versioned state ----

  async head(): Promise<Head | undefined> {
    const res = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: S('detector'), sk: S('head') },
          ConsistentRead: true,
        }),
      ),
    );
    const it = res.Item;
    if (!it) return undefined;
    return {
      version: Number(it.version!.N),
      token: it.token!.S!,
      parts: Number(it.parts!.N),
      merged: JSON.parse(it.merged!.S!) as Record<string, number>,
      alertsPut: it.alertsPut?.BOOL ?? true,
      since: Number(it.since?.N ?? 0),
    };
  }

  /** Writes a version's state in parts; returns how many. */
  async writeState(version: number, token: string, data: Buffer, now: number): Promise<number> {
    const parts = Math.max(1, Math.ceil(data.length / PART_BYTES));
    await Promise.all(
      Array.from({ length: parts }, (_, i) =>
        this.call('PutItem', () =>
          this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: {
                pk: S('state'),
                sk: S(`${pad(version)}#${token}#${pad(i)}`),
                data: { B: data.subarray(i * PART_BYTES, (i + 1) * PART_BYTES) },
                ttl: ttl(now, STATE_TTL_S),
              },
            }),
          ),
        ),
      ),
    );
    return parts;
  }

  /** A version's state; undefined when its parts are gone (a newer version was committed meanwhile). */
  async readState(head: Head): Promise<Buffer | undefined> {
    const res = await this.call('Query', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          ConsistentRead: true,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
          ExpressionAttributeValues: { ':pk': S('state'), ':v': S(`${pad(head.version)}#${head.token}#`) },
        }),
      ),
    );
    const items = res.Items ?? [];
    if (items.length !== head.parts) return undefined;
    return Buffer.concat(items.map((it) => Buffer.from(it.data!.B!)));
  }

  /** Replaces the head if it is still at `expected` (undefined: none yet). False when it was not. */
  commitHead(expected: number | undefined, next: Head, now: number): Promise<boolean> {
    return this.conditional('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: S('detector'),
            sk: S('head'),
            version: N(next.version),
            token: S(next.token),
            parts: N(next.parts),
            merged: S(JSON.stringify(next.merged)),
            alertsPut: { BOOL: next.alertsPut },
            since: N(next.since),
            committedAt: N(now),
          },
          ConditionExpression: expected === undefined ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':v': N(expected) } }),
        }),
      ),
    );
  }

  /** Notes that version `version`'s alerts are on stream 2 (nothing when the head has moved on). */
  async markAlertsPut(version: number): Promise<void> {
    await this.conditional('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S('detector'), sk: S('head') },
          UpdateExpression: 'SET alertsPut = :t',
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':t': { BOOL: true }, ':v': N(version) },
        }),
      ),
    );
  }

  /** Removes a superseded version's parts (best effort: they expire anyway). */
  async dropState(version: number, token: string, parts: number): Promise<void> {
    await Promise.all(
      Array.from({ length: parts }, (_, i) =>
        this.call('DeleteItem', () =>
          this.client.send(
            new DeleteItemCommand({
              TableName: this.table,
              Key: { pk: S('state'), sk: S(`${pad(version)}#${token}#${pad(i)}`) },
            }),
          ),
        ),
      ),
    );
  }

  // ---- dead letters and notification marks ----

  async deadLetter(
    entries: readonly { shardId: string; position: Position; reason: string; raw: string }[],
    now: number,
  ): Promise<void> {
    for (const e of entries) {
      await this.call('PutItem', () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              pk: S(`deadletter#${e.shardId}`),
              sk: S(`${e.position.sequenceNumber}#${pad(e.position.subSequence)}`),
              reason: S(e.reason),
              raw: S(e.raw),
              at: N(now),
              ttl: ttl(now, DEADLETTER_TTL_S),
            },
          }),
        ),
      );
    }
  }

  /** Dead letters of a shard (for tests and `aws dynamodb query`-style inspection). */
  async deadLetters(shardId: string): Promise<{ key: string; reason: string }[]> {
    return (await this.queryAll(`deadletter#${shardId}`)).map((it) => ({
      key: it.sk!.S!,
      reason: it.reason!.S!,
    }));
  }

  /**
   * Claims a notification: true when this caller may send it (no claim yet, or a claim whose lease
   * ran out without the send being marked done); false when it is done or another caller holds it.
   */
  claimNotification(deliveryId: string, holder: string, leaseMs: number, now: number): Promise<boolean> {
    return this.conditional('PutItem', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: S(`notified#${deliveryId}`),
            sk: S('sns'),
            state: S('claimed'),
            holder: S(holder),
            leaseUntil: N(now + leaseMs),
            ttl: ttl(now, STATE_TTL_S),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (#s = :claimed AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':claimed': S('claimed'), ':now': N(now) },
        }),
      ),
    );
  }

  /** Whether a notification is marked done. */
  async notificationDone(deliveryId: string): Promise<boolean> {
    const res = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: S(`notified#${deliveryId}`), sk: S('sns') },
          ConsistentRead: true,
        }),
      ),
    );
    return res.Item?.state?.S === 'sent';
  }

  /** Gives a claim up after a failed send, so that the retry need not wait for the lease. */
  async releaseNotification(deliveryId: string, holder: string): Promise<void> {
    await this.conditional('DeleteItem', () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: S(`notified#${deliveryId}`), sk: S('sns') },
          ConditionExpression: 'holder = :me AND #s = :claimed',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':me': S(holder), ':claimed': S('claimed') },
        }),
      ),
    );
  }

  async markNotified(deliveryId: string, holder: string, now: number): Promise<void> {
    await this.conditional('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S(`notified#${deliveryId}`), sk: S('sns') },
          UpdateExpression: 'SET #s = :sent, sentAt = :now',
          ConditionExpression: 'holder = :me',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':sent': S('sent'), ':now': N(now), ':me': S(holder) },
        }),
      ),
    );
  }
}

function toProgress(it: Record<string, AttributeValue>): ShardProgress {
  return {
    shardId: it.sk!.S!,
    last: { sequenceNumber: it.seq!.S!, subSequence: Number(it.sub!.N) },
    chunk: Number(it.chunk!.N),
    heardAt: Number(it.heardAt!.N),
  };
}
