/**
 * Alerts in Amazon DynamoDB, in the reference architecture's table (`ddb-ecommerce-tab-1`) and key
 * scheme: partition key `ddb_partition_key` = `userid#<user_id>#appserver#<name>`, sort key
 * `ddb_sort_key` = epoch seconds (see item.ts for the per-id fraction that keeps two rules' alerts in
 * the same second apart). Works against AWS and against dynalite through `endpoint`.
 *
 * Idempotency: put() first reads which of the alerts' keys exist (BatchGetItem, strongly consistent),
 * then writes only the missing ones (BatchWriteItem). A replay therefore writes nothing and reports
 * nothing. BatchWriteItem takes no conditions, so two writers racing on the same new alert can both
 * report it as new (the item itself is written once, at one key, with the same content but
 * `detected_at`); one processor per stream, as storepulse runs it, never races with itself.
 *
 * What people decide is kept in the same table: an acknowledgement as the attribute `acknowledged_at`
 * of the alert's item (UpdateItem, so a replayed put, which writes nothing, leaves it), a mute as an
 * item of its own under a `mute#` partition key (item.ts) that every alert scan skips.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  type ScanCommandInput,
  type TableDescription,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type AwsCredentials,
  awsCall,
  awsClient,
  awsErrorCode,
  type AwsTarget,
  PartialBatchError,
} from '../../aws/sdk.js';
import type { Alert, Severity } from '../../core/alert.js';
import { StorepulseError } from '../../core/errors.js';
import { RETRY_DEFAULTS } from '../../core/retry.js';
import { sleep } from '../../core/sleep.js';
import {
  type AlertCounts,
  type AlertMute,
  type AlertQuery,
  type AlertStore,
  storeInstant,
  type StoredAlert,
} from '../types.js';
import {
  fromItem,
  fromMuteItem,
  type Item,
  itemKey,
  type ItemKey,
  MUTE_PREFIX,
  muteItem,
  PARTITION_KEY,
  SORT_KEY,
  toItem,
} from './item.js';
import { DEFAULT_DYNAMODB_TABLE } from './options.js';
import { DETECT_DEFAULTS } from '../../core/rules/options.js';

/** DynamoDB limits: BatchWriteItem 25 items (and 16 MB, which 25 items of at most 400 KB never reach), BatchGetItem 100 keys. */
const MAX_WRITE_BATCH = 25;
const MAX_GET_BATCH = 100;
/** Operands of one IN in a filter expression (a DynamoDB limit). */
const MAX_IN_OPERANDS = 100;
/** UpdateItem calls in flight at once when acknowledging many alerts. */
const UPDATE_CONCURRENCY = 16;
const ACTIVE_TIMEOUT_MS = 5 * 60_000;

export interface DynamoAlertStoreOptions {
  /** Default `ddb-ecommerce-tab-1`, the reference table. */
  table?: string;
  /** Default from the AWS environment or config files, else 'us-east-1'. */
  region?: string;
  /** e.g. http://127.0.0.1:4567 for dynalite. */
  endpoint?: string;
  /** The `<name>` in `…#appserver#<name>`; default 'storepulse'. Items of other app servers are not listed. */
  appServer?: string;
  /** Static credentials (dynalite takes any); otherwise the AWS SDK's default provider chain. */
  credentials?: AwsCredentials;
  /** Optional injection; an injected client stays the caller's (close() does not destroy it). */
  client?: DynamoDBClient;
  /** Create the table (on-demand billing) when it does not exist; otherwise a missing table is an error. */
  createTable?: boolean;
  /** Retries of a throttled or failed call, and of unprocessed items or keys, before giving up. */
  maxRetries?: number;
}

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

