/** DuckDB plumbing shared by the lake writer, the catalog and the report runner. */
import {
  DuckDBArrayValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  type DuckDBResultReader,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { StorepulseError, errorMessage } from '../core/errors.js';

export interface DuckDB {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  close(): void;
}

/**
 * A fresh in-memory DuckDB. `TimeZone` is pinned to UTC so that nothing depends on the
 * machine's zone (the lake stores plain TIMESTAMPs that mean UTC).
 */
export async function openDuckDB(settings: Record<string, string> = {}): Promise<DuckDB> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(':memory:', settings);
  } catch (err) {
    throw new StorepulseError('INTERNAL', `cannot start DuckDB: ${errorMessage(err)}`, { cause: err });
  }
  const connection = await instance.connect();
  // Only possible once ICU (built in) is loaded, hence not in the instance options.
  await connection.run(`SET GLOBAL TimeZone = 'UTC'`).catch(() => undefined);
  let closed = false;
  return {
    instance,
    connection,
    close() {
      if (closed) return;
      closed = true;
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal: DuckDB (and Athena) strings escape a quote by doubling it. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function bigintToPlain(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

/** ISO-8601 UTC of epoch ms, or null when JS dates cannot hold the instant. */
function msToIso(ms: bigint): string | null {
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Floors to the millisecond (JS dates hold no more), also before 1970. */
function floorDiv(v: bigint, by: bigint): bigint {
  return v >= 0n ? v / by : -((-v + by - 1n) / by);
}

/**
 * A DuckDB value as a plain JSON-friendly value: BIGINT → number when safe, else a string of digits;
 * DECIMAL → number; TIMESTAMP (any precision, with or without zone) → ISO-8601 UTC string;
 * DATE → `YYYY-MM-DD`; lists, structs and maps → arrays and objects; anything else → its text form.
 */
function toPlain(v: DuckDBValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return bigintToPlain(v);
  if (v instanceof DuckDBDecimalValue) return v.toDouble();
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) {
    return msToIso(floorDiv(v.micros, 1000n)) ?? v.toString();
  }
  if (v instanceof DuckDBTimestampMillisecondsValue) return msToIso(v.millis) ?? v.toString();
  if (v instanceof DuckDBTimestampSecondsValue) return msToIso(v.seconds * 1000n) ?? v.toString();
  if (v instanceof DuckDBTimestampNanosecondsValue)
    return msToIso(floorDiv(v.nanos, 1_000_000n)) ?? v.toString();
  if (v instanceof DuckDBDateValue) return v.toString();
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(toPlain);
  if (v instanceof DuckDBStructValue) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v.entries)) out[k] = toPlain(x);
    return out;
  }
  if (v instanceof DuckDBMapValue)
    return v.entries.map((e) => ({ key: toPlain(e.key), value: toPlain(e.value) }));
  return v.toString();
}

export interface PlainRows {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** The rows a reader holds so far, as plain objects keyed by (de-duplicated) column name. */
export function plainRows(reader: DuckDBResultReader, maxRows = Infinity): PlainRows {
  const columns = reader.deduplicatedColumnNames();
  const raw = reader.getRows();
  const n = Math.min(raw.length, maxRows);
  const rows: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = raw[i]!;
    const o: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) o[columns[c]!] = toPlain(r[c]!);
    rows[i] = o;
  }
  return { columns, rows };
}

/** Runs a query and returns all rows as plain objects. */
export async function queryPlain(connection: DuckDBConnection, sql: string): Promise<PlainRows> {
  return plainRows(await connection.runAndReadAll(sql));
}
