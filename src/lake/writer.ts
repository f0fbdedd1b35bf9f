/**
 * The lake writer: raw events to Hive-partitioned Parquet (`events/event_date=YYYY-MM-DD/part-*.parquet`).
 *
 * Rows go into an in-memory DuckDB table through the Appender (buffer.ts). When `flushRows` rows
 * are buffered, the buffer is written with `COPY ... PARTITION_BY` into a staging folder on a second
 * connection, in the background, while new rows go into a fresh buffer; at most one write is in
 * flight, so memory stays within about two buffers. Finished files are then published into their
 * partition folders under names no other flush or run uses, so readers never see a half-written file:
 * renamed in a local lake, uploaded to an S3 one (`storage`, lake/storage/).
 *
 * A flush publishes all or nothing, with the stream positions it reaches (commit.ts): that is how
 * the processor lands each record once, whatever consumer name reads the stream. One writer at a
 * time (`writer.lock`, like the embedded stream's): two processes appending the same stream at once
 * would both pass the progress check.
 */
import os from 'node:os';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LakeRecord } from './schema.js';
import { StorepulseError, ioError } from '../core/errors.js';
import { EventBuffer } from './buffer.js';
import { type LakeProgress, lakeIoError, openWriting, publishFlush, readLakeProgress } from './commit.js';
import { type DuckDB, openDuckDB, sqlString } from './duckdb.js';
import { newRunId, PARQUET_COPY_OPTIONS, stagingDir } from './layout.js';
import type { LakeStorage } from './storage/types.js';
import type { WriterLock } from '../fs/lock.js';

export { lakeRowCount } from './catalog.js';
export { readLakeProgress } from './commit.js';

export interface LakeWriterOptions {
  /**
   * The local lake folder: the lake itself (`<dataDir>/lake`), or with `storage` on S3 the writer's
   * staging folder (`<dataDir>/lake-staging`). The lock, staging and commit manifests live here.
   */
  lakeDir: string;
  /** Where files are published (storage/open.ts `openLakeTarget`); default the folder `lakeDir`. */
  storage?: LakeStorage;
  /** Rows buffered before a file set is written (default 200,000). Memory is about two buffers. */
  flushRows?: number;
  /**
   * Publish with each flush the last stream sequence number per shard that it holds, under this
   * name (the stream's, e.g. `embedded:NAME`: not a consumer's, so that a second consumer of the
   * same stream adds nothing twice), atomically with the flush's files. Records must come in shard
   * order.
   */
  progress?: string;
  /** Added to the error when another process holds the lake's writer lock (what to do instead). */
  lockedHint?: string;
}

export interface LakeSummary {
  /** Rows published by this writer. */
  rows: number;
  /** Parquet files published by this writer. */
  files: number;
  /** Partition values (`YYYY-MM-DD`) this writer added files to, sorted. */
  partitions: string[];
}

const DEFAULT_FLUSH_ROWS = 200_000;

/** The range of a JS Date, well inside DuckDB's TIMESTAMP range. */
const MAX_EPOCH_MS = 8.64e15;

/** Throws on an event the lake cannot store; cheap enough to run on every record. */
function checkRecord(rec: LakeRecord): void {
  const e = rec?.event;
  if (!e) throw badEvent('record has no event');
  if (typeof e.event_time !== 'number' || !(Math.abs(e.event_time) <= MAX_EPOCH_MS)) {
    throw badEvent(`event_time is not an instant: ${String(e.event_time)}`);
  }
  if (!Number.isSafeInteger(e.product_id) || !Number.isSafeInteger(e.user_id)) {
    throw badEvent(`product_id/user_id are not integers: ${String(e.product_id)}/${String(e.user_id)}`);
  }
  if (typeof e.category_id !== 'string' || e.category_id === '') {
    throw badEvent(`category_id must be a non-empty string of digits, got ${String(e.category_id)}`);
  }
  if (typeof e.event_type !== 'string' || e.event_type.length === 0) throw badEvent('event_type is empty');
}

interface SealedBuffer {
  buffer: EventBuffer;
  dictionary: string[];
  flush: number;
  /** Positions reached once this buffer is published (a copy). */
  positions: LakeProgress;
}

