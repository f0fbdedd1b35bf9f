/**
 * The dataset reader's row rules (core/row.ts `rowToEvent`, core/time.ts `parseEventTime`, the CSV
 * rules of sources/csv.ts) as DuckDB SQL, for `storepulse lake load`. The reader stays the reference:
 * test/lake/load.test.ts runs one corpus through both and compares every accepted value and reject.
 * Constants come from the core (EVENT_TYPES, CSV_COLUMNS, the row limits, the lake's columns), so a
 * change there reaches both paths.
 */
import { CSV_COLUMNS, EVENT_TYPES } from '../core/event.js';
import { CATEGORY_ID_MAX_DIGITS, ID_MAX_DIGITS, PRICE_MAX_CHARS, type RejectReason } from '../core/row.js';
import { sqlString } from './duckdb.js';
import { EVENT_COLUMNS } from './schema.js';

const reason = (r: RejectReason) => sqlString(r);

/** Every whitespace character JS's `\s` matches (parseEventTime allows one before the zone). */
const JS_SPACE =
  '[\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]';

/** parseEventTime's forms: `YYYY-MM-DD HH:MM:SS UTC`, and ISO-8601 with a zone and up to 9 decimals. */
const TIME_RE = `^(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?${JS_SPACE}?(Z|UTC|[+-]\\d{2}:?\\d{2})$`;

/** A column of the CSV as text: DuckDB reads an empty field as NULL, the reader as ''. */
const f = (i: number) => `coalesce("${CSV_COLUMNS[i]}", '')`;

/**
 * The event time (epoch ms semantics of JS `Date.UTC`: years 0–99 mean 1900–1999, a day past the
 * month's end rolls over) as a TIMESTAMP, or NULL when parseEventTime gives NaN.
 */
const EVENT_TIME = `CASE WHEN t.y <> ''
      AND t.mo::INT BETWEEN 1 AND 12 AND t.d::INT >= 1 AND t.h::INT <= 23 AND t.mi::INT <= 59
      AND t.s::INT <= 59
      AND t.d::INT <= CASE WHEN t.mo::INT = 2 THEN
            CASE WHEN (t.y::INT % 4 = 0 AND t.y::INT % 100 <> 0) OR t.y::INT % 400 = 0 THEN 29 ELSE 28 END
          WHEN t.mo::INT IN (4, 6, 9, 11) THEN 30 ELSE 31 END
      AND (t.z IN ('Z', 'UTC') OR (t.z[2:3]::INT <= 23 AND t.z[-2:]::INT <= 59))
    THEN make_timestamp(CASE WHEN t.y::INT < 100 THEN t.y::INT + 1900 ELSE t.y::INT END, t.mo::INT, 1,
           t.h::INT, t.mi::INT, t.s::INT)
      + to_days(t.d::INT - 1)
      + to_milliseconds(CASE WHEN t.f = '' THEN 0 ELSE floor(('0.' || t.f)::DOUBLE * 1000)::BIGINT END)
      - to_minutes(CASE WHEN t.z IN ('Z', 'UTC') THEN 0
          ELSE (CASE WHEN t.z[1] = '-' THEN -1 ELSE 1 END) * (t.z[2:3]::INT * 60 + t.z[-2:]::INT) END)
    END`;

/**
 * True only for 1 to `max` ASCII digits. `IS NOT TRUE` below counts a NULL field (DuckDB's empty
 * field) as a failed check without a coalesce over every row.
 */
const digits = (col: string, max: number) => `regexp_full_match("${col}", '[0-9]{1,${max}}')`;

/**
 * rowToEvent's checks, in its order; NULL for a valid row. `ts` is EVENT_TIME; `pid` and `uid` are
 * the ids as BIGINT (at most 16 digits, so the cast never overflows).
 */
const REASON = `CASE
    WHEN ts IS NULL THEN CASE
      WHEN (${f(0)} = ${sqlString(CSV_COLUMNS[0])} AND ${f(1)} = ${sqlString(CSV_COLUMNS[1])})
        OR ${f(0)} = ${sqlString(`\uFEFF${CSV_COLUMNS[0]}`)} THEN ${reason('repeated_header')}
      ELSE ${reason('bad_event_time')} END
    WHEN ("event_type" IN (${EVENT_TYPES.map(sqlString).join(', ')})) IS NOT TRUE THEN ${reason('bad_event_type')}
    WHEN ${digits('product_id', ID_MAX_DIGITS)} IS NOT TRUE OR pid > ${Number.MAX_SAFE_INTEGER}
      THEN ${reason('bad_product_id')}
    WHEN ${digits('category_id', CATEGORY_ID_MAX_DIGITS)} IS NOT TRUE THEN ${reason('bad_category_id')}
    WHEN length("price") > ${PRICE_MAX_CHARS} OR regexp_full_match("price", '[0-9]+(\\.[0-9]+)?') IS NOT TRUE
      THEN ${reason('bad_price')}
    WHEN ${digits('user_id', ID_MAX_DIGITS)} IS NOT TRUE OR uid > ${Number.MAX_SAFE_INTEGER}
      THEN ${reason('bad_user_id')}
  END`;

