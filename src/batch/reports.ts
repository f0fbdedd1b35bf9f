/**
 * The report runner: the SQL files in `sql/` on DuckDB over the lake. Each file selects FROM a
 * table named `events`; here that is a view over the lake's Parquet files, on Athena it is the
 * Glue table. One file is one report; a report may return several named tables.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { StorepulseError, errorMessage, ioError } from '../core/errors.js';
import { packagePath } from '../core/package.js';
import { eventsSource } from '../lake/catalog.js';
import { type DuckDB, openDuckDB, plainRows, sqlString } from '../lake/duckdb.js';
import { emptyLakeError, listLakeFiles } from '../lake/layout.js';
import { parseReportFile, type ReportFile } from './sqlfile.js';

export interface ReportInfo {
  name: string;
  title: string;
  /** The question the report answers (from the SQL file's header). */
  description: string;
  parameters: string;
  rule: string;
  /** Names of the tables the report returns. */
  tables: string[];
  file: string;
}

export interface ReportTable {
  name: string;
  columns: string[];
  /** Plain JSON-friendly values: numbers, strings (ISO-8601 UTC for instants), null. */
  rows: Record<string, unknown>[];
  /** True when the query had more rows than were kept. */
  truncated: boolean;
}

export interface ReportResult {
  name: string;
  title: string;
  tables: ReportTable[];
}

export interface RunReportOptions {
  /** At most this many rows per table; default: each table's own limit from its SQL file. */
  limit?: number;
  /** Folder of report files; default: `sql/` at the package root. */
  sqlDir?: string;
  /** Only events with `from <= event_time < to` (epoch ms): the reports see the lake cut to the range. */
  from?: number;
  to?: number;
}

/** Rows kept from a table that sets no limit of its own, so a runaway query cannot fill memory. */
const MAX_ROWS = 10_000;

/** `sql/` of the installed package. */
const defaultSqlDir = () => packagePath('sql');

function loadReports(sqlDir: string): (ReportFile & { file: string })[] {
  let names: string[];
  try {
    names = readdirSync(sqlDir).filter((f) => f.endsWith('.sql'));
  } catch (err) {
    throw new StorepulseError('INTERNAL', `cannot read the report folder ${sqlDir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return names.sort().map((f) => {
    const file = path.join(sqlDir, f);
    return { ...parseReportFile(f.slice(0, -4), readFileSync(file, 'utf8')), file };
  });
}

export function listReports(opts: Pick<RunReportOptions, 'sqlDir'> = {}): ReportInfo[] {
  return loadReports(opts.sqlDir ?? defaultSqlDir()).map((r) => ({
    name: r.name,
    title: r.title,
    description: r.description,
    parameters: r.parameters,
    rule: r.rule,
    tables: r.queries.map((q) => q.name),
    file: r.file,
  }));
}

function findReport(name: string, sqlDir: string): ReportFile {
  const reports = loadReports(sqlDir);
  const report = reports.find((r) => r.name === name);
  if (!report) {
    throw new StorepulseError(
      'USAGE',
      `unknown report ${JSON.stringify(name)}; known reports: ${reports.map((r) => r.name).join(', ')}`,
    );
  }
  return report;
}

/** A DuckDB with the `events` view over the lake; STATE error when the lake has no files yet. */
async function openLake(lakeDir: string, range: Pick<RunReportOptions, 'from' | 'to'>): Promise<DuckDB> {
  const dir = path.resolve(lakeDir);
  const files = await listLakeFiles(dir);
  if (files.length === 0) throw emptyLakeError(dir);
  const db = await openDuckDB();
  const where: string[] = [];
  // Event times are plain UTC TIMESTAMPs; the date partition lets DuckDB skip whole files.
  const ts = (ms: number) =>
    `TIMESTAMP ${sqlString(new Date(ms).toISOString().replace('T', ' ').slice(0, 23))}`;
  if (range.from !== undefined)
    where.push(`event_time >= ${ts(range.from)}`, `event_date >= CAST(${ts(range.from)} AS DATE)`);
  if (range.to !== undefined)
    where.push(`event_time < ${ts(range.to)}`, `event_date <= CAST(${ts(range.to)} AS DATE)`);
  try {
    await db.connection.run(
      `CREATE VIEW events AS SELECT * FROM ${eventsSource(files)}` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''),
    );
  } catch (err) {
    db.close();
    throw ioError(`cannot read the lake at ${dir}`, err);
  }
  return db;
}

async function run(db: DuckDB, report: ReportFile, limit: number | undefined): Promise<ReportResult> {
  const tables: ReportTable[] = [];
  for (const q of report.queries) {
    const keep = limit ?? q.limit ?? MAX_ROWS;
    let table: ReportTable;
    try {
      // Stream so that a long ranked list is cut without materialising all of it.
      const reader = await db.connection.streamAndReadUntil(q.sql, keep + 1);
      table = { name: q.name, ...plainRows(reader, keep), truncated: reader.currentRowCount > keep };
    } catch (err) {
      throw new StorepulseError(
        'INTERNAL',
        `report ${report.name}, table ${q.name} failed: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    tables.push(table);
  }
  return { name: report.name, title: report.title, tables };
}

export async function runReport(
  name: string,
  lakeDir: string,
  opts: RunReportOptions = {},
): Promise<ReportResult> {
  const report = findReport(name, opts.sqlDir ?? defaultSqlDir());
  const db = await openLake(lakeDir, opts);
  try {
    return await run(db, report, opts.limit);
  } finally {
    db.close();
  }
}

export async function runAllReports(lakeDir: string, opts: RunReportOptions = {}): Promise<ReportResult[]> {
  const reports = loadReports(opts.sqlDir ?? defaultSqlDir());
  const db = await openLake(lakeDir, opts);
  try {
    const results: ReportResult[] = [];
    for (const r of reports) results.push(await run(db, r, opts.limit));
    return results;
  } finally {
    db.close();
  }
}
