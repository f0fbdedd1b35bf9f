/**
 * `storepulse lake load`: a dataset file (`.csv`, `.csv.gz`, `.zip`) straight into the lake, with
 * DuckDB doing the work: one `COPY (SELECT <the reader's rules as SQL> FROM read_csv(…)) TO <staging>
 * (PARTITION_BY (event_date))`, then the lake's commit protocol (commit.ts) publishes the files and
 * the file's fingerprint (`_progress/load:<sha256>.json`) together: a crash leaves all or nothing,
 * and a file whose fingerprint is there is not loaded again.
 *
 * Rejects: the SQL pass only counts them (rejected rows land in the NULL partition, never published;
 * DuckDB's CSV errors in `reject_errors`). When there are any, the reader itself (sources/reader.ts)
 * reads the file once more and writes the dead-letter records, with the physical line numbers DuckDB
 * cannot give; its counts must then equal the SQL pass's, reason by reason and in valid rows, or the
 * load fails and publishes nothing (inputs the two read differently: docs/lake-load.md). A clean
 * file is read once by DuckDB, and once beside it for the fingerprint.
 *
 * Runs under the lake's writer lock (fs/lock.ts, as LakeWriter takes it): never beside
 * `storepulse process` writing the same lake.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { StorepulseError, errorMessage, ioError } from '../core/errors.js';
import { REJECT_REASONS, type RejectReason } from '../core/row.js';
import { CsvEventParser } from '../sources/csv.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { type OpenedInput, openInput } from '../sources/open.js';
import { DEFAULT_MAX_LINE_BYTES } from '../sources/options.js';
import { readEvents } from '../sources/reader.js';
import type { LakeStorage } from './storage/types.js';
import { lakeIoError, openWriting, publishFlush, readLakeProgress, writeLakeProgress } from './commit.js';
import { type DuckDB, openDuckDB, sqlString } from './duckdb.js';
import {
  PARQUET_COPY_OPTIONS,
  PARQUET_FILE_BYTES,
  eventsDir,
  newRunId,
  partitionOf,
  stagingDir,
} from './layout.js';
import { CSV_REJECT_REASON_SQL, type CsvScan, loadSelectSql } from './load-sql.js';

export interface LoadOptions {
  /** The data folder: dead letters (`deadletter/`) and a zip's FIFO (`tmp/`) go there. */
  dataDir: string;
  /** The local lake folder (lock, staging): the lake itself, or an S3 lake's staging (storage/open.ts). */
  lakeDir: string;
  /** Where files are published; default the local lake folder. */
  storage?: LakeStorage;
  /** Longest accepted row in bytes (the reader's limit, default 64 KiB). */
  maxLineBytes?: number;
  /** DuckDB's memory_limit (default 1GB); it spills to `<dataDir>/tmp` beyond. */
  memoryLimit?: string;
  /** Largest Parquet file (default PARQUET_FILE_BYTES, 256 MiB); a larger day is split. */
  maxFileBytes?: number;
  /** DuckDB threads (default: the machine's cores, at most 4). */
  threads?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Added to the error when another process holds the lake's writer lock. */
  lockedHint?: string;
}

export type LoadPhase = 'fingerprint' | 'load' | 'dead letters';

export interface LoadProgress {
  file: string;
  phase: LoadPhase;
  /** Input bytes of this phase done so far, of `total` (the file's size). */
  done: number;
  total: number;
}

export interface FileLoad {
  file: string;
  /** Base name, or `archive.zip:entry.csv`. */
  source: string;
  /** sha256 of the file's bytes. */
  fingerprint: string;
  status: 'loaded' | 'already loaded';
  rows: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  deadLetterPath: string | null;
  partitions: string[];
  files: number;
  /** Parquet bytes published. */
  bytes: number;
  /** Input file size. */
  inputBytes: number;
  seconds: number;
}

/** The progress slot that marks a file as loaded (commit.ts publishes it with the files). */
function loadProgressName(fingerprint: string): string {
  return `load:${fingerprint}`;
}

