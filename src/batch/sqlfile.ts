/**
 * The format of a report file in `sql/`. Pure: text in, structure out.
 *
 *   -- Title: Top and bottom sellers
 *   -- Question: Which products sell best, ...
 *   --   (an indented comment line continues the field above)
 *   -- Parameters: $top_n = 10, the products listed at each end.
 *   -- Rule: ...
 *   -- Athena: what differs on Athena (Trino), or that nothing does.
 *
 *   -- @table top (limit 20)
 *   -- @chart bar x=product_id y=revenue
 *   SELECT ... FROM events ... WHERE rank <= $top_n;
 *
 * The header is the file's first block of comment lines (up to a blank line, a `-- @table` line or
 * SQL). Each `-- @table NAME` starts one named query, running to the next marker; `(limit N)` is the
 * rows shown by default. A file without markers is one query named after the report.
 *
 * Parameters: every `$name = <whole number>` in the Parameters field declares a named parameter and
 * its default; the queries use it as `$name` (DuckDB binds it; on Athena it is an execution
 * parameter `?`).
 *
 * `-- @chart KIND x=COLUMN y=COLUMN[,COLUMN…] [by=COLUMN]` in a query says how to draw its table
 * (chart.ts): KIND is `line` (x in order, e.g. days), `bar` (x a label) or `kpi` (one row, no x);
 * `by` makes one series per value of that column.
 */
import { StorepulseError } from '../core/errors.js';

export type ChartKind = 'line' | 'bar' | 'kpi';

export interface ChartSpec {
  kind: ChartKind;
  /** The column along the x axis; none for `kpi`. */
  x?: string;
  /** The measures drawn. */
  y: string[];
  /** One series per value of this column (then `y` is one measure). */
  by?: string;
}

export interface ReportQuery {
  name: string;
  sql: string;
  /** Rows shown by default; undefined shows them all. */
  limit?: number;
  chart?: ChartSpec;
}

export interface ReportFile {
  name: string;
  title: string;
  /** The question the report answers. */
  description: string;
  parameters: string;
  rule: string;
  /** What differs when the file runs on Athena (Trino). */
  athena: string;
  /** Named parameters (`$name` in the SQL) and their defaults, from the Parameters field. */
  defaults: Record<string, number>;
  queries: ReportQuery[];
}

const FIELD_RE = /^--\s*([A-Za-z]+):\s*(.*)$/;
const CONTINUATION_RE = /^--\s{2,}(\S.*)$/;
const TABLE_RE = /^--\s*@table\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*limit\s+(\d+)\s*\))?\s*$/;
const CHART_RE = /^--\s*@chart\s+(\S+)((?:\s+[a-z]+=\S+)*)\s*$/;
const PARAM_RE = /\$([a-z_][a-z0-9_]*)\s*=\s*(\d+)/g;
const CHART_KINDS: readonly string[] = ['line', 'bar', 'kpi'];

export function parseReportFile(name: string, text: string): ReportFile {
  const lines = text.split(/\r?\n/);
  const fields: Record<string, string> = {};
  let current: string | undefined;
  let inHeader = false;
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') {
      if (inHeader) break; // the header is the first block of comment lines
      continue;
    }
    if (!line.startsWith('--') || TABLE_RE.test(line)) break;
    inHeader = true;
    const cont = CONTINUATION_RE.exec(line);
    const field = FIELD_RE.exec(line);
    if (cont && current) fields[current] = `${fields[current]} ${cont[1]!.trim()}`;
    else if (field) {
      current = field[1]!.toLowerCase();
      fields[current] = field[2]!.trim();
    } else current = undefined;
  }

  const queries: ReportQuery[] = [];
  let open: Omit<ReportQuery, 'sql'> | undefined;
  let chart: ChartSpec | undefined;
  let body: string[] = [];
  const close = () => {
    const sql = body.join('\n').trim();
    const q = open ? { ...open, sql } : { name, sql };
    if (open ? sql : hasSql(sql)) queries.push(chart ? { ...q, chart } : q);
    body = [];
    chart = undefined;
  };
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const marker = TABLE_RE.exec(line);
    if (marker) {
      close();
      open = { name: marker[1]!, ...(marker[2] ? { limit: Number(marker[2]) } : {}) };
    } else if (/^--\s*@chart\b/.test(line)) chart = parseChart(line, `${name}.sql line ${i + 1}`);
    else body.push(lines[i]!);
  }
  close();

  const parameters = fields.parameters ?? '';
  return {
    name,
    title: fields.title ?? name,
    description: fields.question ?? '',
    parameters,
    rule: fields.rule ?? '',
    athena: fields.athena ?? '',
    defaults: Object.fromEntries([...parameters.matchAll(PARAM_RE)].map((m) => [m[1]!, Number(m[2])])),
    queries,
  };
}

/** A `-- @chart` line; an error (naming the file and line) when it breaks the format. */
function parseChart(line: string, where: string): ChartSpec {
  const m = CHART_RE.exec(line);
  const kind = m?.[1] ?? '';
  const opts: Record<string, string> = Object.fromEntries(
    (m?.[2] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  );
  const y = opts.y?.split(',').filter(Boolean) ?? [];
  const problem = (): string | undefined => {
    if (!m) return 'write -- @chart KIND x=COLUMN y=COLUMN[,COLUMN] [by=COLUMN]';
    if (!CHART_KINDS.includes(kind))
      return `the kind ${JSON.stringify(kind)} is not one of ${CHART_KINDS.join(', ')}`;
    const unknown = Object.keys(opts).find((k) => !['x', 'y', 'by'].includes(k));
    if (unknown) return `unknown option ${unknown}`;
    if (y.length === 0) return 'y= names no column';
    if ((kind === 'kpi') !== (opts.x === undefined)) return 'line and bar charts need x=, kpi takes none';
    if (opts.by !== undefined && y.length > 1) return 'by= takes one y column';
    return undefined;
  };
  const why = problem();
  if (why) throw new StorepulseError('INTERNAL', `${where}: ${why}`);
  return {
    kind: kind as ChartKind,
    ...(opts.x ? { x: opts.x } : {}),
    y,
    ...(opts.by ? { by: opts.by } : {}),
  };
}

/** True when the text has something besides comments and blank lines. */
function hasSql(text: string): boolean {
  return text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('--'));
}
