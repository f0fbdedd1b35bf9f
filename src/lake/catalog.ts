/**
 * The lake's catalog, the embedded stand-in for a Glue crawler: what tables there are, their
 * schema as DuckDB reads it, and their partitions with row, file and byte counts. Row counts come
 * from the Parquet footers, so describing a large lake reads no data pages.
 */
import path from 'node:path';
import { openDuckDB, queryPlain, sqlString } from './duckdb.js';
import { EVENTS_TABLE, eventsDir, type LakeFile, listLakeFiles, PARTITION_KEY } from './layout.js';
import { EVENT_COLUMNS, PARTITION_COLUMN } from './schema.js';

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
  /** From DuckDB's DESCRIBE of the files; the declared schema while the table has no files. */
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
 * The SQL that reads the events table (with its partition column) from these files. An explicit
 * list rather than a glob: DuckDB's glob would also match hidden files, which Hive readers skip.
 */
export function eventsSource(files: readonly LakeFile[]): string {
  const list = files.map((f) => sqlString(f.path)).join(', ');
  return `read_parquet([${list}], hive_partitioning = true, union_by_name = true)`;
}

function declaredColumns(): LakeColumnInfo[] {
  return [...EVENT_COLUMNS, PARTITION_COLUMN].map((c) => ({
    name: c.name,
    type: c.type,
    partitionKey: c.name === PARTITION_KEY,
  }));
}

export async function describeLake(lakeDir: string): Promise<LakeDescription> {
  const dir = path.resolve(lakeDir);
  const files = await listLakeFiles(dir);
  const table: LakeTable = {
    name: EVENTS_TABLE,
    location: eventsDir(dir),
    format: 'parquet',
    partitionKeys: [PARTITION_KEY],
    columns: declaredColumns(),
    partitions: [],
    rows: 0,
    files: 0,
    bytes: 0,
  };
  if (files.length > 0) {
    const db = await openDuckDB();
    try {
      const list = `[${files.map((f) => sqlString(f.path)).join(', ')}]`;
      const schema = await queryPlain(db.connection, `DESCRIBE SELECT * FROM ${eventsSource(files)}`);
      table.columns = schema.rows.map((r) => ({
        name: String(r.column_name),
        type: String(r.column_type),
        partitionKey: r.column_name === PARTITION_KEY,
      }));
      const meta = await queryPlain(
        db.connection,
        `SELECT file_name, num_rows FROM parquet_file_metadata(${list})`,
      );
      const rowsByFile = new Map(meta.rows.map((r) => [String(r.file_name), Number(r.num_rows)]));
      const byPartition = new Map<string, LakePartition>();
      for (const f of files) {
        const value = f.partition;
        let p = byPartition.get(value);
        if (!p) {
          p = { value, path: path.dirname(f.path), rows: 0, files: 0, bytes: 0 };
          byPartition.set(value, p);
        }
        p.rows += rowsByFile.get(f.path) ?? 0;
        p.files++;
        p.bytes += f.bytes;
      }
      table.partitions = [...byPartition.values()].sort((a, b) => (a.value < b.value ? -1 : 1));
    } finally {
      db.close();
    }
    for (const p of table.partitions) {
      table.rows += p.rows;
      table.files += p.files;
      table.bytes += p.bytes;
    }
  }
  return { lakeDir: dir, tables: [table], totalBytes: table.bytes };
}

/** Rows in the events table (from the Parquet footers); 0 for a lake with no files. */
export async function lakeRowCount(lakeDir: string): Promise<number> {
  const files = await listLakeFiles(path.resolve(lakeDir));
  if (files.length === 0) return 0;
  const db = await openDuckDB();
  try {
    const list = `[${files.map((f) => sqlString(f.path)).join(', ')}]`;
    const r = await queryPlain(
      db.connection,
      `SELECT sum(num_rows) AS n FROM parquet_file_metadata(${list})`,
    );
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    db.close();
  }
}
