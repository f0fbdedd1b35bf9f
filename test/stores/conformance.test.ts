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
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Alert, alertId, type KeyType, type Severity } from '../../src/core/alert.js';
import { StorepulseError } from '../../src/core/errors.js';
import { DynamoAlertStore } from '../../src/stores/dynamodb/alert-store.js';
import { sortKey } from '../../src/stores/dynamodb/item.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import type { AlertMute, AlertStore, StoredAlert } from '../../src/stores/types.js';
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
  detectedAt?: string;
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
    detected_at: s.detectedAt ?? '2026-11-27T00:00:00.000Z',
    evidence: s.evidence ?? { category_id: '2053013555631882655' },
  };
}

/** The alert as list() gives it back. */
function stored(a: Alert, acknowledgedAt: string | null = null): StoredAlert {
  return { ...a, acknowledged_at: acknowledgedAt };
}

/** `minutes` after noon of 2026-11-27, ISO-8601. */
function noonPlus(minutes: number): string {
  return new Date(Date.UTC(2026, 10, 27, 12) + minutes * 60_000).toISOString();
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
    expect(await store.list()).toEqual(a.map((x) => stored(x)));
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
    expect(await store.list({ rule: 'burst' })).toEqual([stored(burst)]);
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
    const of = (...i: number[]): StoredAlert[] => i.map((n) => stored(a[n]!));
    expect(await store.list()).toEqual(of(4, 2, 1, 3, 0, 5));
    expect(await store.list({ limit: 2 })).toEqual(of(4, 2));
    expect(await store.list({ limit: 0 })).toEqual([]);
    expect(await store.list({ severity: 'high' })).toEqual(of(4, 1, 3));
    expect(await store.list({ severity: 'low' })).toEqual(of(5));
    expect(await store.list({ userId: 7 })).toEqual(of(4, 3, 0));
    expect(await store.list({ userId: 7, rule: 'burst' })).toEqual(of(3));
    expect(await store.list({ userId: 7, severity: 'medium' })).toEqual(of(0));
    expect(await store.list({ rule: 'reference-user-rate', limit: 1 })).toEqual(of(2));
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
    for (const a of [tricky, global, user]) expect(back.find((b) => b.id === a.id)).toStrictEqual(stored(a));
  });

  it('lists detections since an instant, newest detection first (ties by id), with filters and a limit', async () => {
    const w = (s: number): string => new Date(Date.UTC(2019, 9, 1, 0, 0, s)).toISOString();
    // Detection order is not window order: a live feed wants what was found last, whatever its window.
    const a = [
      alert({ user: 1, windowStart: w(50), detectedAt: noonPlus(-1) }),
      alert({ user: 2, windowStart: w(10), detectedAt: noonPlus(0) }),
      alert({ user: 3, windowStart: w(20), detectedAt: noonPlus(2), count: 12 }),
      alert({ user: 4, windowStart: w(30), detectedAt: noonPlus(2) }),
      alert({ keyType: 'session', key: 's-1', user: null, windowStart: w(0), detectedAt: noonPlus(1) }),
    ];
    await store.put(a);
    const tie = [a[2]!, a[3]!].sort((x, y) => (x.id < y.id ? -1 : 1));
    const since = await store.list({ detectedSince: noonPlus(0) });
    expect(since).toEqual([...tie, a[4]!, a[1]!].map((x) => stored(x)));
    // The bound is an instant, not text: without milliseconds, or in another zone, it is the same.
    expect(await store.list({ detectedSince: '2026-11-27T12:00:00Z' })).toEqual(since);
    expect(await store.list({ detectedSince: '2026-11-27T13:00:00+01:00' })).toEqual(since);
    expect(await store.list({ detectedSince: noonPlus(0), limit: 2 })).toEqual(tie.map((x) => stored(x)));
    expect(await store.list({ detectedSince: noonPlus(0), severity: 'high' })).toEqual([stored(a[2]!)]);
    expect(await store.list({ detectedSince: noonPlus(0), keyType: 'session' })).toEqual([stored(a[4]!)]);
    expect(await store.list({ detectedSince: noonPlus(3) })).toEqual([]);
    expect(await store.list({ detectedSince: noonPlus(-60) })).toHaveLength(5);
    // Without detectedSince the order stays newest window first.
    expect((await store.list()).map((x) => x.key)).toEqual(['1', '4', '3', '2', 's-1']);
    await expect(store.list({ detectedSince: 'yesterday' })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/detectedSince.*"yesterday"/),
    });
  });

  it('filters by key type and key', async () => {
    const user7 = alert({ user: 7 });
    const session7 = alert({ keyType: 'session', key: '7', user: 7, rule: 'session-rate' });
    const sessionB = alert({ keyType: 'session', key: 'sess-b', user: null, rule: 'session-rate' });
    const global = alert({ keyType: 'global', key: 'all', severity: 'low' });
    await store.put([user7, session7, sessionB, global]);
    expect(await store.list({ keyType: 'session', key: '7' })).toEqual([stored(session7)]);
    expect(await store.list({ keyType: 'user', key: '7' })).toEqual([stored(user7)]);
    expect(await store.list({ keyType: 'session', key: 'sess-b' })).toEqual([stored(sessionB)]);
    expect(new Set((await store.list({ keyType: 'session' })).map((x) => x.id))).toEqual(
      new Set([session7.id, sessionB.id]),
    );
    expect(new Set((await store.list({ key: '7' })).map((x) => x.id))).toEqual(
      new Set([user7.id, session7.id]),
    );
    expect(await store.list({ keyType: 'global', key: 'all' })).toEqual([stored(global)]);
    expect(await store.list({ keyType: 'user', key: 'sess-b' })).toEqual([]);
  });

  it('stores product, category and brand alerts (no user) and filters them by key type and key', async () => {
    const product = alert({ keyType: 'product', key: '1004856', user: null, rule: 'product-view-surge' });
    const category = alert({
      keyType: 'category',
      key: '2053013555631882655',
      user: null,
      rule: 'category-view-surge',
    });
    const brand = alert({ keyType: 'brand', key: 'samsung', user: null, rule: 'brand-view-surge' });
    // A user whose id reads like the product id: the key type keeps them apart.
    const user = alert({ user: 1004856 });
    expect(await store.put([product, category, brand, user])).toHaveLength(4);
    expect(await store.put([product])).toEqual([]);
    expect(await store.list({ keyType: 'product', key: '1004856' })).toEqual([stored(product)]);
    expect(await store.list({ keyType: 'category' })).toEqual([stored(category)]);
    expect(await store.list({ keyType: 'brand', key: 'samsung' })).toEqual([stored(brand)]);
    expect(new Set((await store.list({ key: '1004856' })).map((x) => x.id))).toEqual(
      new Set([product.id, user.id]),
    );
    // Item alerts flag no user.
    expect(await store.alertedUsers()).toEqual([1004856]);
    await store.mute({ keyType: 'brand', key: 'samsung', until: noonPlus(10), at: noonPlus(0) });
    expect(await store.mutes(noonPlus(1))).toEqual([
      { keyType: 'brand', key: 'samsung', until: noonPlus(10), at: noonPlus(0) },
    ]);
  });

  it('acknowledges: counts what it found, ignores unknown ids, keeps the first time, survives a replay', async () => {
    const [a, b, c] = [1, 2, 3].map((user) => alert({ user }));
    await store.put([a!, b!, c!]);
    const ack = async (): Promise<Record<string, string | null>> =>
      Object.fromEntries((await store.list()).map((x) => [x.key, x.acknowledged_at]));
    expect(await ack()).toEqual({ 1: null, 2: null, 3: null });

    // Duplicates count once, unknown ids not at all; an instant in another zone is kept as UTC.
    expect(await store.acknowledge([a!.id, 'no-such-alert', b!.id, a!.id], '2026-11-27T13:00:00+01:00')).toBe(
      2,
    );
    expect(await ack()).toEqual({ 1: noonPlus(0), 2: noonPlus(0), 3: null });

    // Again: a and c found, a keeps its first time, c gets this one.
    expect(await store.acknowledge([a!.id, c!.id], noonPlus(30))).toBe(2);
    expect(await ack()).toEqual({ 1: noonPlus(0), 2: noonPlus(0), 3: noonPlus(30) });

    expect(await store.acknowledge([], noonPlus(40))).toBe(0);
    expect(await store.acknowledge(['no-such-alert'], noonPlus(40))).toBe(0);

    // A replay (the same alerts, detected again) is not new and leaves the acknowledgements alone.
    const replay = [a!, b!, c!].map((x) => ({ ...x, detected_at: noonPlus(50) }));
    expect(await store.put(replay)).toEqual([]);
    expect(await ack()).toEqual({ 1: noonPlus(0), 2: noonPlus(0), 3: noonPlus(30) });
    expect(await store.list({ userId: 3 })).toEqual([stored(c!, noonPlus(30))]);
    expect(await store.counts()).toMatchObject({ total: 3 });
    await expect(store.acknowledge([a!.id], 'now')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('acknowledges more alerts at once than one DynamoDB filter takes', async () => {
    const many = manyAlerts(130);
    await store.put(many);
    const ids = many.slice(0, 120).map((a) => a.id);
    expect(await store.acknowledge([...ids, 'no-such-alert'], noonPlus(0))).toBe(120);
    const listed = await store.list();
    expect(listed.filter((a) => a.acknowledged_at === noonPlus(0))).toHaveLength(120);
    expect(listed.filter((a) => a.acknowledged_at === null).map((a) => a.id)).toEqual(
      expect.arrayContaining(many.slice(120).map((a) => a.id)),
    );
  });

  it('mutes a key until a time, replaces and ends mutes, and lists those in force by key', async () => {
    expect(await store.mutes(noonPlus(0))).toEqual([]);
    const user9: AlertMute = { keyType: 'user', key: '9', until: noonPlus(60), at: noonPlus(0) };
    const session: AlertMute = {
      keyType: 'session',
      key: 'sess-a',
      until: noonPlus(120),
      at: noonPlus(0),
      note: 'QA load test, see ticket 42',
    };
    const global: AlertMute = { keyType: 'global', key: 'all', until: noonPlus(30), at: noonPlus(0) };
    // The same key under another key type is another mute.
    const session9: AlertMute = { keyType: 'session', key: '9', until: noonPlus(60), at: noonPlus(1) };
    for (const m of [session, user9, global, session9]) await store.mute(m);
    // By key ('9' before 'all' in text order), then key type.
    expect(await store.mutes(noonPlus(0))).toEqual([session9, user9, global, session]);
    // Expiry: a mute is over at its `until`.
    expect(await store.mutes(noonPlus(30))).toEqual([session9, user9, session]);
    expect(await store.mutes(noonPlus(119))).toEqual([session]);
    expect(await store.mutes(noonPlus(120))).toEqual([]);

    // Muting again replaces, note included; instants in another form are kept as UTC.
    await store.mute({
      keyType: 'session',
      key: 'sess-a',
      until: '2026-11-27T15:00:00+01:00',
      at: noonPlus(5),
    });
    expect((await store.mutes(noonPlus(0))).filter((m) => m.key === 'sess-a')).toEqual([
      { keyType: 'session', key: 'sess-a', until: noonPlus(120), at: noonPlus(5) },
    ]);
    // Unmuting is muting until a time past.
    await store.mute({ ...user9, until: noonPlus(-1), at: noonPlus(10) });
    expect((await store.mutes(noonPlus(10))).map((m) => `${m.keyType}:${m.key}`)).toEqual([
      'session:9',
      'global:all',
      'session:sess-a',
    ]);
    await expect(store.mute({ ...user9, until: 'tomorrow' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(store.mutes('')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('keeps mutes out of list, counts and alertedUsers', async () => {
    const a = [
      alert({ user: 9 }),
      alert({ keyType: 'session', key: 'sess-a', user: 9, rule: 'session-rate' }),
    ];
    await store.mute({ keyType: 'user', key: '11', until: noonPlus(60), at: noonPlus(0) });
    expect(await store.list()).toEqual([]);
    expect(await store.list({ detectedSince: noonPlus(-1e6) })).toEqual([]);
    expect(await store.counts()).toEqual({ total: 0, bySeverity: { low: 0, medium: 0, high: 0 }, users: 0 });
    expect(await store.alertedUsers()).toEqual([]);

    await store.put(a);
    // Muted keys' alerts are still listed: the reader marks them.
    await store.mute({ keyType: 'user', key: '9', until: noonPlus(60), at: noonPlus(0) });
    await store.mute({ keyType: 'session', key: 'sess-a', until: noonPlus(60), at: noonPlus(0) });
    expect(new Set((await store.list()).map((x) => x.id))).toEqual(new Set(a.map((x) => x.id)));
    expect(await store.list({ keyType: 'user', key: '9' })).toEqual([stored(a[0]!)]);
    expect(await store.list({ userId: 11 })).toEqual([]);
    expect(await store.counts()).toEqual({ total: 2, bySeverity: { low: 0, medium: 2, high: 0 }, users: 1 });
    expect(await store.alertedUsers()).toEqual([9]);
    expect(await store.acknowledge([a[0]!.id], noonPlus(1))).toBe(1);
    expect(await store.mutes(noonPlus(0))).toHaveLength(3);
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

  it('keys item alerts by type: product#<id>#appserver#<name>, category#…, brand#…', async () => {
    const name = table();
    const store = new DynamoAlertStore(options({ table: name, createTable: true }));
    const p = alert({ keyType: 'product', key: '1004856', user: null, rule: 'product-view-surge' });
    const c = alert({ keyType: 'category', key: '2053013555631882655', user: null, rule: 'c' });
    const b = alert({ keyType: 'brand', key: 'samsung', user: null, rule: 'b' });
    await store.put([p, c, b]);
    await store.close();
    const { Items = [] } = await client.send(new ScanCommand({ TableName: name }));
    const byId = new Map(Items.map((i) => [i.id!.S!, i]));
    expect(byId.get(p.id)!.ddb_partition_key).toEqual({ S: 'product#1004856#appserver#web-1' });
    expect(byId.get(p.id)!.user_id).toBeUndefined();
    expect(byId.get(c.id)!.ddb_partition_key).toEqual({
      S: 'category#2053013555631882655#appserver#web-1',
    });
    expect(byId.get(b.id)!.ddb_partition_key).toEqual({ S: 'brand#samsung#appserver#web-1' });
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
    expect(await mine.list()).toEqual([stored(a)]);
    expect(await mine.alertedUsers()).toEqual([5]);
    await expect(mine.put([alert({ user: 6 })])).rejects.toThrow(/same DynamoDB item/);
    await mine.close();
    await theirs.close();
  });

  it('keeps an acknowledgement on the alert item and a mute in an item of its own, per app server', async () => {
    const name = table();
    const store = new DynamoAlertStore(options({ table: name, createTable: true }));
    const other = new DynamoAlertStore(options({ table: name, appServer: 'web-2' }));
    const a = alert({ user: 541312140 });
    await store.put([a]);
    // Another app server's store sees neither the alert nor its mutes.
    expect(await other.acknowledge([a.id], noonPlus(0))).toBe(0);
    expect(await store.acknowledge([a.id], noonPlus(0))).toBe(1);
    await store.mute({
      keyType: 'user',
      key: '541312140',
      until: noonPlus(60),
      at: noonPlus(0),
      note: 'bot?',
    });
    expect(await other.mutes(noonPlus(0))).toEqual([]);
    expect(await other.list()).toEqual([]);

    const { Items = [] } = await client.send(new ScanCommand({ TableName: name }));
    expect(Items).toHaveLength(2);
    const alertItem = Items.find((i) => i.id?.S === a.id)!;
    // The reference key is untouched by the acknowledgement.
    expect(alertItem.ddb_partition_key).toEqual({ S: 'userid#541312140#appserver#web-1' });
    expect(alertItem.ddb_sort_key).toEqual({ N: sortKey(a).replace(/0+$/, '') });
    expect(alertItem.acknowledged_at).toEqual({ S: noonPlus(0) });
    const muteItem = Items.find((i) => i.id === undefined)!;
    expect(muteItem).toEqual({
      ddb_partition_key: { S: 'mute#user#541312140#appserver#web-1' },
      ddb_sort_key: { N: '0' },
      app_server: { S: 'web-1' },
      key_type: { S: 'user' },
      key: { S: '541312140' },
      until: { S: noonPlus(60) },
      at: { S: noonPlus(0) },
      note: { S: 'bot?' },
    });
    // Muting again replaces the one item.
    await store.mute({ keyType: 'user', key: '541312140', until: noonPlus(-1), at: noonPlus(5) });
    const after = await client.send(new ScanCommand({ TableName: name }));
    expect(after.Items).toHaveLength(2);
    expect(await store.mutes(noonPlus(0))).toEqual([]);
    await store.close();
    await other.close();
  });

  it('does not create an item when acknowledging an alert whose item is gone', async () => {
    const name = table();
    const store = new DynamoAlertStore(options({ table: name, createTable: true }));
    const a = alert({ user: 5 });
    await store.put([a]);
    // The item goes between the Scan that finds it and the UpdateItem: the condition turns the update down.
    const send = store.client.send.bind(store.client) as (cmd: unknown) => Promise<unknown>;
    (store.client as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd) => {
      if (cmd instanceof UpdateItemCommand) {
        await send(new DeleteItemCommand({ TableName: name, Key: cmd.input.Key! }));
      }
      return send(cmd);
    };
    expect(await store.acknowledge([a.id], noonPlus(0))).toBe(0);
    const { Items = [] } = await client.send(new ScanCommand({ TableName: name }));
    expect(Items).toEqual([]);
    await store.close();
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

describe('SqliteAlertStore specifics', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sp-migrate-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The file as the version before acknowledgements and mutes wrote it: its schema and insert, verbatim. */
  function oldStoreFile(file: string, alerts: Alert[]): void {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(`
CREATE TABLE IF NOT EXISTS alerts (
  id TEXT PRIMARY KEY,
  ddb_partition_key TEXT NOT NULL,
  ddb_sort_key INTEGER NOT NULL,
  num_actions_per_watermark INTEGER NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  key_type TEXT NOT NULL,
  key TEXT NOT NULL,
  user_id INTEGER,
  window_start TEXT NOT NULL,
  window_end TEXT NOT NULL,
  score REAL NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  detected_event_time TEXT NOT NULL,
  detected_at TEXT NOT NULL,
  evidence TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_item ON alerts (ddb_partition_key, ddb_sort_key);
CREATE INDEX IF NOT EXISTS alerts_window ON alerts (window_start);`);
    const insert = db.prepare(`INSERT OR IGNORE INTO alerts VALUES (
      @id, @ddb_partition_key, @ddb_sort_key, @num_actions_per_watermark, @rule, @severity, @key_type, @key,
      @user_id, @window_start, @window_end, @score, @first_seen, @last_seen, @detected_event_time,
      @detected_at, @evidence)`);
    for (const a of alerts) {
      insert.run({
        ...a,
        ddb_partition_key: `userid#${a.user_id ?? a.key}#appserver#web-1`,
        ddb_sort_key: Math.floor(Date.parse(a.window_start) / 1000),
        num_actions_per_watermark: a.count,
        evidence: JSON.stringify(a.evidence),
      });
    }
    db.close();
  }

  it('opens a file of the previous version, adds what it lacks, and loses nothing', async () => {
    const file = path.join(dir, 'alerts.sqlite');
    const old = [
      alert({ user: 1, detectedAt: noonPlus(0) }),
      alert({ user: 2, count: 12, detectedAt: noonPlus(1) }),
    ];
    oldStoreFile(file, old);

    let store = new SqliteAlertStore(file, 'web-1');
    // One window: by key.
    expect(await store.list()).toEqual([stored(old[0]!), stored(old[1]!)]);
    expect(await store.list({ detectedSince: noonPlus(1) })).toEqual([stored(old[1]!)]);
    expect(store.referenceItems()).toHaveLength(2);
    expect(await store.acknowledge([old[0]!.id], noonPlus(5))).toBe(1);
    const fresh = alert({ user: 3, detectedAt: noonPlus(2) });
    expect(await store.put([...old, fresh])).toEqual([fresh]);
    await store.mute({ keyType: 'user', key: '1', until: noonPlus(60), at: noonPlus(5) });
    await store.close();

    // Opening the migrated file again changes nothing.
    store = new SqliteAlertStore(file, 'web-1');
    expect(await store.list({ detectedSince: noonPlus(0) })).toEqual([
      stored(fresh),
      stored(old[1]!),
      stored(old[0]!, noonPlus(5)),
    ]);
    expect(await store.mutes(noonPlus(0))).toEqual([
      { keyType: 'user', key: '1', until: noonPlus(60), at: noonPlus(5) },
    ]);
    expect(await store.counts()).toEqual({ total: 3, bySeverity: { low: 0, medium: 2, high: 1 }, users: 3 });
    await store.close();

    const db = new Database(file, { readonly: true });
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('alerts');
    expect(columns.filter((c) => c === 'acknowledged_at')).toHaveLength(1);
    // The live feed's poll is served by an index, not a scan of every alert.
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE detected_at >= ? ORDER BY detected_at DESC, id')
      .all(noonPlus(0)) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('; ')).toMatch(/USING INDEX alerts_detected/);
    db.close();
  });
});
