/**
 * Read-only SQL over the lake, for the dashboard's SQL page and `storepulse query`: one statement a
 * user typed, run by DuckDB over the lake, read-only by the engine's own settings. See
 * docs/sql-sandbox.md.
 *
 * What holds it in, all decided by DuckDB rather than by reading the SQL text:
 * - the database is opened `READ_ONLY`: nothing in its catalog can be created or changed;
 * - `enable_external_access = false` with only the lake in `allowed_directories`: no other file is
 *   read or written, no database attached, no extension installed or loaded;
 * - `lock_configuration = true`: the statement cannot turn any of that back on;
 * - DuckDB's parser must find exactly one statement, a SELECT (prepareOneQuery), and its binder must
 *   agree. `allowed_directories` grants writing as well as reading, so without this rule `COPY ...
 *   TO` or `EXPORT DATABASE` into the lake would succeed (so would `EXPLAIN ANALYZE COPY`, which is
 *   why EXPLAIN is refused too).
 * - table functions in the parse tree must be on a list of readers (TABLE_FUNCTIONS): DuckDB 1.5's
 *   `enable_logging()` ignores `lock_configuration` and writes log files (into the lake, or aborts
 *   the process writing elsewhere), and `query()` runs SQL given as a string, out of reach of the
 *   checks above. The parse tree is DuckDB's own, not a reading of the text.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type DuckDBConnection,
  type DuckDBExtractedStatements,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  StatementType,
} from '@duckdb/node-api';
import { StorepulseError, errorMessage, ioError } from '../core/errors.js';
import { eventsSource } from '../lake/catalog.js';
import { plainRows, sqlString } from '../lake/duckdb.js';
import type { LakeFile } from '../lake/layout.js';
import { withEventFiles } from '../lake/snapshot.js';

export interface SqlLimits {
  /** Rows kept (default 1000); the rest is not read. */
  maxRows?: number;
  /** The statement is interrupted after this long (default 10 s). */
  timeoutMs?: number;
}

export interface SqlResult {
  columns: string[];
  /** Plain JSON-friendly values (plainRows): numbers, strings, ISO-8601 for instants, null. */
  rows: Record<string, unknown>[];
  /** More rows existed than maxRows. */
  truncated: boolean;
  /** The whole call: opening the sandbox (tens of ms) and running the statement. */
  elapsedMs: number;
}

export const SQL_DEFAULTS: Required<SqlLimits> = { maxRows: 1000, timeoutMs: 10_000 };

/** The longest delay setTimeout keeps; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** How often an interrupt is repeated after the deadline, until the statement has stopped. */
const REINTERRUPT_MS = 50;

/**
 * Set when the instance is created. `allowed_directories` cannot be: DuckDB 1.5 refuses a list
 * through the C API's config ("Failed to set config"), so it and the two settings that must follow
 * it are SET on the connection before any user SQL runs.
 */
const INSTANCE_SETTINGS: Record<string, string> = {
  access_mode: 'READ_ONLY',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  allow_community_extensions: 'false',
  // DuckDB's default is 80% of RAM: a query must not starve the pipeline beside it.
  memory_limit: '2GB',
};

export interface Sandbox {
  connection: DuckDBConnection;
  /** Closes the instance and removes its folder; safe to call twice. */
  close(): Promise<void>;
}

/**
 * A DuckDB instance locked down over this lake, with the view `events` over these files.
 *
 * DuckDB opens only a database file read-only (an in-memory one cannot be), so each sandbox gets an
 * empty database file in a folder of its own, removed on close. `events` is a TEMP view (the temp
 * catalog stays writable in a read-only database; statements other than queries are refused
 * before they reach it), made before the lock: DuckDB binds a view again at every query, so its
 * reads are checked against `allowed_directories` then, and the lake is inside them.
 *
 * Exported for the tests, which check the engine's settings without the one-query rule.
 */
