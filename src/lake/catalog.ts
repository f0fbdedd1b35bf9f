/**
 * The lake's catalog, the embedded stand-in for Glue's Data Catalog (docs/catalog.md): what tables
 * there are, their schema as DuckDB reads it, and their partitions with row, file and byte counts.
 * Row counts come from the Parquet footers, so describing a large lake reads no data pages. The
 * crawler that keeps a registration per table is crawl.ts.
 */
import path from 'node:path';
import { StorepulseError } from '../core/errors.js';
import { type DuckDB, openDuckDB, queryPlain, sqlString } from './duckdb.js';
import {
  EVENTS_TABLE,
  type LakeFile,
  listLakeFiles,
  listTableFiles,
  listTables,
  PARTITION_KEY,
  tableDir,
} from './layout.js';
import { EVENT_COLUMNS, PARTITION_COLUMN } from './schema.js';
import { withSnapshot } from './snapshot.js';

export interface LakeColumnInfo {
  name: string;
  type: string;
  /** True for the Hive partition column, which lives in folder names rather than in the files. */
  partitionKey: boolean;
}

export interface LakePartition {
  /** Partition value, e.g. `2019-10-01`. */
  value: string;
  path: string;
  rows: number;
  files: number;
  bytes: number;
}

export interface LakeTable {
  name: string;
  location: string;
  format: 'parquet';
  partitionKeys: string[];
  /** From DuckDB's DESCRIBE of the files; the declared schema while the events table has no files. */
  columns: LakeColumnInfo[];
  partitions: LakePartition[];
  rows: number;
  files: number;
  bytes: number;
}

export interface LakeDescription {
  lakeDir: string;
  tables: LakeTable[];
  totalBytes: number;
}

/**
 * The SQL that reads a table (the events table or any other) with its partition column from these
 * files. An explicit list rather than a glob: DuckDB's glob would also match hidden files, which Hive
 * readers skip.
 */
export function eventsSource(files: readonly LakeFile[]): string {
  const list = files.map((f) => sqlString(f.path)).join(', ');
  return `read_parquet([${list}], hive_partitioning = true, union_by_name = true)`;
}

export const fileList = (files: readonly LakeFile[]) => `[${files.map((f) => sqlString(f.path)).join(', ')}]`;

/** The tables to look at: the events table always (it has a declared schema), then every other one. */
export async function tableNames(lakeDir: string, only?: string): Promise<string[]> {
  const names = [EVENTS_TABLE, ...(await listTables(lakeDir)).filter((t) => t !== EVENTS_TABLE)];
  if (only === undefined) return names;
  tableDir(lakeDir, only); // rejects names that are not a table folder's
  if (!names.includes(only)) {
    throw new StorepulseError(
      'USAGE',
      `the lake at ${lakeDir} has no table ${only} (tables: ${names.join(', ')})`,
    );
  }
  return [only];
}

/** The one partition column of a table's files; a table whose folders use two is not a Hive table. */
export function partitionKeyOf(table: string, files: readonly LakeFile[]): string | undefined {
  const keys = [...new Set(files.map((f) => f.key))];
  if (keys.length > 1) {
    throw new StorepulseError('STATE', `table ${table} mixes partition folders of ${keys.join(' and ')}`);
  }
  return keys[0] ?? (table === EVENTS_TABLE ? PARTITION_KEY : undefined);
}

export async function rowsByFile(db: DuckDB, files: readonly LakeFile[]): Promise<Map<string, number>> {
  const meta = await queryPlain(
    db.connection,
    `SELECT file_name, num_rows FROM parquet_file_metadata(${fileList(files)})`,
  );
  return new Map(meta.rows.map((r) => [String(r.file_name), Number(r.num_rows)]));
}

/** Per partition value: files, rows and bytes, sorted by value. */
export function partitionsOf(files: readonly LakeFile[], rows: Map<string, number>): LakePartition[] {
  const byValue = new Map<string, LakePartition>();
  for (const f of files) {
    let p = byValue.get(f.partition);
    if (!p) {
      p = { value: f.partition, path: path.dirname(f.path), rows: 0, files: 0, bytes: 0 };
      byValue.set(f.partition, p);
    }
    p.rows += rows.get(f.path) ?? 0;
    p.files++;
    p.bytes += f.bytes;
  }
  return [...byValue.values()].sort((a, b) => (a.value < b.value ? -1 : 1));
}

/** A table as described from one consistent listing of its files (snapshot.ts: compaction may run). */
function describeTable(db: () => Promise<DuckDB>, lakeDir: string, name: string): Promise<LakeTable> {
  return withSnapshot(
    lakeDir,
    () => listTableFiles(lakeDir, name),
    (files) => describeFiles(db, lakeDir, name, files),
  );
}

async function describeFiles(
  db: () => Promise<DuckDB>,
  lakeDir: string,
  name: string,
  files: LakeFile[],
): Promise<LakeTable> {
  const key = partitionKeyOf(name, files);
  const table: LakeTable = {
    name,
    location: tableDir(lakeDir, name),
    format: 'parquet',
    partitionKeys: key === undefined ? [] : [key],
    columns:
      name === EVENTS_TABLE
        ? [...EVENT_COLUMNS, PARTITION_COLUMN].map((c) => ({
            name: c.name,
            type: c.type,
            partitionKey: c.name === PARTITION_KEY,
          }))
        : [],
    partitions: [],
    rows: 0,
    files: 0,
    bytes: 0,
  };
  if (files.length === 0) return table;
  const conn = (await db()).connection;
  const schema = await queryPlain(conn, `DESCRIBE SELECT * FROM ${eventsSource(files)}`);
  table.columns = schema.rows.map((r) => ({
    name: String(r.column_name),
    type: String(r.column_type),
    partitionKey: r.column_name === key,
  }));
  table.partitions = partitionsOf(files, await rowsByFile(await db(), files));
  for (const p of table.partitions) {
    table.rows += p.rows;
    table.files += p.files;
    table.bytes += p.bytes;
  }
  return table;
}

/** Opens DuckDB on first use only: a lake with no files needs none. */
function lazyDuckDB(): { get: () => Promise<DuckDB>; close: () => void } {
  let db: Promise<DuckDB> | undefined;
  return {
    get: () => (db ??= openDuckDB()),
    close: () =>
      void db?.then(
        (d) => d.close(),
        () => undefined, // the caller got the error from `get`
      ),
  };
}

/**
 * Every table of the lake (the events table always; an empty or missing one with its declared
 * schema), or only `opts.table`.
 */
export async function describeLake(lakeDir: string, opts: { table?: string } = {}): Promise<LakeDescription> {
  const dir = path.resolve(lakeDir);
  const db = lazyDuckDB();
  try {
    const tables: LakeTable[] = [];
    for (const name of await tableNames(dir, opts.table)) tables.push(await describeTable(db.get, dir, name));
    return { lakeDir: dir, tables, totalBytes: tables.reduce((n, t) => n + t.bytes, 0) };
  } finally {
    db.close();
  }
}

/** Rows in the events table (from the Parquet footers); 0 for a lake with no files. */
export async function lakeRowCount(lakeDir: string): Promise<number> {
  const files = await listLakeFiles(path.resolve(lakeDir));
  if (files.length === 0) return 0;
  const db = await openDuckDB();
  try {
    const r = await queryPlain(
      db.connection,
      `SELECT sum(num_rows) AS n FROM parquet_file_metadata(${fileList(files)})`,
    );
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    db.close();
  }
}