/** The slot that remembers a file by path, size and mtime: its fingerprint, a hint only. */
function seenProgressName(file: string, head: Head): string {
  const key = JSON.stringify([path.resolve(file), head.size, head.mtimeMs]);
  return `load-seen:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

const run = promisify(execFile);
const PROGRESS_POLL_MS = 200;

/** Loads each file in turn, under one writer lock and one DuckDB. A file loaded before is skipped. */
export async function loadFiles(files: readonly string[], opts: LoadOptions): Promise<FileLoad[]> {
  const lakeDir = path.resolve(opts.lakeDir);
  const tmpDir = path.join(path.resolve(opts.dataDir), 'tmp');
  try {
    await mkdir(eventsDir(lakeDir), { recursive: true });
    await mkdir(tmpDir, { recursive: true });
  } catch (err) {
    throw ioError(`cannot create the lake folder ${lakeDir}`, err);
  }
  const lock = await openWriting(lakeDir, opts.storage, opts.lockedHint);
  let db: DuckDB | undefined;
  const runId = newRunId();
  try {
    const threads = opts.threads ?? Math.max(1, Math.min(4, os.availableParallelism()));
    db = await openDuckDB({
      threads: String(threads),
      memory_limit: opts.memoryLimit ?? '1GB',
      // Row order does not matter in the lake; dropping it lets the COPY stream in less memory.
      preserve_insertion_order: 'false',
      temp_directory: tmpDir,
    });
    const out: FileLoad[] = [];
    for (let i = 0; i < files.length; i++) {
      const staging = path.join(stagingDir(lakeDir), runId, String(i + 1).padStart(5, '0'));
      out.push(await loadFile(db, files[i]!, { ...opts, lakeDir, tmpDir, staging, runId }));
    }
    return out;
  } finally {
    db?.close();
    await rm(path.join(stagingDir(lakeDir), runId), { recursive: true, force: true }).catch(() => undefined);
    lock.release();
  }
}

interface FileContext extends LoadOptions {
  tmpDir: string;
  staging: string;
  runId: string;
}

async function loadFile(db: DuckDB, file: string, ctx: FileContext): Promise<FileLoad> {
  const started = Date.now();
  const maxLineBytes = ctx.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const head = await probeHead(file, maxLineBytes);
  const report = (phase: LoadPhase, done: number) =>
    ctx.onProgress?.({ file, phase, done, total: head.size });
  const isLoaded = async (fingerprint: string) =>
    Object.keys(await readLakeProgress(ctx.lakeDir, loadProgressName(fingerprint), ctx.storage)).length > 0;
  const base = {
    file,
    source: head.name,
    inputBytes: head.size,
    rows: 0,
    rejected: 0,
    rejectedByReason: {},
    deadLetterPath: null,
    partitions: [],
    files: 0,
    bytes: 0,
  };
  const alreadyLoaded = (fingerprint: string): FileLoad => ({
    ...base,
    fingerprint,
    status: 'already loaded',
    seconds: (Date.now() - started) / 1000,
  });

  // A file seen before (same path, size and mtime) is hashed first, so loading it again costs one
  // read; any other is hashed beside the COPY (DuckDB leaves a core to spare on a gzip file), and a
  // file whose content turns out to be loaded already (renamed, touched) is dropped from staging.
  const seenName = seenProgressName(file, head);
  const seen = await readLakeProgress(ctx.lakeDir, seenName, ctx.storage);
  let hashing: Promise<string>;
  if (seen.fingerprint) {
    const fingerprint = await sha256(file, (done) => report('fingerprint', done));
    if (await isLoaded(fingerprint)) return alreadyLoaded(fingerprint);
    hashing = Promise.resolve(fingerprint);
  } else {
    hashing = sha256(file, () => {});
    hashing.catch(() => {}); // awaited after the COPY
  }

  const { staging } = ctx;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(staging), { recursive: true });
  const source = await duckdbSource(file, head, ctx.tmpDir);
  let copied: number;
  try {
    const scan: CsvScan = {
      path: source.path,
      skipLines: head.skipLines,
      maxLineBytes,
      compression: source.compression,
      crlf: head.crlf,
    };
    await db.connection.run('DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans');
    const copy = db.connection.run(
      `COPY (${loadSelectSql(scan)}) TO ${sqlString(staging)}
       (${PARQUET_COPY_OPTIONS}, PARTITION_BY (event_date), FILENAME_PATTERN 'data_{i}')`,
    );
    const timer = setInterval(() => {
      report('load', source.bytesRead?.() ?? (head.size * db.connection.progress.percentage) / 100);
    }, PROGRESS_POLL_MS);
    try {
      const [result] = await Promise.all([copy, source.fed]);
      copied = Number((await result.getRowsJS())[0]?.[0] ?? 0);
    } finally {
      clearInterval(timer);
    }
    report('load', head.size);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw new StorepulseError(
      'INPUT',
      `${head.name}: DuckDB cannot read it as the dataset's CSV: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  } finally {
    await source.close();
  }

  let fingerprint: string;
  try {
    fingerprint = await hashing;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  if (await isLoaded(fingerprint)) {
    await rm(staging, { recursive: true, force: true });
    return alreadyLoaded(fingerprint);
  }

  const sqlRejects = await countRejects(db, staging);
  const valid = copied - (sqlRejects.nullPartition ?? 0);
  delete sqlRejects.nullPartition;
  const rejected = Object.values(sqlRejects).reduce((a, b) => a + b, 0);
  let deadLetterPath: string | null = null;
  if (rejected > 0) {
    try {
      deadLetterPath = await writeDeadLetters(file, ctx, valid, sqlRejects, (done) =>
        report('dead letters', done),
      );
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  const staged = await sizeStagedFiles(db, staging, ctx.maxFileBytes ?? PARQUET_FILE_BYTES);
  const partitions = await publishFlush(
    ctx.lakeDir,
    {
      staging,
      fileName: (n) => `part-${ctx.runId}-${path.basename(staging)}-${n}.parquet`,
      progress: {
        name: loadProgressName(fingerprint),
        positions: { source: head.name, rows: String(valid), loaded_at: new Date().toISOString() },
      },
    },
    ctx.storage,
  );
  // A hint whose loss costs only the next load's time (see above): a failure to write it is ignored.
  await writeLakeProgress(ctx.lakeDir, seenName, { fingerprint }, ctx.storage).catch(() => undefined);
  return {
    ...base,
    fingerprint,
    status: 'loaded',
    rows: valid,
    rejected,
    rejectedByReason: sqlRejects as Partial<Record<RejectReason, number>>,
    deadLetterPath,
    partitions: [...new Set(partitions)].sort(),
    files: partitions.length,
    bytes: staged,
    seconds: (Date.now() - started) / 1000,
  };
}

/** What the probe learns from the front of a file before DuckDB reads it. */
interface Head {
  name: string;
  format: OpenedInput['format'];
  size: number;
  mtimeMs: number;
  skipLines: number;
  crlf: boolean;
}

/**
 * Opens the input the reader's way (format from the magic bytes, the zip's one CSV entry) and runs
 * its parser over the first lines until the header question is settled: a header (skipped by
 * DuckDB), data, or a header with other columns (the reader's error).
 */
async function probeHead(file: string, maxLineBytes: number): Promise<Head> {
  const input = await openInput(file);
  try {
    const { size, mtimeMs } = await stat(file);
    const parser = new CsvEventParser({ source: input.name, maxLineBytes, batchSize: 1, onReject: () => {} });
    let text = '';
    let crlf: boolean | undefined;
    for await (const chunk of input.stream as AsyncIterable<Buffer>) {
      text += chunk.toString('utf8');
      const lines = text.split('\n');
      for (let i = 0; i < lines.length - 1 && !parser.headerSettled; i++) {
        crlf ??= lines[i]!.endsWith('\r');
        parser.feed(`${lines[i]}\n`);
      }
      if (parser.headerSettled || text.length > maxLineBytes) break;
      text = lines[lines.length - 1]!;
    }
    if (!parser.headerSettled) parser.end();
    const headerLines = parser.rows === 0 && parser.headerSettled ? parser.lines : 0;
    return {
      name: input.name,
      format: input.format,
      size,
      mtimeMs,
      skipLines: headerLines,
      crlf: crlf ?? false,
    };
  } finally {
    input.close();
  }
}

async function sha256(file: string, onBytes: (done: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      done += chunk.length;
      onBytes(done);
    }
  } catch (err) {
    throw ioError(`cannot read ${file}`, err);
  }
  return hash.digest('hex');
}

interface DuckdbSource {
  path: string;
  compression: CsvScan['compression'];
  /** Resolves once a zip entry is fully fed to DuckDB (at once for files DuckDB reads itself). */
  fed: Promise<void>;
  /** Compressed bytes fed so far (zip), for progress. */
  bytesRead?: () => number;
  close(): Promise<void>;
}

/**
 * DuckDB reads plain and gzip files itself. A zip entry it cannot read: the reader's opener inflates
 * it into a FIFO in the data folder that DuckDB reads as a stream, so nothing is extracted to disk.
 */
async function duckdbSource(file: string, head: Head, tmpDir: string): Promise<DuckdbSource> {
  if (head.format !== 'zip') {
    const compression = head.format === 'gzip' ? 'gzip' : 'none';
    return { path: path.resolve(file), compression, fed: Promise.resolve(), close: async () => {} };
  }
  const fifo = path.join(tmpDir, `load-${process.pid}-${randomBytes(4).toString('hex')}.csv`);
  try {
    await run('mkfifo', [fifo]);
  } catch (err) {
    throw ioError(`cannot make a FIFO for the zip entry at ${fifo}`, err);
  }
  const input = await openInput(file);
  // Opening a FIFO for writing waits for its reader (DuckDB's COPY), so this runs beside the query.
  const fed = pipeline(input.stream, createWriteStream(fifo)).catch((err: unknown) => {
    throw new StorepulseError('INPUT', `${input.name}: ${errorMessage(err)}`, { cause: err });
  });
  return {
    path: fifo,
    compression: 'none',
    fed,
    bytesRead: input.bytesRead,
    close: async () => {
      input.close();
      await rm(fifo, { force: true });
    },
  };
}

const NULL_PARTITION = 'event_date=__HIVE_DEFAULT_PARTITION__';

/**
 * Rejects of the SQL pass by reason: rows in the NULL partition (their reason is in `event_type`)
 * plus the records DuckDB's CSV scan set aside. `nullPartition` counts the former (COPY counted them
 * among its rows); a CSV reject the reader would keep counts as `unmatched`.
 */
async function countRejects(db: DuckDB, staging: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const add = (rows: unknown[][]) => {
    for (const [reason, n] of rows) counts[String(reason)] = (counts[String(reason)] ?? 0) + Number(n);
  };
  const nullDir = path.join(staging, NULL_PARTITION);
  const hasNull = await stat(nullDir).then(
    () => true,
    () => false,
  );
  if (hasNull) {
    const r = await db.connection.runAndReadAll(
      `SELECT event_type, count(*) FROM read_parquet(${sqlString(path.join(nullDir, '*.parquet'))}) GROUP BY 1`,
    );
    const rows = r.getRowsJS() as unknown[][];
    add(rows);
    counts.nullPartition = rows.reduce((a, row) => a + Number(row[1]), 0);
  }
  const csv = await db.connection.runAndReadAll(
    `SELECT coalesce(reason, 'unmatched'), count(*) FROM (
       SELECT line_byte_position, ${CSV_REJECT_REASON_SQL} AS reason
       FROM (SELECT line_byte_position, arg_min(error_type, coalesce(column_idx, 0)) AS error_type,
               arg_min(csv_line, coalesce(column_idx, 0)) AS csv_line
             FROM reject_errors GROUP BY line_byte_position)) GROUP BY 1`,
  );
  add(csv.getRowsJS() as unknown[][]);
  return counts;
}

/**
 * The reader reads the file again and writes its rejects to the dead-letter file; its counts must
 * equal the SQL pass's, or the load publishes nothing.
 */
async function writeDeadLetters(
  file: string,
  ctx: FileContext,
  sqlValid: number,
  sqlRejects: Record<string, number>,
  onBytes: (done: number) => void,
): Promise<string> {
  const sink = createDeadLetterFile(defaultDeadLetterPath(ctx.dataDir, file));
  const events = readEvents(file, {
    maxLineBytes: ctx.maxLineBytes,
    deadLetter: sink,
    onProgress: (s) => onBytes(s.bytesRead),
  });
  try {
    for await (const batch of events) void batch;
  } finally {
    await sink.close();
  }
  const stats = events.stats;
  const differs = [...REJECT_REASONS, 'unmatched']
    .filter((r) => (stats.rejectedByReason[r as RejectReason] ?? 0) !== (sqlRejects[r] ?? 0))
    .map((r) => `${r}: ${stats.rejectedByReason[r as RejectReason] ?? 0} vs ${sqlRejects[r] ?? 0}`);
  if (stats.valid !== sqlValid) differs.unshift(`valid rows: ${stats.valid} vs ${sqlValid}`);
  if (differs.length > 0) {
    throw new StorepulseError(
      'INPUT',
      `${stats.source}: DuckDB and the dataset reader read this file differently (reader vs DuckDB: ` +
        `${differs.join(', ')}), so nothing was loaded. This happens with malformed quoting, invalid ` +
        `UTF-8 or a lone CR (docs/lake-load.md); load it through the stream path ` +
        `(storepulse simulate, then storepulse process). The reader's rejects are in ${sink.path}`,
    );
  }
  return sink.path!;
}

/**
 * Splits each staged file larger than PARQUET_FILE_BYTES into files of about that size (DuckDB
 * cannot rotate files within PARTITION_BY), and returns the bytes of the staged partition files.
 */
async function sizeStagedFiles(db: DuckDB, staging: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  try {
    for (const dir of await readdir(staging)) {
      if (partitionOf(dir) === null) continue;
      const folder = path.join(staging, dir);
      for (const name of await readdir(folder)) {
        const file = path.join(folder, name);
        const size = (await stat(file)).size;
        bytes += size;
        if (size <= maxBytes) continue;
        const split = path.join(staging, `split-${dir}-${name}`);
        await db.connection.run(
          `COPY (SELECT * FROM read_parquet(${sqlString(file)})) TO ${sqlString(split)}
           (${PARQUET_COPY_OPTIONS}, FILE_SIZE_BYTES ${maxBytes}, FILENAME_PATTERN 'data_{i}')`,
        );
        await rm(file);
        for (const piece of await readdir(split)) {
          await rename(path.join(split, piece), path.join(folder, `${path.parse(name).name}-${piece}`));
        }
        await rm(split, { recursive: true });
      }
    }
  } catch (err) {
    throw lakeIoError(`sizing the files in ${staging}`, err);
  }
  return bytes;
}
