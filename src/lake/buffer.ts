/**
 * The lake writer's in-memory buffer: a DuckDB table filled through the Appender.
 *
 * The JS thread is the writer's bottleneck, and every native call costs far more than a JS array
 * store, so events travel in groups of GROUP_ROWS: one buffer row per group, holding
 *  - one LIST per numeric column (written through a data chunk, whose list vectors are JS typed
 *    arrays, so a group costs a handful of native calls however many events it holds);
 *  - one string per text column, the group's values joined with a unit separator (U+001F).
 * `exportSelect` unnests the lists and splits the strings side by side, so values line up by
 * position without any join. Empty values travel as sentinels (NaN, ''), event_type and
 * stream_shard as small integer codes (the common event types and a repeated shard need no hashing).
 */
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DOUBLE,
  INTEGER,
  LIST,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
import { EVENT_TYPES } from '../core/event.js';
import type { LakeRecord } from './schema.js';

const GROUP_ROWS = 2048;
/**
 * The Appender keeps rows in its own collection until flushed; moving them into the table every
 * 16 groups (32k events) keeps it from holding a second copy of the whole buffer at seal time.
 */
const GROUPS_PER_APPENDER_FLUSH = 16;
const SEP = '\u001f';
// Event types are the first dictionary entries, so the common ones need no lookup.
const VIEW = EVENT_TYPES.indexOf('view');
const CART = EVENT_TYPES.indexOf('cart');
const PURCHASE = EVENT_TYPES.indexOf('purchase');

/** Numeric columns, as lists, then text columns, as joined strings; this order everywhere. */
const NUMERIC = [
  ['event_time', DOUBLE],
  ['event_type', INTEGER],
  ['product_id', DOUBLE],
  ['price', DOUBLE],
  ['user_id', DOUBLE],
  ['txn_timestamp', DOUBLE],
  ['stream_shard', INTEGER],
] as const;
const TEXT = ['category_id', 'category_code', 'brand', 'user_session', 'stream_seq'] as const;
const CHUNK_TYPES = [...NUMERIC.map(([, t]) => LIST(t)), ...TEXT.map(() => VARCHAR)];
const TABLE_COLUMNS = [
  ...NUMERIC.map(([name, t]) => `${name} ${t.toString()}[]`),
  ...TEXT.map((name) => `${name} VARCHAR`),
].join(', ');

/** A value that will be joined with SEP: the separator itself cannot survive, so it becomes U+FFFD. */
function packable(s: string | null | undefined): string {
  if (s === null || s === undefined) return '';
  return s.indexOf(SEP) === -1 ? s : s.split(SEP).join('\ufffd');
}

/** The dictionary code of a string; -1 stands for none. */
function codeOf(dict: Map<string, number>, s: string | null | undefined): number {
  if (s === null || s === undefined || s === '') return -1;
  let c = dict.get(s);
  if (c === undefined) {
    c = dict.size;
    dict.set(s, c);
  }
  return c;
}

export class EventBuffer {
  /** Rows added so far. */
  rows = 0;
  private readonly dict = new Map<string, number>(EVENT_TYPES.map((t, i) => [t, i]));
  private readonly chunk = DuckDBDataChunk.create(CHUNK_TYPES, 1);
  private readonly numbers: number[][] = NUMERIC.map(() => []);
  private readonly texts: string[][] = TEXT.map(() => []);
  private groupRows = 0;
  private groups = 0;

  private constructor(
    readonly table: string,
    private readonly appender: DuckDBAppender,
  ) {}

  static async create(con: DuckDBConnection, name: string): Promise<EventBuffer> {
    await con.run(`CREATE TABLE ${name} (${TABLE_COLUMNS})`);
    return new EventBuffer(name, await con.createAppender(name));
  }

