/**
 * The lake writer: raw events to Hive-partitioned Parquet (`events/event_date=YYYY-MM-DD/part-*.parquet`).
 *
 * Rows go into an in-memory DuckDB table through the Appender (buffer.ts). When `flushRows` rows
 * are buffered, the buffer is written with `COPY ... PARTITION_BY` into a staging folder on a second
 * connection, in the background, while new rows go into a fresh buffer; at most one write is in
 * flight, so memory stays within about two buffers. Finished files are then renamed into their
 * partition folders under names no other flush or run uses, so readers never see a half-written file.
 *
 * A flush publishes all or nothing: before the first rename, a commit manifest listing every rename
 * (and, with `progress`, the stream positions the flush reaches) is written into the staging folder.
 * A writer that opens after a crash finishes the renames of every committed flush it finds and drops
 * the rest. So the lake holds, per stream shard, exactly the records up to the positions in
 * `_progress/<stream>.json` (readLakeProgress): that is how the processor lands each record once,
 * whatever consumer name reads the stream. One writer at a time (`writer.lock`, like the embedded
 * stream's): two processes appending the same stream at once would both pass the progress check.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ClickEvent } from '../core/event.js';
import { StorepulseError } from '../core/errors.js';
import { EventBuffer } from './buffer.js';
import { type DuckDB, openDuckDB, sqlString } from './duckdb.js';
import { eventsDir, progressDir, stagingDir } from './layout.js';
import { failpoint } from '../core/failpoint.js';
import { acquireWriterLock, type WriterLock } from '../fs/lock.js';

export { lakeRowCount } from './catalog.js';

export interface LakeRecord {
  event: ClickEvent;
  /** Shard id the record was read from, when it came through a stream. */
  shard?: string;
  /** Sequence number of the record in its shard (decimal text), when it came through a stream. */
  seq?: string;
}

export interface LakeWriterOptions {
  /** The lake folder, `<dataDir>/lake`. */
  lakeDir: string;
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

/** Stream shard → sequence number of the last record published to the lake. */
export type LakeProgress = Record<string, string>;

const COMMIT_FILE = '_commit.json';

interface CommitManifest {
  /** [staged file, published path] pairs. */
  renames: [string, string][];
  progress?: { name: string; positions: LakeProgress };
}

export interface LakeSummary {
  /** Rows published by this writer. */
  rows: number;
  /** Parquet files published by this writer. */
  files: number;
  /** Partition values (`YYYY-MM-DD`) this writer added files to, sorted. */
  partitions: string[];
}

export const DEFAULT_FLUSH_ROWS = 200_000;

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

function compactUtcStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function ioError(what: string, err: unknown): StorepulseError {
  return new StorepulseError('IO', `lake writer: ${what}: ${(err as Error).message}`, { cause: err });
}

function badEvent(detail: string): StorepulseError {
  return new StorepulseError('INPUT', `lake writer: cannot store event: ${detail}`);
}

export class LakeWriter {
  private readonly db: DuckDB;
  private readonly lock: WriterLock;
  private readonly copyConnection: DuckDBConnection;
  private readonly lakeDir: string;
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
    flushRows: number,
    progressName: string | undefined,
  ) {
    this.db = db;
    this.lock = lock;
    this.progressName = progressName;
    this.copyConnection = copyConnection;
    this.lakeDir = lakeDir;
    this.flushRows = flushRows;
    this.runId = `${compactUtcStamp(Date.now())}-${randomBytes(4).toString('hex')}`;
  }

  static async open(opts: LakeWriterOptions): Promise<LakeWriter> {
    const flushRows = opts.flushRows ?? DEFAULT_FLUSH_ROWS;
    if (!Number.isInteger(flushRows) || flushRows < 1) {
      throw new StorepulseError('USAGE', `flushRows must be a whole number >= 1, got ${flushRows}`);
    }
    const lakeDir = path.resolve(opts.lakeDir);
    try {
      await mkdir(eventsDir(lakeDir), { recursive: true });
      await mkdir(stagingDir(lakeDir), { recursive: true });
    } catch (err) {
      throw new StorepulseError('IO', `cannot create the lake folder ${lakeDir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const lock = acquireWriterLock(lakeDir, { what: `the lake at ${lakeDir}`, hint: opts.lockedHint });
    let db: DuckDB | undefined;
    try {
      await recoverStaging(lakeDir);
      // Insertion order does not matter in the lake; dropping it lets the COPY stream with less memory.
      // The JS thread filling buffers needs a core of its own: DuckDB gets the others (measured on
      // 2 cores: one DuckDB thread costs a fifth less CPU per event than two, at the same rate).
      const threads = Math.max(1, Math.min(4, os.availableParallelism() - 1));
      db = await openDuckDB({ preserve_insertion_order: 'false', threads: String(threads) });
      const copyConnection = await db.instance.connect();
      const writer = new LakeWriter(db, lock, copyConnection, lakeDir, flushRows, opts.progress);
      // Progress carries on from earlier runs: a shard this run does not reach keeps its position.
      if (opts.progress !== undefined)
        Object.assign(writer.positions, await readLakeProgress(lakeDir, opts.progress));
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
    const staging = path.join(stagingDir(this.lakeDir), this.runId, String(flush).padStart(5, '0'));
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
         (FORMAT parquet, PARTITION_BY (event_date), COMPRESSION snappy, FILENAME_PATTERN 'data_{i}')`,
      );
    } catch (err) {
      throw ioError(`writing ${buffer.rows} rows failed`, err);
    } finally {
      await con.run(`${buffer.dropSql()}; DROP TABLE IF EXISTS ${dict}`);
    }
    await this.publish(staging, flush, positions);
    this.summary.rows += buffer.rows;
  }

