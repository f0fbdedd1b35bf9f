/**
 * A replay of the lake (docs/replay.md): the events table's Parquet files as a StreamReader, so that
 * `storepulse process --from lake://…` runs the same processor over stored raw data as over stream 1,
 * the reason the reference keeps a raw copy. Read-only: it never writes the lake, and a lake is
 * finite, so it ends when read (no checkpoints).
 *
 * Event-time order with flat memory: partitions are UTC days, so each day is read on its own,
 * sorted by DuckDB (spilling to disk beyond `memoryLimit`) and streamed a chunk at a time, day after
 * day. Ties are broken by shard and sequence number, then by file and row, so two replays of the
 * same lake are identical. Everything arrives on one shard, already in order: the processor's merge
 * and watermark pass it through and no event is late.
 *
 * Rows become records through the stream codec (core/codec.ts), so the processor decodes and
 * validates them exactly as it does stream 1; a row that breaks the contract goes to its dead
 * letters with the reason.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBDataChunk, DuckDBResult, DuckDBValue } from '@duckdb/node-api';
import { encodeRecord } from '../../core/codec.js';
import type { TimeField } from '../../core/config.js';
import { StorepulseError } from '../../core/errors.js';
import type { ClickEvent, EventType } from '../../core/event.js';
import { describeLake } from '../../lake/catalog.js';
import { type DuckDB, openDuckDB, sqlString } from '../../lake/duckdb.js';
import { EVENTS_TABLE, emptyLakeError, type LakeFile, listLakeFiles } from '../../lake/layout.js';
import { withSnapshot } from '../../lake/snapshot.js';
import type { ShardBatch, StreamReader, StreamRecord } from '../types.js';

/** The one shard of a replay; its sequence numbers count the records from 1 in replay order. */
export const LAKE_SHARD = 'shardId-lake';

export interface LakeReplayOptions {
  lakeDir: string;
  /** First and last UTC day (`YYYY-MM-DD`, inclusive); open where absent. */
  from?: string;
  to?: string;
  /** The detector's time field: each day is read in its order (event_time's by default). */
  timeField?: TimeField;
  /** A folder for DuckDB to spill a day's sort to (a fresh folder inside it, removed at the end). */
  tmpDir: string;
  /** DuckDB's memory for sorting a day (default 1GB); a larger day spills. */
  memoryLimit?: string;
}

/** The columns read, in this order (`recordOf` takes them apart). */
const SELECT = `epoch_ms(event_time), event_type, product_id, category_id, category_code, brand,
  CAST(price AS DOUBLE), user_id, user_session, epoch_ms(txn_timestamp)`;

const TIME_COLUMN = 0;
const TXN_COLUMN = 9;

/**
 * The replay order. DECIMAL(12,2) → DOUBLE above is exact: an integer number of cents divided by
 * 100 rounds once, as parsing the price's text does. Sequence numbers are decimal text: shorter is
 * smaller (types.ts compareSequenceNumbers).
 */
function orderBy(timeField: TimeField): string {
  const ties = 'stream_shard, length(stream_seq), stream_seq, filename, file_row_number';
  return timeField === 'event_time' ? `event_time, ${ties}` : `txn_timestamp, event_time, ${ties}`;
}

export class LakeReader implements StreamReader {
  readonly name = 'lake';

  private constructor(
    private readonly opts: LakeReplayOptions,
    /** The lake folder, resolved. */
    readonly lakeDir: string,
    /** The days (partitions) replayed, in order. */
    readonly days: readonly string[],
    /** Events in those days, from the Parquet footers: the progress bar's total. */
    readonly total: number,
  ) {}

  /** Picks the days to replay; a lake with no data, or none in the range, is an error. */
  static async open(opts: LakeReplayOptions): Promise<LakeReader> {
    const lakeDir = path.resolve(opts.lakeDir);
    const [events] = (await describeLake(lakeDir, { table: EVENTS_TABLE })).tables;
    const all = events?.partitions ?? [];
    if (all.length === 0) throw emptyLakeError(lakeDir);
    const chosen = all.filter(
      (p) =>
        (opts.from === undefined || p.value >= opts.from) && (opts.to === undefined || p.value <= opts.to),
    );
    if (chosen.length === 0) {
      throw new StorepulseError(
        'STATE',
        `the lake at ${lakeDir} has no events from ${opts.from ?? 'its first day'} to ` +
          `${opts.to ?? 'its last day'}: it holds ${all[0]!.value}..${all[all.length - 1]!.value}`,
      );
    }
    const total = chosen.reduce((n, p) => n + p.rows, 0);
    return new LakeReader(
      opts,
      lakeDir,
      chosen.map((p) => p.value),
      total,
    );
  }

  shardIds(): string[] {
    return [LAKE_SHARD];
  }