function badEvent(detail: string): StorepulseError {
  return new StorepulseError('INPUT', `lake writer: cannot store event: ${detail}`);
}

export class LakeWriter {
  private readonly db: DuckDB;
  private readonly lock: WriterLock;
  private readonly copyConnection: DuckDBConnection;
  private readonly lakeDir: string;
  private readonly storage: LakeStorage | undefined;
  private readonly flushRows: number;
  private readonly runId: string;

  private buffer!: EventBuffer;
  private bufferCounter = 0;
  private flushCounter = 0;
  private inFlight: Promise<void> | null = null;
  /** Calls run one at a time, in order, even when a caller does not await the last one. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A failed background write breaks the writer: its rows are lost, so nothing may follow silently. */
  private failure: Error | null = null;
  private closed = false;
  private readonly positions: LakeProgress = {};
  private readonly progressName: string | undefined;
  private readonly summary = { rows: 0, files: 0, partitions: new Set<string>() };

  private constructor(
    db: DuckDB,
    lock: WriterLock,
    copyConnection: DuckDBConnection,
    lakeDir: string,
    storage: LakeStorage | undefined,
    flushRows: number,
    progressName: string | undefined,
  ) {
    this.db = db;
    this.storage = storage;
    this.lock = lock;
    this.progressName = progressName;
    this.copyConnection = copyConnection;
    this.lakeDir = lakeDir;
    this.flushRows = flushRows;
    this.runId = newRunId();
  }

  static async open(opts: LakeWriterOptions): Promise<LakeWriter> {
    const flushRows = opts.flushRows ?? DEFAULT_FLUSH_ROWS;
    if (!Number.isInteger(flushRows) || flushRows < 1) {
      throw new StorepulseError('USAGE', `flushRows must be a whole number >= 1, got ${flushRows}`);
    }
    const lakeDir = path.resolve(opts.lakeDir);
    try {
      await mkdir(stagingDir(lakeDir), { recursive: true });
    } catch (err) {
      throw ioError(`cannot create the lake folder ${lakeDir}`, err);
    }
    const { storage } = opts;
    const lock = await openWriting(lakeDir, storage, opts.lockedHint);
    let db: DuckDB | undefined;
    try {
      // Insertion order does not matter in the lake; dropping it lets the COPY stream with less memory.
      // The JS thread filling buffers needs a core of its own: DuckDB gets the others (measured on
      // 2 cores: one DuckDB thread costs a fifth less CPU per event than two, at the same rate).
      const threads = Math.max(1, Math.min(4, os.availableParallelism() - 1));
      db = await openDuckDB({ preserve_insertion_order: 'false', threads: String(threads) });
      const copyConnection = await db.instance.connect();
      const writer = new LakeWriter(db, lock, copyConnection, lakeDir, storage, flushRows, opts.progress);
      // Progress carries on from earlier runs: a shard this run does not reach keeps its position.
      if (opts.progress !== undefined)
        Object.assign(writer.positions, await readLakeProgress(lakeDir, opts.progress, storage));
      writer.buffer = await writer.newBuffer();
      return writer;
    } catch (err) {
      db?.close();
      lock.release();
      throw err;
    }
  }

  /**
   * Buffers the records; writes a file set (in the background) each time `flushRows` are buffered.
   * The whole batch is checked first, so a bad record rejects the batch and buffers none of it.
   * Rows are durable once a later `flush()` or `close()` resolves.
   */
  write(records: LakeRecord[]): Promise<void> {
    return this.exclusive(async () => {
      for (let i = 0; i < records.length; i++) checkRecord(records[i]!);
      if (this.progressName !== undefined) {
        for (const r of records)
          if (r.shard !== undefined && r.seq !== undefined) this.positions[r.shard] = r.seq;
      }
      let i = 0;
      while (i < records.length) {
        i = this.buffer.add(records, i, this.flushRows - this.buffer.rows);
        if (this.buffer.rows >= this.flushRows) await this.rotate();
      }
    });
  }

  /** Writes everything buffered so far and waits until it is published. */
  flush(): Promise<void> {
    return this.exclusive(() => this.flushNow());
  }

