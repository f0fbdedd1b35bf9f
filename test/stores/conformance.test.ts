/**
 * The AlertStore contract, one suite for every backend (SQLite in a temp folder; DynamoDB on dynalite),
 * then what only the DynamoDB backend promises: the reference item shape, table checks, retries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Alert, alertId, type KeyType, type Severity } from '../../src/core/alert.js';
import { StorepulseError } from '../../src/core/errors.js';
import { DynamoAlertStore } from '../../src/stores/dynamodb/alert-store.js';
import { sortKey } from '../../src/stores/dynamodb/item.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import type { AlertStore } from '../../src/stores/types.js';
import { type Dynalite, startDynalite } from '../helpers/dynalite.js';

const CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };

interface AlertSpec {
  rule?: string;
  keyType?: KeyType;
  key?: string;
  user?: number | null;
  windowStart?: string;
  count?: number;
  severity?: Severity;
  evidence?: Record<string, unknown>;
}

function alert(s: AlertSpec = {}): Alert {
  const rule = s.rule ?? 'reference-user-rate';
  const keyType = s.keyType ?? 'user';
  const user = s.user === undefined ? (keyType === 'user' ? 541312140 : null) : s.user;
  const key = s.key ?? String(user);
  const windowStart = s.windowStart ?? '2019-10-01T00:00:10.000Z';
  const count = s.count ?? 6;
  return {
    id: alertId(rule, keyType, key, Date.parse(windowStart)),
    rule,
    severity: s.severity ?? (count > 10 ? 'high' : 'medium'),
    key_type: keyType,
    key,
    user_id: user,
    window_start: windowStart,
    window_end: new Date(Date.parse(windowStart) + 10_000).toISOString(),
    count,
    score: count / 5,
    first_seen: windowStart,
    last_seen: new Date(Date.parse(windowStart) + 9_321).toISOString(),
    detected_event_time: new Date(Date.parse(windowStart) + 20_000).toISOString(),
    detected_at: '2026-11-27T00:00:00.000Z',
    evidence: s.evidence ?? { category_id: '2053013555631882655' },
  };
}

/** `n` distinct user alerts in one window. */
function manyAlerts(n: number, windowStart = '2019-10-01T00:00:10.000Z'): Alert[] {
  return Array.from({ length: n }, (_, i) => alert({ user: 1000 + i, windowStart, count: 6 + (i % 10) }));
}

