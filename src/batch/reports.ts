/**
 * The report runner: the SQL files in `sql/` on DuckDB over the lake. Each file selects FROM a
 * table named `events`; here that is a view over the lake's Parquet files, on Athena it is the
 * Glue table. One file is one report; a report may return several named tables.
 *
 * What every report shares is decided here, once, in that view: the date range, and whose traffic
 * counts (the bot switch: the alert store's flagged users left out by an anti-join, or kept alone).
 * The files never see either, so each reads the same with or without bots.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBPreparedStatement } from '@duckdb/node-api';
import { StorepulseError, errorMessage, ioError } from '../core/errors.js';
import type { Traffic } from '../core/journey/query.js';
import { packagePath } from '../core/package.js';
import { eventsSource } from '../lake/catalog.js';
import { type DuckDB, openDuckDB, plainRows, sqlString } from '../lake/duckdb.js';
import { type LakeFile, stagingDir } from '../lake/layout.js';
import { withEventFiles } from '../lake/snapshot.js';
import { createFlaggedUsers, FLAGGED_USERS_TABLE } from './flagged.js';
import { type ChartKind, type ChartSpec, parseReportFile, type ReportFile } from './sqlfile.js';

export interface ReportInfo {
  name: string;
  title: string;
  /** The question the report answers (from the SQL file's header). */
  description: string;
  parameters: string;
  rule: string;
  /** What differs on Athena (Trino). */
  athena: string;
  /** Named parameters the report takes (`$name` in its SQL) and their defaults. */
  defaults: Record<string, number>;
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
  /** How to draw the table, from its SQL file (`-- @chart`). */
  chart?: ChartSpec;
}

export interface ReportResult {
  name: string;
  title: string;
  /** Whose events were counted. */
  traffic: Traffic;
  /** How many users the flagged list held (left out for `people`, kept alone for `flagged`). */
  flaggedUsers: number;
  /** The named parameters in force, defaults included. */
  params: Record<string, number>;
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
  /** Named parameters (e.g. `{ top_n: 5 }`); each report takes those it declares, the rest keep its defaults. */
  params?: Record<string, number>;
  /**
   * Whose events count. `people` (the default) leaves out the events of `flaggedUsers`: a marketing
   * report that counts bots misleads (a scraper "views" thousands of products and buys none).
   * `flagged` keeps only theirs (what the bots did); `all` keeps every event.
   */
  traffic?: Traffic;
  /** The users the alert store flagged (AlertStore.alertedUsers); default none. */
  flaggedUsers?: readonly number[];
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
    athena: r.athena,
    defaults: r.defaults,
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

/**
 * Runs `fn` on a DuckDB with the `events` view over the lake, cut to the range and to the traffic
 * asked for; STATE error when the lake has no files yet. The files are a snapshot (snapshot.ts):
 * a compaction meanwhile is seen before or after, never halfway.
 */
async function withLake<T>(
  lakeDir: string,
  opts: RunReportOptions,
  fn: (db: DuckDB) => Promise<T>,
): Promise<T> {
  const dir = path.resolve(lakeDir);
  return withEventFiles(dir, async (files) => {
    const spill = await spillDir(dir);
    try {
      const db = await openLake(dir, files, spill, opts);
      try {
        return await fn(db);
      } finally {
        db.close();
      }
    } finally {
      await rm(spill, { recursive: true, force: true });
    }
  });
}

/**
 * A spill folder of this run's own (two report runs at once never share one): in the lake's staging
 * folder, on the lake's disk, which has room for a month's aggregates; in the system's temp folder
 * when the lake cannot be written (a read-only copy).
 */
async function spillDir(lakeDir: string): Promise<string> {
  try {
    await mkdir(stagingDir(lakeDir), { recursive: true });
    return await mkdtemp(path.join(stagingDir(lakeDir), 'reports-spill-'));
  } catch {
    return mkdtemp(path.join(os.tmpdir(), 'storepulse-reports-spill-'));
  }
}

/**
 * DuckDB's default memory limit is 80 % of RAM: over a month of events the reports' aggregates
 * (distinct users and sessions per day) took `demo` from 0.7 to 1.2 GB at 5M events, growing with
 * the data (issue 16). Bounded, DuckDB spills (spillDir) instead. Not lower than this: at 256 MB the
 * generated 42M-event month's cart_abandonment failed (an aggregate DuckDB cannot spill enough) and
 * session_funnel's windows took over 10× longer; a quarter of RAM, at least 1 GiB, runs them all.
 */
const REPORT_MEMORY_LIMIT = `${Math.max(1024, Math.floor(os.totalmem() / 4 / 2 ** 20))}MB`;

async function openLake(
  dir: string,
  files: readonly LakeFile[],
  spill: string,
  opts: RunReportOptions,
): Promise<DuckDB> {
  const db = await openDuckDB({ memory_limit: REPORT_MEMORY_LIMIT, temp_directory: spill });
  const where: string[] = [];
  // Event times are plain UTC TIMESTAMPs; the date partition lets DuckDB skip whole files.
  const ts = (ms: number) =>
    `TIMESTAMP ${sqlString(new Date(ms).toISOString().replace('T', ' ').slice(0, 23))}`;
  if (opts.from !== undefined)
    where.push(`event_time >= ${ts(opts.from)}`, `event_date >= CAST(${ts(opts.from)} AS DATE)`);
  if (opts.to !== undefined)
    where.push(`event_time < ${ts(opts.to)}`, `event_date <= CAST(${ts(opts.to)} AS DATE)`);
  const traffic = opts.traffic ?? 'people';
  const flagged = opts.flaggedUsers ?? [];
  // With nobody flagged, `people` is every event: no join at all.
  if (traffic === 'flagged' || (traffic === 'people' && flagged.length > 0)) {
    const join = `SELECT 1 FROM ${FLAGGED_USERS_TABLE} f WHERE f.user_id = e.user_id`;
    where.push(traffic === 'people' ? `NOT EXISTS (${join})` : `EXISTS (${join})`);
  }
  try {
    if (traffic !== 'all') await createFlaggedUsers(db.connection, flagged);
    await db.connection.run(
      `CREATE VIEW events AS SELECT e.* FROM ${eventsSource(files)} e` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''),
    );
  } catch (err) {
    db.close();
    throw ioError(`cannot read the lake at ${dir}`, err);
  }
  return db;
}