  /**
   * Publishes a staged flush: every file synced, then the commit manifest, then the renames (each
   * into its partition folder under a name no other flush or run uses) and the progress file.
   */
  private async publish(staging: string, flush: number, positions: LakeProgress): Promise<void> {
    const flushTag = String(flush).padStart(5, '0');
    try {
      const manifest: CommitManifest = { renames: [] };
      for (const dir of (await readdir(staging)).sort()) {
        const m = /^event_date=(\d{4}-\d{2}-\d{2})$/.exec(dir);
        if (!m) continue;
        const files = (await readdir(path.join(staging, dir))).filter((f) => f.endsWith('.parquet')).sort();
        for (let i = 0; i < files.length; i++) {
          const from = path.join(staging, dir, files[i]!);
          // On disk before it is visible, so a power cut cannot publish an empty file either.
          await syncFile(from);
          manifest.renames.push([
            from,
            path.join(eventsDir(this.lakeDir), dir, `part-${this.runId}-${flushTag}-${i}.parquet`),
          ]);
          this.summary.partitions.add(m[1]!);
        }
      }
      if (this.progressName !== undefined) manifest.progress = { name: this.progressName, positions };
      await writeFileDurably(path.join(staging, COMMIT_FILE), JSON.stringify(manifest));
      await applyCommit(this.lakeDir, manifest);
      this.summary.files += manifest.renames.length;
      await rm(staging, { recursive: true, force: true });
    } catch (err) {
      throw ioError(`publishing ${staging} failed`, err);
    }
  }
}

/** Positions published under `name` (LakeWriterOptions.progress); empty when none were. */
export async function readLakeProgress(lakeDir: string, name: string): Promise<LakeProgress> {
  try {
    return JSON.parse(await readFile(progressPath(lakeDir, name), 'utf8')) as LakeProgress;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw ioError(`reading the progress of ${name}`, err);
  }
}

function progressPath(lakeDir: string, name: string): string {
  return path.join(progressDir(lakeDir), `${encodeURIComponent(name)}.json`);
}

async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a small file so that it is either absent or whole: temp file, fsync, rename. */
async function writeFileDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await syncFile(tmp);
  await rename(tmp, file);
}

/** Performs a manifest's renames (those not done yet) and its progress; safe to repeat. */
async function applyCommit(lakeDir: string, manifest: CommitManifest): Promise<void> {
  for (const [from, to] of manifest.renames) {
    await mkdir(path.dirname(to), { recursive: true });
    failpoint('lake.mid-publish');
    try {
      await rename(from, to);
    } catch (err) {
      // Done already, by this writer before a crash or by another writer's recovery.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const p = manifest.progress;
  if (p) {
    await mkdir(progressDir(lakeDir), { recursive: true });
    await writeFileDurably(progressPath(lakeDir, p.name), JSON.stringify(p.positions));
  }
}

/**
 * After a crash: finishes every committed flush (in order) and removes what was staged without a
 * commit. Runs under the writer lock, so no staging folder belongs to a live writer.
 */
async function recoverStaging(lakeDir: string): Promise<void> {
  const root = stagingDir(lakeDir);
  for (const run of (await readdir(root).catch(() => [] as string[])).sort()) {
    const runDir = path.join(root, run);
    for (const flush of (await readdir(runDir).catch(() => [] as string[])).sort()) {
      const dir = path.join(runDir, flush);
      const text = await readFile(path.join(dir, COMMIT_FILE), 'utf8').catch(() => null);
      if (text === null) continue;
      try {
        await applyCommit(lakeDir, JSON.parse(text) as CommitManifest);
      } catch (err) {
        throw ioError(`finishing the committed flush ${dir}`, err);
      }
      await rm(dir, { recursive: true, force: true });
    }
    await rm(runDir, { recursive: true, force: true });
  }
}