  /**
   * Like flush, without holding back later writes: the rows buffered so far go to the background
   * writer at once, and the returned promise resolves once they are published. Rows written
   * meanwhile go into the next file set. The processor's checkpoints use it, so that detection does
   * not wait for a Parquet write.
   */
  async seal(): Promise<void> {
    let published: Promise<void> | null = null;
    await this.exclusive(async () => {
      if (this.buffer.rows > 0) await this.rotate();
      published = this.inFlight;
    });
    // Observed, not taken: a later rotate() still settles the same write before it starts the next.
    await this.observe(published);
  }

  /** Flushes, waits for the last write, and releases DuckDB. Safe to call twice. */
  async close(): Promise<LakeSummary> {
    if (!this.closed) {
      await this.queue;
      try {
        if (!this.failure) await this.flushNow();
        else throw this.failure;
      } finally {
        this.closed = true;
        await this.inFlight?.catch(() => undefined);
        this.buffer.discard();
        this.copyConnection.closeSync();
        this.db.close();
        // Best effort: a leftover is removed by the next open.
        await rm(path.join(stagingDir(this.lakeDir), this.runId), { recursive: true, force: true }).catch(
          () => undefined,
        );
        this.lock.release();
      }
    }
    return {
      rows: this.summary.rows,
      files: this.summary.files,
      partitions: [...this.summary.partitions].sort(),
    };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new StorepulseError('STATE', 'lake writer is closed');
      if (this.failure) throw this.failure;
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.buffer.rows > 0) await this.rotate();
    await this.settle();
  }

  private newBuffer(): Promise<EventBuffer> {
    return EventBuffer.create(this.db.connection, `buffer_${++this.bufferCounter}`);
  }

  /** Hands the current buffer to the background writer (after the previous write finished). */
  private async rotate(): Promise<void> {
    const sealed: SealedBuffer = {
      buffer: this.buffer,
      dictionary: this.buffer.seal(),
      flush: ++this.flushCounter,
      positions: { ...this.positions },
    };
    await this.settle();
    this.buffer = await this.newBuffer();
    const p = this.writeOut(sealed);
    // Observed by settle(); the no-op catch only stops an "unhandled rejection" in between.
    p.catch(() => undefined);
    this.inFlight = p;
  }

  private async settle(): Promise<void> {
    const p = this.inFlight;
    this.inFlight = null;
    await this.observe(p);
  }

  /** Waits for a background write; its failure makes the writer refuse all further work. */
  private async observe(p: Promise<void> | null): Promise<void> {
    try {
      if (p) await p;
    } catch (err) {
      this.failure = err as Error;
      throw err;
    }
  }

  private async writeOut({ buffer, dictionary, flush, positions }: SealedBuffer): Promise<void> {
    const con = this.copyConnection;
    const dict = `dict_${flush}`;
    const flushTag = String(flush).padStart(5, '0');
    const staging = path.join(stagingDir(this.lakeDir), this.runId, flushTag);
    try {
      await con.run(`CREATE TABLE ${dict} (code INTEGER, value VARCHAR)`);
      const app = await con.createAppender(dict);
      dictionary.forEach((value, i) => {
        app.appendInteger(i);
        app.appendVarchar(value);
        app.endRow();
      });
      app.closeSync();
      await rm(staging, { recursive: true, force: true });
      await mkdir(path.dirname(staging), { recursive: true });
      await con.run(
        `COPY (${buffer.exportSelect(dict)}) TO ${sqlString(staging)}
         (${PARQUET_COPY_OPTIONS}, PARTITION_BY (event_date), FILENAME_PATTERN 'data_{i}')`,
      );
    } catch (err) {
      throw lakeIoError(`writing ${buffer.rows} rows failed`, err);
    } finally {
      await con.run(`${buffer.dropSql()}; DROP TABLE IF EXISTS ${dict}`);
    }
    const published = await publishFlush(
      this.lakeDir,
      {
        staging,
        fileName: (n) => `part-${this.runId}-${flushTag}-${n}.parquet`,
        progress: this.progressName === undefined ? undefined : { name: this.progressName, positions },
      },
      this.storage,
    );
    this.summary.files += published.length;
    for (const partition of published) this.summary.partitions.add(partition);
    this.summary.rows += buffer.rows;
  }
}