/** The values of the report's named parameters: those asked for, else the file's defaults. */
function paramsOf(report: ReportFile, asked: Record<string, number>): Record<string, number> {
  const out = { ...report.defaults };
  for (const [k, v] of Object.entries(asked)) if (k in out) out[k] = v;
  return out;
}

/** Asked-for parameters that none of these reports takes: a usage error, not a silent no-op. */
function checkParams(reports: readonly ReportFile[], asked: Record<string, number>): void {
  for (const [k, v] of Object.entries(asked)) {
    const takers = reports.filter((r) => k in r.defaults);
    if (takers.length === 0) {
      const names = reports.length === 1 ? `report ${reports[0]!.name}` : 'no report';
      throw new StorepulseError('USAGE', `${names} takes no parameter ${k}`);
    }
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new StorepulseError('USAGE', `parameter ${k} takes a whole number of 0 or more, got ${v}`);
    }
  }
}

function bind(prepared: DuckDBPreparedStatement, report: ReportFile, params: Record<string, number>): void {
  for (let i = 1; i <= prepared.parameterCount; i++) {
    const name = prepared.parameterName(i);
    const value = params[name];
    if (value === undefined) {
      throw new StorepulseError(
        'INTERNAL',
        `report ${report.name} uses $${name}, which its header's Parameters field does not declare`,
      );
    }
    prepared.bindBigInt(i, BigInt(value));
  }
}