/**
 * The lake's columns (schema.ts, in its order) from a validated row. The price goes through DOUBLE
 * first, as the reader's number does on its way through the lake writer (buffer.ts), so both paths
 * store the same cents.
 */
const LAKE_VALUES: Record<string, string> = {
  event_time: 'ts',
  event_type: `coalesce(reason, "event_type")`,
  product_id: 'pid',
  category_id: '"category_id"',
  category_code: '"category_code"',
  brand: '"brand"',
  price: 'TRY_CAST(TRY_CAST("price" AS DOUBLE) AS DECIMAL(12,2))',
  user_id: 'uid',
  user_session: '"user_session"',
  txn_timestamp: 'NULL::TIMESTAMP',
  stream_shard: 'NULL::VARCHAR',
  stream_seq: 'NULL::VARCHAR',
};

export interface CsvScan {
  /** The file DuckDB reads (a plain or gzip file, or a FIFO fed with a zip entry). */
  path: string;
  /** Physical lines before the first data row: the header (and blank lines before it), else 0. */
  skipLines: number;
  /** The reader's line limit (maxLineBytes). */
  maxLineBytes: number;
  compression: 'none' | 'gzip';
  /**
   * The first line's end. In strict mode DuckDB takes one kind of line end per file (a file that
   * mixes them fails, and the load with it); the reader takes both.
   */
  crlf: boolean;
}

/** read_csv of the dataset's nine columns as text, RFC 4180 quoting, bad records set aside (reject_errors). */
function readCsvSql(scan: CsvScan): string {
  const columns = CSV_COLUMNS.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
  return `read_csv(${sqlString(scan.path)}, columns = {${columns}}, header = false, skip = ${scan.skipLines},
    auto_detect = false, delim = ',', quote = '"', escape = '"', new_line = '${scan.crlf ? '\\r\\n' : '\\n'}', strict_mode = true,
    null_padding = false, compression = '${scan.compression}', max_line_size = ${scan.maxLineBytes},
    store_rejects = true, ignore_errors = true)`;
}

/**
 * Every row of the scan with the lake's columns plus `event_date`: valid rows with their UTC day,
 * rejected rows with `event_date` NULL and their reason in `event_type` (so one COPY ... PARTITION_BY
 * writes both; the NULL partition is counted, never published).
 */
export function loadSelectSql(scan: CsvScan): string {
  const x = '"event_time"';
  // The dataset's own form by DuckDB's strptime (a match without capture groups runs on RE2's fast
  // DFA, and strptime rejects what parseEventTime rejects there: a day past the month's end, hour 24,
  // second 60), except years 0–99, which parseEventTime reads as 1900–1999. Every other row, and a
  // row of that form strptime refuses, goes through the general parse (EVENT_TIME over TIME_RE).
  const fast = `CASE WHEN regexp_full_match(${x}, '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC')
      AND ${x}[1:2] <> '00' THEN try_strptime(${x}, '%Y-%m-%d %H:%M:%S UTC') END`;
  const t = `CASE WHEN ts_fast IS NULL
      THEN regexp_extract(${f(0)}, ${sqlString(TIME_RE)}, ['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'z']) END`;
  const columns = EVENT_COLUMNS.map((c) => `${LAKE_VALUES[c.name]} AS "${c.name}"`).join(',\n    ');
  return `SELECT ${columns},
    CASE WHEN reason IS NULL THEN CAST(ts AS DATE) END AS event_date
  FROM (SELECT *, ${REASON} AS reason
    FROM (SELECT *, coalesce(ts_fast, ${EVENT_TIME}) AS ts,
        TRY_CAST("product_id" AS BIGINT) AS pid, TRY_CAST("user_id" AS BIGINT) AS uid
      FROM (SELECT *, ${t} AS t FROM (SELECT *, ${fast} AS ts_fast FROM ${readCsvSql(scan)}))))`;
}

/**
 * The reader's reason for a record DuckDB's CSV scan set aside (a row of `reject_errors`), or null
 * where the reader would keep the row (invalid UTF-8, which it decodes as U+FFFD).
 */
export const CSV_REJECT_REASON_SQL = `CASE
    WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN
      CASE WHEN regexp_matches(csv_line, ${sqlString(`^${CSV_COLUMNS[0]},${CSV_COLUMNS[1]}(,|$)`)})
        THEN ${reason('repeated_header')} ELSE ${reason('field_count')} END
    WHEN error_type = 'LINE SIZE OVER MAXIMUM' THEN ${reason('line_too_long')}
    WHEN error_type = 'UNQUOTED VALUE' THEN ${reason('bad_quoting')}
  END`;