  /**
   * Adds records from `start` on, at most `max` of them and never past the current group;
   * returns the index of the first record not added. Records must have passed `checkRecord`.
   */
  add(records: readonly LakeRecord[], start: number, max: number): number {
    const dict = this.dict;
    const [times, types, products, prices, users, txns, shards] = this.numbers as [
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
    ];
    const [categoryIds, categoryCodes, brands, sessions, seqs] = this.texts as [
      string[],
      string[],
      string[],
      string[],
      string[],
    ];
    const end = Math.min(records.length, start + Math.min(max, GROUP_ROWS - this.groupRows));
    let r = this.groupRows;
    let lastShard: string | undefined;
    let lastShardCode = -1;
    for (let i = start; i < end; i++, r++) {
      const rec = records[i]!;
      const e = rec.event;
      const t = e.event_type;
      times[r] = e.event_time;
      types[r] = t === 'view' ? VIEW : t === 'cart' ? CART : t === 'purchase' ? PURCHASE : codeOf(dict, t);
      products[r] = e.product_id;
      prices[r] = typeof e.price === 'number' ? e.price : NaN;
      users[r] = e.user_id;
      txns[r] = e.txn_timestamp ?? NaN;
      // A batch usually comes from one shard, so the same string object repeats.
      if (rec.shard !== lastShard) {
        lastShard = rec.shard;
        lastShardCode = codeOf(dict, lastShard);
      }
      shards[r] = lastShardCode;
      categoryIds[r] = packable(e.category_id);
      categoryCodes[r] = packable(e.category_code);
      brands[r] = packable(e.brand);
      sessions[r] = packable(e.user_session);
      seqs[r] = packable(rec.seq);
    }
    this.rows += r - this.groupRows;
    this.groupRows = r;
    if (r === GROUP_ROWS) this.appendGroup();
    return end;
  }

  /** Appends what is pending and closes the appender; returns the dictionary (code = index). */
  seal(): string[] {
    this.appendGroup();
    this.appender.closeSync();
    return [...this.dict.keys()];
  }

  /** Closes the appender without caring about pending rows (on shutdown after a failure). */
  discard(): void {
    try {
      this.appender.closeSync();
    } catch {
      // already closed, or its table goes away with the database
    }
  }

  private appendGroup(): void {
    const n = this.groupRows;
    if (n === 0) return;
    const columns = [
      ...this.numbers.map((values) => {
        values.length = n;
        return [listValue(values)];
      }),
      ...this.texts.map((values) => {
        values.length = n;
        return [values.join(SEP)];
      }),
    ];
    // A fresh row count drops the vector views of the last group; reset frees its strings.
    this.chunk.reset();
    this.chunk.rowCount = 1;
    this.chunk.setColumns(columns);
    this.appender.appendDataChunk(this.chunk);
    if (++this.groups % GROUPS_PER_APPENDER_FLUSH === 0) this.appender.flushSync();
    this.groupRows = 0;
  }

  /** The SELECT that turns this buffer back into lake rows, given its dictionary as a table. */
  exportSelect(dictTable: string): string {
    const unpack = [
      ...NUMERIC.map(([name]) => `unnest(${name}) AS ${name}`),
      ...TEXT.map((name) => `unnest(string_split(${name}, chr(31))) AS ${name}`),
    ].join(',\n      ');
    return `WITH d AS (SELECT list(value ORDER BY code) AS v FROM ${dictTable}),
  b AS (
    SELECT
      ${unpack}
    FROM ${this.table})
  SELECT
    epoch_ms(CAST(b.event_time AS BIGINT)) AS event_time,
    d.v[b.event_type + 1] AS event_type,
    CAST(b.product_id AS BIGINT) AS product_id,
    b.category_id,
    NULLIF(b.category_code, '') AS category_code,
    NULLIF(b.brand, '') AS brand,
    TRY_CAST(b.price AS DECIMAL(12,2)) AS price,
    CAST(b.user_id AS BIGINT) AS user_id,
    NULLIF(b.user_session, '') AS user_session,
    CASE WHEN isfinite(b.txn_timestamp) THEN epoch_ms(CAST(b.txn_timestamp AS BIGINT)) END AS txn_timestamp,
    CASE WHEN b.stream_shard >= 0 THEN d.v[b.stream_shard + 1] END AS stream_shard,
    NULLIF(b.stream_seq, '') AS stream_seq,
    CAST(epoch_ms(CAST(b.event_time AS BIGINT)) AS DATE) AS event_date
  FROM b CROSS JOIN d`;
  }

  dropSql(): string {
    return `DROP TABLE IF EXISTS ${this.table}`;
  }
}
