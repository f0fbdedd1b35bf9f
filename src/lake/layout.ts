/**
 * Where things live in a lake folder. One place for the paths, so the writer, the catalog,
 * the report runner and the docs agree:
 *
 *   <lakeDir>/events/event_date=YYYY-MM-DD/part-<runId>-<flush>-<n>.parquet   published data
 *   <lakeDir>/<table>/<key>=<value>/*.parquet        any other table (the ETL's `clean`), same layout
 *   <lakeDir>/_staging/<runId>/<flush>/...                                    files being written
 *   <lakeDir>/_progress/<stream>.json                stream positions published (commit.ts)
 *   <lakeDir>/_catalog/<table>.json                  the catalog's registration of a table (catalog.ts)
 *   <lakeDir>/writer.lock                            the writer's pid while one runs
 *
 * Like Hive and Athena, readers skip every name that starts with `_` or `.`.
 */
import { readdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';

export const EVENTS_TABLE = 'events';
export const PARTITION_KEY = 'event_date';
const STAGING_DIR = '_staging';
export const PROGRESS_DIR = '_progress';
const CATALOG_DIR = '_catalog';

/**
 * A run's id in file and staging names: its start (UTC, `YYYYMMDDTHHMMSSZ`) and 8 random hex digits,
 * so names sort by run start and two runs, or two writers at once, never pick the same one.
 */
export function newRunId(now = Date.now()): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

export function eventsDir(lakeDir: string): string {
  return path.join(lakeDir, EVENTS_TABLE);
}

export function stagingDir(lakeDir: string): string {
  return path.join(lakeDir, STAGING_DIR);
}

export function catalogDir(lakeDir: string): string {
  return path.join(lakeDir, CATALOG_DIR);
}

/** Names Hive readers skip: staging, progress, the catalog, temporary files. */
function isHidden(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}

/** A table's folder. The name must be one folder name that readers do not skip. */
export function tableDir(lakeDir: string, table: string): string {
  if (table === '' || isHidden(table) || /[/\\]/.test(table)) {
    throw new StorepulseError('USAGE', `${JSON.stringify(table)} is not a table name`);
  }
  return path.join(lakeDir, table);
}

/** The glob every reader uses: exactly one partition level, published `.parquet` files only. */
export function eventsGlob(lakeDir: string): string {
  return path.join(eventsDir(lakeDir), '*', '*.parquet');
}

export interface LakeFile {
  /** The partition column, from the folder name `<key>=<value>`, e.g. `event_date`. */
  key: string;
  /** The partition value, e.g. `2019-10-01`. */
  partition: string;
  path: string;
  bytes: number;
}

const PARTITION_RE = /^event_date=(\d{4}-\d{2}-\d{2})$/;
const HIVE_FOLDER_RE = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/;

/** The partition value (`YYYY-MM-DD`) of an events partition folder's name, or null for any other name. */
export function partitionOf(folderName: string): string | null {
  return PARTITION_RE.exec(folderName)?.[1] ?? null;
}

/** The key and value of any Hive partition folder's name (`<key>=<value>`), or null. */
function hivePartitionOf(folderName: string): { key: string; value: string } | null {
  const m = HIVE_FOLDER_RE.exec(folderName);
  return m ? { key: m[1]!, value: m[2]! } : null;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw ioError(`cannot list ${dir}`, err);
  }
}

/** The published Parquet files of one table folder, in the partition folders `accept` takes. */
async function listFiles(
  root: string,
  accept: (folder: string) => { key: string; value: string } | null,
): Promise<LakeFile[]> {
  const out: LakeFile[] = [];
  for (const dir of (await readdirOrEmpty(root)).sort()) {
    const part = accept(dir);
    if (part === null) continue;
    for (const name of (await readdirOrEmpty(path.join(root, dir))).sort()) {
      if (!name.endsWith('.parquet') || isHidden(name)) continue;
      const p = path.join(root, dir, name);
      const s = await stat(p);
      if (s.isFile()) out.push({ key: part.key, partition: part.value, path: p, bytes: s.size });
    }
  }
  return out;
}

/** Every published Parquet file of the events table, sorted by partition then name. */
export function listLakeFiles(lakeDir: string): Promise<LakeFile[]> {
  return listFiles(eventsDir(lakeDir), (dir) => {
    const value = partitionOf(dir);
    return value === null ? null : { key: PARTITION_KEY, value };
  });
}

/**
 * Every published Parquet file of a table, sorted by partition then name: one level of
 * `<key>=<value>` folders, as the events table (for `events`, exactly `listLakeFiles`).
 */
export function listTableFiles(lakeDir: string, table: string): Promise<LakeFile[]> {
  if (table === EVENTS_TABLE) return listLakeFiles(lakeDir);
  return listFiles(tableDir(lakeDir, table), hivePartitionOf);
}

/**
 * The tables of a lake, sorted: every folder under the lake root that readers do not skip and that
 * holds at least one `<key>=<value>` partition folder.
 */
export async function listTables(lakeDir: string): Promise<string[]> {
  const tables: string[] = [];
  for (const name of (await readdirOrEmpty(lakeDir)).sort()) {
    if (isHidden(name)) continue;
    const entries = await readdirOrEmpty(path.join(lakeDir, name));
    if (entries.some((e) => hivePartitionOf(e) !== null)) tables.push(name);
  }
  return tables;
}

/** The error every reader raises on a lake with nothing in it yet. */
export function emptyLakeError(lakeDir: string): StorepulseError {
  return new StorepulseError(
    'STATE',
    `the lake at ${lakeDir} has no data yet: run \`storepulse demo\` or \`storepulse simulate\` first`,
  );
}

/**
 * The Parquet options of every COPY into the lake: zstd (smaller than Snappy, read natively by
 * Athena, Spark and DuckDB) and large row groups. DuckDB cannot rotate files within PARTITION_BY
 * (FILE_SIZE_BYTES), so a writer that can make a partition's file larger than PARQUET_FILE_BYTES
 * splits it afterwards (lake/load.ts).
 */
export const PARQUET_COPY_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000';

/** Largest Parquet file wanted: Athena reads files of 64–256 MB best. */
export const PARQUET_FILE_BYTES = 256 * 1024 * 1024;