async function run(db: DuckDB, report: ReportFile, opts: RunReportOptions): Promise<ReportResult> {
  const params = paramsOf(report, opts.params ?? {});
  const tables: ReportTable[] = [];
  for (const q of report.queries) {
    const keep = opts.limit ?? q.limit ?? MAX_ROWS;
    let table: ReportTable;
    try {
      const prepared = await db.connection.prepare(q.sql);
      bind(prepared, report, params);
      // Stream so that a long ranked list is cut without materialising all of it.
      const reader = await prepared.streamAndReadUntil(keep + 1);
      table = { name: q.name, ...plainRows(reader, keep), truncated: reader.currentRowCount > keep };
    } catch (err) {
      if (err instanceof StorepulseError) throw err;
      throw new StorepulseError(
        'INTERNAL',
        `report ${report.name}, table ${q.name} failed: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    if (q.chart) table.chart = checkChart(q.chart, table.columns, `report ${report.name}, table ${q.name}`);
    tables.push(table);
  }
  return {
    name: report.name,
    title: report.title,
    traffic: opts.traffic ?? 'people',
    flaggedUsers: new Set(opts.flaggedUsers ?? []).size,
    params,
    tables,
  };
}

export async function runReport(
  name: string,
  lakeDir: string,
  opts: RunReportOptions = {},
): Promise<ReportResult> {
  const report = findReport(name, opts.sqlDir ?? defaultSqlDir());
  checkParams([report], opts.params ?? {});
  return withLake(lakeDir, opts, (db) => run(db, report, opts));
}

export async function runAllReports(lakeDir: string, opts: RunReportOptions = {}): Promise<ReportResult[]> {
  const reports = loadReports(opts.sqlDir ?? defaultSqlDir());
  checkParams(reports, opts.params ?? {});
  return withLake(lakeDir, opts, async (db) => {
    const results: ReportResult[] = [];
    for (const r of reports) results.push(await run(db, r, opts));
    return results;
  });
}

/*
 * Chart-ready JSON (`storepulse report --format chart`, docs/reports.md): each table's rows turned
 * into an x axis and named series as its SQL file's `-- @chart` line says, so a chart library draws
 * them without knowing the report.
 */

export interface ChartSeries {
  name: string;
  /** One value per x value (null where that x has none); for `kpi`, the one row's value. */
  values: unknown[];
}

export interface ChartTable {
  report: string;
  table: string;
  title: string;
  /** `table` when the SQL file gives no chart: show the rows instead. */
  kind: ChartKind | 'table';
  /** The x axis: a column and its values in row order (distinct, with `by`); null for kpi and table. */
  x: { name: string; values: unknown[] } | null;
  series: ChartSeries[];
  /** The table had more rows than were drawn. */
  truncated: boolean;
}

/** The spec, once its columns are known to be in the table; INTERNAL error (a broken SQL file) if not. */
function checkChart(spec: ChartSpec, columns: readonly string[], where: string): ChartSpec {
  const missing = [spec.x, spec.by, ...spec.y].filter((c) => c !== undefined && !columns.includes(c));
  if (missing.length > 0) {
    throw new StorepulseError('INTERNAL', `${where}: its @chart names ${missing.join(', ')}, not a column`);
  }
  return spec;
}

export function chartTables(results: readonly ReportResult[]): ChartTable[] {
  return results.flatMap((r) =>
    r.tables.map((t) => {
      const base = { report: r.name, table: t.name, title: r.title, truncated: t.truncated };
      const spec = t.chart;
      if (!spec) return { ...base, kind: 'table' as const, x: null, series: [] };
      if (!spec.x) {
        const row = t.rows[0] ?? {};
        return {
          ...base,
          kind: spec.kind,
          x: null,
          series: spec.y.map((c) => ({ name: c, values: [row[c] ?? null] })),
        };
      }
      const xName = spec.x;
      if (!spec.by) {
        return {
          ...base,
          kind: spec.kind,
          x: { name: xName, values: t.rows.map((row) => row[xName] ?? null) },
          series: spec.y.map((c) => ({ name: c, values: t.rows.map((row) => row[c] ?? null) })),
        };
      }
      // One series per value of `by`, aligned on the distinct x values.
      const [y] = spec.y as [string];
      const by = spec.by;
      const xs = [...new Set(t.rows.map((row) => row[xName]))];
      const at = new Map(xs.map((v, i) => [v, i]));
      const series = new Map<unknown, unknown[]>();
      for (const row of t.rows) {
        let values = series.get(row[by]);
        if (!values) series.set(row[by], (values = new Array<unknown>(xs.length).fill(null)));
        values[at.get(row[xName])!] = row[y] ?? null;
      }
      return {
        ...base,
        kind: spec.kind,
        x: { name: xName, values: xs },
        series: [...series].map(([name, values]) => ({ name: String(name), values })),
      };
    }),
  );
}