  async *batches(signal?: AbortSignal): AsyncIterable<ShardBatch> {
    await mkdir(this.opts.tmpDir, { recursive: true });
    const spill = await mkdtemp(path.join(this.opts.tmpDir, 'replay-spill-'));
    let db: DuckDB | undefined;
    let pending: Promise<unknown> | undefined;
    let seq = 0;
    const timeColumn = this.opts.timeField === 'txn_timestamp' ? TXN_COLUMN : TIME_COLUMN;
    try {
      db = await openDuckDB({ memory_limit: this.opts.memoryLimit ?? '1GB', temp_directory: spill });
      for (const day of this.days) {
        const read = await this.openDay(db, day);
        if (!read) continue;
        let chunk = read.first;
        while (chunk && chunk.rowCount > 0 && !signal?.aborted) {
          // DuckDB reads the next chunk (on its own thread) while the processor works on this one.
          const next = read.result.fetchChunk();
          pending = next;
          for (const records of secondsOf(chunk, seq, timeColumn)) yield { shardId: LAKE_SHARD, records };
          seq += chunk.rowCount;
          chunk = await next;
          pending = undefined;
        }
        if (signal?.aborted) return;
      }
    } finally {
      // A stop can leave a fetch running: DuckDB must not be closed under it.
      await pending?.catch(() => undefined);
      db?.close();
      await rm(spill, { recursive: true, force: true });
    }
  }

  /**
   * One day's events, sorted, from a consistent listing of its files (lake/snapshot.ts). Sorting reads
   * every input row before the first chunk comes out, so once that chunk is in hand the day's files
   * may be replaced (`lake compact`) without harm. Undefined when the day has no files any more.
   */
  private async openDay(db: DuckDB, day: string) {
    const timeField = this.opts.timeField ?? 'event_time';
    return withSnapshot(
      this.lakeDir,
      async () => (await listLakeFiles(this.lakeDir)).filter((f) => f.partition === day),
      async (files: LakeFile[]) => {
        if (files.length === 0) return undefined;
        const list = files.map((f) => sqlString(f.path)).join(', ');
        const result: DuckDBResult = await db.connection.stream(
          `SELECT ${SELECT} FROM read_parquet([${list}], union_by_name = true, filename = true,
             file_row_number = true) ORDER BY ${orderBy(timeField)}`,
        );
        return { result, first: await result.fetchChunk() };
      },
    );
  }
}

/**
 * A chunk's rows as stream records numbered on from `seq`, one batch per second of event time. The
 * processor moves the watermark on after each batch, and the rules that learn from completed
 * buckets (the traffic baseline) see them complete second by second, as from a stream read live,
 * rather than after a whole chunk (minutes of traffic) has gone in.
 */
function* secondsOf(chunk: DuckDBDataChunk, seq: number, timeColumn: number): Generator<StreamRecord[]> {
  const cols = chunk.getColumns();
  const times = cols[timeColumn]!;
  const arrivalTime = Date.now();
  let batch: StreamRecord[] = [];
  let second: number | undefined;
  for (let i = 0; i < chunk.rowCount; i++) {
    const t = times[i];
    const s = t === null ? second : Math.floor(Number(t) / 1000);
    if (s !== second && batch.length > 0) {
      yield batch;
      batch = [];
    }
    second = s;
    batch.push({
      shardId: LAKE_SHARD,
      sequenceNumber: String(seq + i + 1),
      partitionKey: String(cols[3]![i]),
      data: recordOf(cols, i),
      arrivalTime,
    });
  }
  if (batch.length > 0) yield batch;
}

/**
 * One row as a stream record. A row with NULL where the data contract needs a value (a price above
 * the lake's DECIMAL, a file that breaks the schema) is written as JSON with that null, so that the
 * processor's decoder rejects it with the reason and it lands in the dead letters.
 */
function recordOf(cols: readonly (readonly DuckDBValue[])[], i: number): string {
  const at = (c: number) => cols[c]![i]!;
  const [time, type, product, category, code, brand, price, user, session, txn] = [
    at(0),
    at(1),
    at(2),
    at(3),
    at(4),
    at(5),
    at(6),
    at(7),
    at(8),
    at(9),
  ];
  if (
    time === null ||
    type === null ||
    product === null ||
    category === null ||
    price === null ||
    user === null
  ) {
    const num = (v: DuckDBValue) => (v === null ? null : Number(v));
    const iso = (v: DuckDBValue) => (v === null ? null : new Date(Number(v)).toISOString());
    return JSON.stringify({
      event_time: iso(time),
      event_type: type,
      product_id: num(product),
      category_id: category,
      category_code: code,
      brand,
      price: num(price),
      user_id: num(user),
      user_session: session,
      txn_timestamp: iso(txn),
    });
  }
  const e: ClickEvent = {
    event_time: Number(time),
    event_type: type as EventType,
    product_id: Number(product),
    category_id: category as string,
    category_code: code as string | null,
    brand: brand as string | null,
    price: price as number,
    user_id: Number(user),
    user_session: session as string | null,
  };
  if (txn !== null) e.txn_timestamp = Number(txn);
  return encodeRecord(e);
}