interface Backend {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A new, empty store. */
  open(): Promise<AlertStore>;
  /** Cleans up what open() made. */
  drop(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  return {
    name: 'SqliteAlertStore',
    async setup() {},
    async teardown() {},
    async open() {
      dir = mkdtempSync(path.join(tmpdir(), 'sp-conformance-'));
      return new SqliteAlertStore(path.join(dir, 'alerts.sqlite'), 'web-1');
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function dynamoBackend(): Backend {
  let emulator: Dynalite | undefined;
  let tables = 0;
  return {
    name: 'DynamoAlertStore',
    async setup() {
      emulator = await startDynalite();
    },
    async teardown() {
      await emulator?.stop();
    },
    async open() {
      // One table per test keeps tests apart without restarting the emulator.
      const store = new DynamoAlertStore({
        table: `alerts-${++tables}`,
        endpoint: emulator!.endpoint,
        region: 'us-east-1',
        credentials: CREDENTIALS,
        appServer: 'web-1',
        createTable: true,
      });
      await store.open();
      return store;
    },
    async drop() {},
  };
}

describe.each([sqliteBackend(), dynamoBackend()])('AlertStore conformance: $name', (backend) => {
  let store: AlertStore;
  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
    await backend.drop();
  });

  it('starts empty', async () => {
    expect(await store.put([])).toEqual([]);
    expect(await store.list()).toEqual([]);
    expect(await store.counts()).toEqual({ total: 0, bySeverity: { low: 0, medium: 0, high: 0 }, users: 0 });
    expect(await store.alertedUsers()).toEqual([]);
  });

  it('puts idempotently by id: a replay returns nothing and changes nothing', async () => {
    const a = [alert({ user: 1 }), alert({ user: 2, count: 12 })];
    expect(await store.put(a)).toEqual(a);
    // The same alerts detected again later (another wall clock) are still the same alerts.
    expect(await store.put(a.map((x) => ({ ...x, detected_at: '2026-11-28T00:00:00.000Z' })))).toEqual([]);
    expect(await store.list()).toEqual([a[0], a[1]]);
  });

  it('returns only the new alerts of a mixed batch, in input order, and an id once', async () => {
    const [a, b, c, d] = [1, 2, 3, 4].map((user) => alert({ user }));
    await store.put([a!, b!]);
    expect(await store.put([b!, c!, a!, d!, c!])).toEqual([c, d]);
    expect((await store.counts()).total).toBe(4);
  });

  it('takes more alerts in one put than one DynamoDB batch holds', async () => {
    const many = manyAlerts(130);
    const fresh = await store.put(many);
    expect(fresh).toHaveLength(130);
    expect(fresh).toEqual(many);
    expect(await store.put(many)).toEqual([]);
    const more = manyAlerts(140);
    expect(await store.put(more)).toEqual(more.slice(130));
    expect((await store.counts()).total).toBe(140);
    expect(await store.alertedUsers()).toEqual(more.map((a) => a.user_id));
  });

  it('keeps two rules alerting on the same user in the same second apart', async () => {
    const reference = alert({ rule: 'reference-user-rate', count: 6 });
    const burst = alert({ rule: 'burst', count: 40, severity: 'high' });
    const spike = alert({ rule: 'spike', count: 9, severity: 'low' });
    expect(reference.id).not.toBe(burst.id);
    expect(await store.put([reference, burst])).toEqual([reference, burst]);
    expect(await store.put([spike, burst])).toEqual([spike]);
    const listed = await store.list();
    expect(listed).toHaveLength(3);
    expect(new Set(listed.map((a) => a.id))).toEqual(new Set([reference.id, burst.id, spike.id]));
    expect(await store.list({ rule: 'burst' })).toEqual([burst]);
    expect(await store.counts()).toEqual({ total: 3, bySeverity: { low: 1, medium: 1, high: 1 }, users: 1 });
  });

  it('lists newest window first, then by key, with filters and a limit', async () => {
    const w = (s: number): string => new Date(Date.UTC(2019, 9, 1, 0, 0, s)).toISOString();
    const a = [
      alert({ user: 7, windowStart: w(10), count: 6 }),
      alert({ user: 9, windowStart: w(30), count: 12 }),
      alert({ user: 10, windowStart: w(30), count: 8 }),
      alert({ user: 7, windowStart: w(20), count: 15, rule: 'burst' }),
      alert({
        keyType: 'session',
        key: 'sess-a',
        user: 7,
        windowStart: w(40),
        count: 30,
        rule: 'session-rate',
      }),
      alert({ keyType: 'global', key: 'all', windowStart: w(0), count: 900, rule: 'spike', severity: 'low' }),
    ];
    await store.put(a);
    // Window 30 holds keys "10" and "9": text order, as keys are text.
    expect(await store.list()).toEqual([a[4], a[2], a[1], a[3], a[0], a[5]]);
    expect(await store.list({ limit: 2 })).toEqual([a[4], a[2]]);
    expect(await store.list({ limit: 0 })).toEqual([]);
    expect(await store.list({ severity: 'high' })).toEqual([a[4], a[1], a[3]]);
    expect(await store.list({ severity: 'low' })).toEqual([a[5]]);
    expect(await store.list({ userId: 7 })).toEqual([a[4], a[3], a[0]]);
    expect(await store.list({ userId: 7, rule: 'burst' })).toEqual([a[3]]);
    expect(await store.list({ userId: 7, severity: 'medium' })).toEqual([a[0]]);
    expect(await store.list({ rule: 'reference-user-rate', limit: 1 })).toEqual([a[2]]);
    expect(await store.list({ userId: 12345 })).toEqual([]);
  });

  it('counts by severity and distinct users, and lists alerted users ascending', async () => {
    await store.put([
      alert({ user: 10, count: 6 }),
      alert({ user: 9, count: 12 }),
      alert({ user: 10, count: 20, rule: 'burst' }),
      alert({ user: 541312140, count: 7 }),
      alert({ keyType: 'global', key: 'all', count: 500, severity: 'low' }),
      alert({ keyType: 'session', key: 'sess-b', user: null, count: 6 }),
    ]);
    expect(await store.counts()).toEqual({ total: 6, bySeverity: { low: 1, medium: 3, high: 2 }, users: 3 });
    // Numeric order (9 before 10), users only.
    expect(await store.alertedUsers()).toEqual([9, 10, 541312140]);
  });

  it('gives back every field exactly as it was put', async () => {
    const tricky: Alert = {
      ...alert({
        keyType: 'session',
        key: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
        user: 541312140,
        rule: 'session-rate',
        evidence: {
          category_id: '2103807459595387724',
          nested: { events: [1, 2.5, null, true], brand: 'ÿ “quoted” \u0000 \n 🛒' },
          empty: '',
          none: null,
        },
      }),
      score: 0.1 + 0.2,
      count: 2 ** 31 + 3,
      detected_at: '2026-11-27T12:34:56.789Z',
    };
    const global = alert({ keyType: 'global', key: '', count: 1, evidence: {}, severity: 'low' });
    const user = alert({ user: 2 ** 40 + 1, count: 11 });
    await store.put([tricky, global, user]);
    const back = await store.list();
    expect(back).toHaveLength(3);
    for (const a of [tricky, global, user]) expect(back.find((b) => b.id === a.id)).toStrictEqual(a);
  });
});

describe('DynamoAlertStore specifics', () => {
  let emulator: Dynalite;
  let client: DynamoDBClient;
  let tables = 0;
  const table = (): string => `specific-${++tables}`;
  const options = (over: Partial<ConstructorParameters<typeof DynamoAlertStore>[0]> = {}) => ({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    appServer: 'web-1',
    ...over,
  });

  beforeAll(async () => {
    emulator = await startDynalite();
    client = new DynamoDBClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
    });
  });
  afterAll(async () => {
    client.destroy();
    await emulator.stop();
  });

  it('writes the reference item: partition userid#<id>#appserver#<name>, sort key epoch seconds', async () => {
    const name = table();
    const store = new DynamoAlertStore(options({ table: name, createTable: true }));
    const a = alert({ user: 541312140, count: 6 });
    const s = alert({ keyType: 'session', key: 'sess-1', user: null });
    const g = alert({ keyType: 'global', key: 'all', severity: 'low' });
    await store.put([a, s, g]);
    await store.close();
    const { Items = [] } = await client.send(new ScanCommand({ TableName: name }));
    const byId = new Map(Items.map((i) => [i.id!.S!, i]));
    const item = byId.get(a.id)!;
    expect(item.ddb_partition_key).toEqual({ S: 'userid#541312140#appserver#web-1' });
    expect(Math.floor(Number(item.ddb_sort_key!.N))).toBe(Date.UTC(2019, 9, 1, 0, 0, 10) / 1000);
    expect(item.num_actions_per_watermark).toEqual({ N: '6' });
    expect(item.user_id).toEqual({ N: '541312140' });
    expect(item.evidence).toEqual({ S: JSON.stringify(a.evidence) });
    expect(byId.get(s.id)!.ddb_partition_key).toEqual({ S: 'session#sess-1#appserver#web-1' });
    expect(byId.get(s.id)!.user_id).toBeUndefined();
    expect(byId.get(g.id)!.ddb_partition_key).toEqual({ S: 'global#all#appserver#web-1' });
  });

  it('derives the sort key from the window second and the id: stable, distinct, 38 digits', () => {
    const a = alert({ rule: 'a' });
    const b = alert({ rule: 'b' });
    expect(sortKey(a)).toBe(sortKey({ ...a, detected_at: 'later' }));
    expect(sortKey(a)).not.toBe(sortKey(b));
    expect(sortKey(a)).toMatch(/^1569888010\.\d{28}$/);
  });

  it('refuses a missing table unless asked to create it, and a table with another key', async () => {
    const missing = new DynamoAlertStore(options({ table: table() }));
    await expect(missing.list()).rejects.toThrow(
      /does not exist.*ddb_partition_key \(S\).*ddb_sort_key \(N\)/,
    );
    await missing.close();

    const other = table();
    await client.send(
      new CreateTableCommand({
        TableName: other,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const wrong = new DynamoAlertStore(options({ table: other }));
    const err = await wrong.put([alert()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).code).toBe('STATE');
    expect((err as StorepulseError).message).toMatch(/has key pk/);
    await wrong.close();
  });

  it('ignores items of the reference Lambda and of other app servers, and will not overwrite them', async () => {
    const name = table();
    const mine = new DynamoAlertStore(options({ table: name, createTable: true }));
    const theirs = new DynamoAlertStore(options({ table: name, appServer: 'web-2' }));
    const a = alert({ user: 5 });
    await mine.put([a]);
    expect(await theirs.put([a])).toEqual([a]);
    expect(await theirs.counts()).toMatchObject({ total: 1 });
    // What the reference Lambda writes: its stream-2 record plus the keys.
    await client.send(
      new PutItemCommand({
        TableName: name,
        Item: {
          ddb_partition_key: { S: 'userid#6#appserver#web-1' },
          ddb_sort_key: { N: sortKey(alert({ user: 6 })) },
          user_id: { N: '6' },
          num_actions_per_watermark: { N: '9' },
        },
      }),
    );
    expect(await mine.list()).toEqual([a]);
    expect(await mine.alertedUsers()).toEqual([5]);
    await expect(mine.put([alert({ user: 6 })])).rejects.toThrow(/same DynamoDB item/);
    await mine.close();
    await theirs.close();
  });

  it('retries unprocessed items and throttling with backoff', async () => {
    const throttled = new DynamoDBClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
    });
    const send = throttled.send.bind(throttled) as (cmd: unknown) => Promise<unknown>;
    let writes = 0;
    // The first BatchWriteItem is throttled as a whole; the second writes only half and hands the
    // rest back as UnprocessedItems, as DynamoDB does under load.
    (throttled as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd) => {
      if (!(cmd instanceof BatchWriteItemCommand)) return send(cmd);
      writes++;
      if (writes === 1) {
        throw Object.assign(new Error('slow down'), {
          name: 'ProvisionedThroughputExceededException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      if (writes === 2) {
        const requests = Object.values(cmd.input.RequestItems!)[0]!;
        const half = Math.ceil(requests.length / 2);
        const name = Object.keys(cmd.input.RequestItems!)[0]!;
        await send(new BatchWriteItemCommand({ RequestItems: { [name]: requests.slice(0, half) } }));
        return {
          UnprocessedItems: { [name]: requests.slice(half) },
          $metadata: {},
        } satisfies BatchWriteItemCommandOutput;
      }
      return send(cmd);
    };
    const store = new DynamoAlertStore(options({ table: table(), createTable: true, client: throttled }));
    const many = manyAlerts(20);
    expect(await store.put(many)).toEqual(many);
    expect(writes).toBe(3);
    expect((await store.counts()).total).toBe(20);
    await store.close();
    throttled.destroy();
  });

  it('gives up on items left unprocessed after maxRetries, saying how many and after how many retries', async () => {
    const stuck = new DynamoDBClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
    });
    const send = stuck.send.bind(stuck) as (cmd: unknown) => Promise<unknown>;
    let writes = 0;
    // Every BatchWriteItem hands all its items back, as a table throttled for long does.
    (stuck as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd) => {
      if (!(cmd instanceof BatchWriteItemCommand)) return send(cmd);
      writes++;
      return {
        UnprocessedItems: cmd.input.RequestItems,
        $metadata: {},
      } satisfies BatchWriteItemCommandOutput;
    };
    const name = table();
    const store = new DynamoAlertStore(
      options({ table: name, createTable: true, client: stuck, maxRetries: 2 }),
    );
    const err = await store.put(manyAlerts(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorepulseError);
    expect(err).toMatchObject({
      code: 'IO',
      retryable: true,
      message: `BatchWriteItem on DynamoDB table "${name}" failed after 2 retries: UnprocessedItems: 3 of 3 items unprocessed`,
    });
    expect(writes).toBe(3);
    await store.close();
    stuck.destroy();
  });
});