function keyString(pk: string, sk: string): string {
  // DynamoDB gives numbers back in canonical form: no trailing zeros in the fraction.
  const canonical = sk.includes('.') ? sk.replace(/0+$/, '').replace(/\.$/, '') : sk;
  return `${pk}\u0000${canonical}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Newest window first, then by key, rule and id, so that the order is total. */
function newestFirst(a: Alert, b: Alert): number {
  if (a.window_start !== b.window_start) return a.window_start < b.window_start ? 1 : -1;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A live feed's order: newest detection first, then by id. */
function newestDetectedFirst(a: Alert, b: Alert): number {
  return byText(b.detected_at, a.detected_at) || byText(a.id, b.id);
}

export class DynamoAlertStore implements AlertStore {
  readonly table: string;
  readonly appServer: string;
  readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly target: AwsTarget;
  private readonly createTable: boolean;
  private readonly endpoint: string | undefined;
  private ready: Promise<void> | undefined;

  constructor(opts: DynamoAlertStoreOptions = {}) {
    this.table = opts.table ?? DEFAULT_DYNAMODB_TABLE;
    if (!TABLE_NAME.test(this.table)) {
      throw new StorepulseError(
        'USAGE',
        `"${this.table}" is not a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)`,
      );
    }
    this.appServer = opts.appServer ?? DETECT_DEFAULTS.appServer;
    const maxRetries = opts.maxRetries ?? RETRY_DEFAULTS.maxRetries;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new StorepulseError('USAGE', `maxRetries must be a non-negative integer, got ${opts.maxRetries}`);
    }
    this.target = { service: 'DynamoDB', resource: `table "${this.table}"`, maxRetries };
    this.createTable = opts.createTable ?? false;
    this.endpoint = opts.endpoint;
    this.ownsClient = opts.client === undefined;
    const { region, endpoint, credentials } = opts;
    this.client = opts.client ?? awsClient(DynamoDBClient, { region, endpoint, credentials });
  }

  /** Checks (or creates) the table once; every operation awaits it. */
  open(): Promise<void> {
    this.ready ??= this.ensureTable().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return awsCall(this.target, op, fn);
  }

  private async describe(): Promise<TableDescription | undefined> {
    try {
      const out = await this.call('DescribeTable', () =>
        this.client.send(new DescribeTableCommand({ TableName: this.table })),
      );
      return out.Table;
    } catch (err) {
      if (awsErrorCode(err) === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }

  private async ensureTable(): Promise<void> {
    let table = await this.describe();
    if (table === undefined) {
      if (!this.createTable) {
        const where = `region ${await this.client.config.region()}${this.endpoint ? `, endpoint ${this.endpoint}` : ''}`;
        throw new StorepulseError(
          'STATE',
          `DynamoDB table "${this.table}" does not exist (${where}); create it with partition key ` +
            `${PARTITION_KEY} (S) and sort key ${SORT_KEY} (N), or let storepulse create it`,
        );
      }
      try {
        await this.call('CreateTable', () =>
          this.client.send(
            new CreateTableCommand({
              TableName: this.table,
              BillingMode: 'PAY_PER_REQUEST',
              AttributeDefinitions: [
                { AttributeName: PARTITION_KEY, AttributeType: 'S' },
                { AttributeName: SORT_KEY, AttributeType: 'N' },
              ],
              KeySchema: [
                { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
                { AttributeName: SORT_KEY, KeyType: 'RANGE' },
              ],
            }),
          ),
        );
      } catch (err) {
        // Someone else created it meanwhile: fine, wait for it like for ours.
        if (awsErrorCode(err) !== 'ResourceInUseException') throw err;
      }
      table = await this.describe();
    }
    const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
    for (let wait = 25; table?.TableStatus === 'CREATING'; wait = Math.min(1000, wait * 2)) {
      if (Date.now() > deadline)
        throw new StorepulseError('STATE', `DynamoDB table "${this.table}" still CREATING after 5 minutes`);
      await sleep(wait);
      table = await this.describe();
    }
    if (table === undefined || table.TableStatus === 'DELETING') {
      throw new StorepulseError('STATE', `DynamoDB table "${this.table}" is being deleted`);
    }
    const hash = table.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = table.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    const types = new Map(table.AttributeDefinitions?.map((d) => [d.AttributeName, d.AttributeType]));
    if (
      hash !== PARTITION_KEY ||
      range !== SORT_KEY ||
      types.get(PARTITION_KEY) !== 'S' ||
      types.get(SORT_KEY) !== 'N'
    ) {
      throw new StorepulseError(
        'STATE',
        `DynamoDB table "${this.table}" has key ${hash ?? '?'} / ${range ?? '?'}; storepulse needs partition key ` +
          `${PARTITION_KEY} (S) and sort key ${SORT_KEY} (N), as the reference table`,
      );
    }
  }

  async put(alerts: readonly Alert[]): Promise<Alert[]> {
    await this.open();
    // One entry per key, first of an id wins (as INSERT OR IGNORE would).
    const pending = new Map<string, { alert: Alert; key: ItemKey }>();
    for (const alert of alerts) {
      const key = itemKey(alert, this.appServer);
      const k = keyString(key[PARTITION_KEY].S, key[SORT_KEY].N);
      const seen = pending.get(k);
      if (seen === undefined) pending.set(k, { alert, key });
      else if (seen.alert.id !== alert.id) throw collision(seen.alert.id, alert.id, k);
    }
    for (const [k, id] of await this.existingIds([...pending.values()].map((p) => p.key))) {
      const p = pending.get(k);
      if (p === undefined) continue;
      if (p.alert.id !== id) throw collision(id, p.alert.id, k);
      pending.delete(k);
    }
    const fresh = [...pending.values()].map((p) => p.alert);
    // Serialise (and check sizes) before the first write, so a bad alert fails the whole put early.
    const items = fresh.map((a) => toItem(a, this.appServer));
    for (const batch of chunks(items, MAX_WRITE_BATCH)) await this.writeBatch(batch);
    return fresh;
  }

  /** Key string → id of the items that exist at these keys. */
  private async existingIds(keys: readonly ItemKey[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const batch of chunks(keys, MAX_GET_BATCH)) {
      let pending: Record<string, AttributeValue>[] = batch;
      await this.call('BatchGetItem', async () => {
        const out = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.table]: {
                Keys: pending,
                ConsistentRead: true,
                ProjectionExpression: '#pk, #sk, #id',
                ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#id': 'id' },
              },
            },
          }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          const pk = item[PARTITION_KEY]?.S;
          const sk = item[SORT_KEY]?.N;
          // An item without an id was written by someone else (the reference Lambda, say).
          if (pk !== undefined && sk !== undefined) found.set(keyString(pk, sk), item.id?.S ?? '(no id)');
        }
        pending = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
        if (pending.length > 0) throw unprocessed('UnprocessedKeys', pending.length, batch.length, 'keys');
      });
    }
    return found;
  }

  private async writeBatch(items: Item[]): Promise<void> {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    await this.call('BatchWriteItem', async () => {
      const out = await this.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } }),
      );
      pending = (out.UnprocessedItems?.[this.table] ?? []).flatMap((w) =>
        w.PutRequest?.Item ? [{ PutRequest: { Item: w.PutRequest.Item } }] : [],
      );
      if (pending.length > 0) throw unprocessed('UnprocessedItems', pending.length, items.length, 'items');
    });
  }

  /**
   * Every storepulse item of this app server of one kind: a full Scan (the table has no secondary
   * index). Alerts are the items with an id outside the mute partitions, so neither the reference
   * Lambda's items (no id) nor mutes are ever read as alerts; mutes are the items in those partitions.
   */
  private async scan(
    input: Omit<ScanCommandInput, 'TableName'> = {},
    of: 'alerts' | 'mutes' = 'alerts',
  ): Promise<Item[]> {
    await this.open();
    const items: Item[] = [];
    const names = {
      '#app': 'app_server',
      '#pk': PARTITION_KEY,
      ...(of === 'alerts' ? { '#id': 'id' } : {}),
      ...input.ExpressionAttributeNames,
    };
    const values = {
      ':app': { S: this.appServer },
      ':mute': { S: MUTE_PREFIX },
      ...input.ExpressionAttributeValues,
    };
    const kind =
      of === 'alerts' ? 'attribute_exists(#id) AND NOT begins_with(#pk, :mute)' : 'begins_with(#pk, :mute)';
    const filter = `${kind} AND #app = :app${input.FilterExpression ? ` AND (${input.FilterExpression})` : ''}`;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const from = start;
      const out = await this.call('Scan', () =>
        this.client.send(
          new ScanCommand({
            ...input,
            TableName: this.table,
            ConsistentRead: true,
            FilterExpression: filter,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ExclusiveStartKey: from,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async list(q: AlertQuery = {}): Promise<StoredAlert[]> {
    const where: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    if (q.severity) {
      where.push('#severity = :severity');
      names['#severity'] = 'severity';
      values[':severity'] = { S: q.severity };
    }
    // A Scan, not a Query on the user's partition: session alerts can carry a user_id too.
    if (q.userId !== undefined) {
      where.push('#user = :user');
      names['#user'] = 'user_id';
      values[':user'] = { N: String(q.userId) };
    }
    if (q.rule) {
      where.push('#rule = :rule');
      names['#rule'] = 'rule';
      values[':rule'] = { S: q.rule };
    }
    if (q.keyType) {
      where.push('#keyType = :keyType');
      names['#keyType'] = 'key_type';
      values[':keyType'] = { S: q.keyType };
    }
    if (q.key !== undefined) {
      where.push('#key = :key');
      names['#key'] = 'key';
      values[':key'] = { S: q.key };
    }
    if (q.detectedSince !== undefined) {
      // Text order is time order: every detected_at and the bound are in toISOString's form.
      where.push('#detected >= :since');
      names['#detected'] = 'detected_at';
      values[':since'] = { S: storeInstant(q.detectedSince, 'detectedSince') };
    }
    const items = await this.scan(
      where.length
        ? {
            FilterExpression: where.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }
        : {},
    );
    const alerts = items
      .map(fromItem)
      .sort(q.detectedSince !== undefined ? newestDetectedFirst : newestFirst);
    return q.limit !== undefined && q.limit >= 0 ? alerts.slice(0, q.limit) : alerts;
  }

  async counts(): Promise<AlertCounts> {
    const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0 };
    const users = new Set<string>();
    const items = await this.scan({
      ProjectionExpression: '#severity, #user',
      ExpressionAttributeNames: { '#severity': 'severity', '#user': 'user_id' },
    });
    for (const item of items) {
      const severity = item.severity?.S as Severity | undefined;
      if (severity !== undefined) bySeverity[severity] = (bySeverity[severity] ?? 0) + 1;
      if (item.user_id?.N !== undefined) users.add(item.user_id.N);
    }
    return { total: items.length, bySeverity, users: users.size };
  }

  async alertedUsers(): Promise<number[]> {
    const items = await this.scan({
      ProjectionExpression: '#user',
      FilterExpression: 'attribute_exists(#user)',
      ExpressionAttributeNames: { '#user': 'user_id' },
    });
    const users = new Set(items.flatMap((i) => (i.user_id?.N !== undefined ? [Number(i.user_id.N)] : [])));
    return [...users].sort((a, b) => a - b);
  }

  async acknowledge(ids: readonly string[], at: string): Promise<number> {
    const when = storeInstant(at, 'acknowledge: at');
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return 0;
    // An id does not give its item's key (that takes the alert's key and window start), so a Scan
    // finds the keys: filtered by the ids when they fit in one IN, else matched here.
    const byIds =
      wanted.length <= MAX_IN_OPERANDS
        ? {
            FilterExpression: `#id IN (${wanted.map((_, i) => `:id${i}`).join(', ')})`,
            ExpressionAttributeValues: Object.fromEntries(wanted.map((id, i) => [`:id${i}`, { S: id }])),
          }
        : {};
    const items = await this.scan({
      ProjectionExpression: '#pk, #sk, #id',
      ExpressionAttributeNames: { '#sk': SORT_KEY },
      ...byIds,
    });
    const wantedSet = new Set(wanted);
    const found = items.filter((item) => item.id?.S !== undefined && wantedSet.has(item.id.S));
    let acknowledged = 0;
    for (const batch of chunks(found, UPDATE_CONCURRENCY)) {
      // Settled, not raced: no update is left running behind a failure.
      const results = await Promise.allSettled(batch.map((item) => this.acknowledgeItem(item, when)));
      for (const r of results) {
        if (r.status === 'rejected') throw r.reason;
        if (r.value) acknowledged++;
      }
    }
    return acknowledged;
  }

  /** Sets the item's acknowledged_at unless it is set; false when the item is gone since the Scan. */
  private async acknowledgeItem(item: Item, at: string): Promise<boolean> {
    const { [PARTITION_KEY]: pk, [SORT_KEY]: sk, id } = item;
    if (pk === undefined || sk === undefined || id === undefined) return false;
    try {
      await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { [PARTITION_KEY]: pk, [SORT_KEY]: sk },
            // if_not_exists: acknowledging again keeps the first time (and a retried call is harmless).
            UpdateExpression: 'SET #ack = if_not_exists(#ack, :at)',
            // Only the alert's own item: UpdateItem on a key without an item would create one.
            ConditionExpression: '#id = :id',
            ExpressionAttributeNames: { '#ack': 'acknowledged_at', '#id': 'id' },
            ExpressionAttributeValues: { ':at': { S: at }, ':id': id },
          }),
        ),
      );
      return true;
    } catch (err) {
      if (awsErrorCode(err) === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async mute(m: AlertMute): Promise<void> {
    const until = storeInstant(m.until, 'mute: until');
    const item = muteItem({ ...m, until, at: storeInstant(m.at, 'mute: at') }, this.appServer);
    await this.open();
    // A plain put: it replaces the key's earlier mute, and an unmute is a mute that has ended.
    await this.call('PutItem', () =>
      this.client.send(new PutItemCommand({ TableName: this.table, Item: item })),
    );
  }

  async mutes(now: string): Promise<AlertMute[]> {
    const items = await this.scan(
      {
        FilterExpression: '#until > :now',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': { S: storeInstant(now, 'mutes: now') } },
      },
      'mutes',
    );
    return items.map(fromMuteItem).sort((a, b) => byText(a.key, b.key) || byText(a.keyType, b.keyType));
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/**
 * What DynamoDB left of a batch: it leaves items or keys unprocessed when their partitions are
 * throttled, so they are retried with the rest of the call's retries.
 */
function unprocessed(code: string, left: number, of: number, what: string): PartialBatchError {
  return new PartialBatchError(code, `${left} of ${of} ${what} unprocessed`, true);
}

function collision(stored: string, incoming: string, key: string): StorepulseError {
  return new StorepulseError(
    'STATE',
    `alerts ${stored} and ${incoming} map to the same DynamoDB item (${key.replace('\u0000', ' / ')}); ` +
      'refusing to overwrite one with the other',
  );
}