export async function openSandbox(lakeDir: string, files: readonly LakeFile[]): Promise<Sandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'storepulse-sql-')).catch((err: unknown) => {
    throw ioError('cannot make a folder for the SQL sandbox', err);
  });
  const remove = () => rm(dir, { recursive: true, force: true });
  const catalog = path.join(dir, 'catalog.duckdb');
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  const closeDb = () => {
    connection?.closeSync();
    instance?.closeSync();
    connection = instance = undefined;
  };
  try {
    // An empty database file, to be opened read-only.
    (await DuckDBInstance.create(catalog)).closeSync();
    instance = await DuckDBInstance.create(catalog, INSTANCE_SETTINGS);
    const ready = await instance.connect();
    connection = ready;
    // As openDuckDB does: the lake's TIMESTAMPs mean UTC (ICU is built in, but be lenient).
    await ready.run(`SET GLOBAL TimeZone = 'UTC'`).catch(() => undefined);
    await ready.run(`CREATE TEMP VIEW events AS SELECT * FROM ${eventsSource(files)}`);
    // In this order: allowed_directories cannot change once external access is off.
    await ready.run(`SET allowed_directories = [${sqlString(lakeDir)}]`);
    await ready.run(`SET enable_external_access = false`);
    await ready.run(`SET lock_configuration = true`);
    return {
      connection: ready,
      async close() {
        closeDb();
        await remove();
      },
    };
  } catch (err) {
    closeDb();
    await remove();
    throw new StorepulseError('INTERNAL', `cannot start the SQL sandbox: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** Runs one user-supplied SQL statement over the lake, read-only by the engine's own settings. */
export async function runReadOnlySql(lakeDir: string, sql: string, limits?: SqlLimits): Promise<SqlResult> {
  const started = performance.now();
  const { maxRows, timeoutMs } = checkLimits(limits);
  const dir = path.resolve(lakeDir);
  // Listed now, not cached: the pipeline keeps adding files while the dashboard runs. A snapshot
  // (snapshot.ts): a compaction meanwhile is seen before or after, never halfway.
  return withEventFiles(dir, async (files) => {
    const sandbox = await openSandbox(dir, files);
    try {
      const result = await runWithin(sandbox.connection, sql, maxRows, timeoutMs);
      return { ...result, elapsedMs: Math.round(performance.now() - started) };
    } finally {
      await sandbox.close();
    }
  });
}

function checkLimits(limits: SqlLimits = {}): Required<SqlLimits> {
  const maxRows = limits.maxRows ?? SQL_DEFAULTS.maxRows;
  const timeoutMs = limits.timeoutMs ?? SQL_DEFAULTS.timeoutMs;
  if (!Number.isSafeInteger(maxRows) || maxRows < 0) {
    throw new StorepulseError('USAGE', `maxRows must be a whole number of 0 or more, got ${maxRows}`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new StorepulseError('USAGE', `timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  return { maxRows, timeoutMs };
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

async function runWithin(
  connection: DuckDBConnection,
  sql: string,
  maxRows: number,
  timeoutMs: number,
): Promise<Omit<SqlResult, 'elapsedMs'>> {
  let timedOut = false;
  let again: NodeJS.Timeout | undefined;
  const deadline = setTimeout(
    () => {
      timedOut = true;
      connection.interrupt();
      // An interrupt that lands between two steps (parsing, binding, running, fetching) may find
      // nothing to stop; repeat it until the statement has given up.
      again = setInterval(() => connection.interrupt(), REINTERRUPT_MS);
    },
    Math.min(timeoutMs, MAX_TIMER_MS),
  );
  try {
    const prepared = await prepareOneQuery(connection, sql);
    // Streamed, as the reports do: a long result is cut without being materialised.
    const reader = await prepared.streamAndReadUntil(maxRows + 1);
    return { ...plainRows(reader, maxRows), truncated: reader.currentRowCount > maxRows };
  } catch (err) {
    if (timedOut) {
      throw new StorepulseError('USAGE', `the query was stopped after ${seconds(timeoutMs)} (limit)`, {
        cause: err,
      });
    }
    if (err instanceof StorepulseError) throw err;
    throw new StorepulseError('USAGE', `the query failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    clearTimeout(deadline);
    clearInterval(again);
  }
}

/** Table functions a query may call: readers of the lake and generators; nothing that acts or runs SQL. */
const TABLE_FUNCTIONS = new Set([
  'read_parquet',
  'parquet_scan',
  'parquet_metadata',
  'parquet_file_metadata',
  'parquet_kv_metadata',
  'parquet_schema',
  'range',
  'generate_series',
  'unnest',
  'repeat',
  'glob',
  'summary',
  'duckdb_columns',
  'duckdb_functions',
  'duckdb_keywords',
  'duckdb_tables',
  'duckdb_types',
  'duckdb_views',
  'pragma_table_info',
]);

/** Every table function named in a parse tree (any depth: subqueries, joins, CTEs). */
function tableFunctions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) tableFunctions(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    const fn = o.function as { function_name?: unknown } | undefined;
    if (o.type === 'TABLE_FUNCTION' && typeof fn?.function_name === 'string') out.push(fn.function_name);
    for (const v of Object.values(o)) tableFunctions(v, out);
  }
  return out;
}

/** The node client's wrapping of a parser error; DuckDB's own message follows it. */
const EXTRACT_PREFIX = 'Failed to extract statements: ';

const ONLY_QUERIES = 'only queries can run here (SELECT, FROM, WITH, VALUES, DESCRIBE, SHOW, SUMMARIZE)';

/** What `json_serialize_sql` answers: DuckDB's parse tree, or why it has none. */
interface Serialized {
  error: boolean;
  error_type?: string;
  error_message?: string;
  statements?: unknown[];
}

/**
 * Exactly one statement, and one that DuckDB reads as a query. Every answer comes from the engine,
 * never from the text:
 * - `json_serialize_sql` is DuckDB's parser alone, and serializes SELECT statements only. It runs
 *   first because binding a statement can already act: preparing `EXPORT DATABASE 'dir'` creates
 *   `dir` (in the lake, where writing is allowed) before anything is executed.
 * - `extractStatements` splits the text with the same parser, to count the statements.
 * - the prepared statement's type is the binder's, checked again before it runs.
 */
async function prepareOneQuery(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const serialized = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const parsed = JSON.parse(String(serialized.getRows()[0]?.[0])) as Serialized;
  if (!parsed.error && parsed.statements?.length === 0) {
    // Before extractStatements, which fails with no message on text without a statement.
    throw new StorepulseError('USAGE', 'there is no SQL statement to run');
  }
  let statements: DuckDBExtractedStatements;
  try {
    statements = await connection.extractStatements(sql);
  } catch (err) {
    const message = errorMessage(err);
    const why = message.startsWith(EXTRACT_PREFIX) ? message.slice(EXTRACT_PREFIX.length) : message;
    throw new StorepulseError('USAGE', `the SQL is not valid: ${why}`, { cause: err });
  }
  if (statements.count > 1) {
    throw new StorepulseError(
      'USAGE',
      `only one statement can run at a time; DuckDB reads ${statements.count} in this SQL`,
    );
  }
  if (parsed.error) {
    const why =
      parsed.error_type === 'parser'
        ? `the SQL is not valid: ${parsed.error_message}`
        : `${ONLY_QUERIES}; DuckDB's parser reads this as another kind of statement`;
    throw new StorepulseError('USAGE', why);
  }
  const refused = tableFunctions(parsed.statements).filter((f) => !TABLE_FUNCTIONS.has(f.toLowerCase()));
  if (refused.length > 0) {
    throw new StorepulseError(
      'USAGE',
      `the table function ${refused[0]} cannot run here; readers that can: ${[...TABLE_FUNCTIONS].join(', ')}`,
    );
  }
  const prepared = await statements.prepare(0);
  if (prepared.statementType !== StatementType.SELECT) {
    const kind = StatementType[prepared.statementType] ?? String(prepared.statementType);
    throw new StorepulseError('USAGE', `${ONLY_QUERIES}; this is a ${kind} statement`);
  }
  return prepared;
}
