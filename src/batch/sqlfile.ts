/**
 * The format of a report file in `sql/`. Pure: text in, structure out.
 *
 *   -- Title: Unique visitors per day
 *   -- Question: How many different users visit the store each day, ...
 *   --   (an indented comment line continues the field above)
 *   -- Parameters: ...
 *   -- Rule: ...
 *
 *   -- @table daily
 *   SELECT ... FROM events ...;
 *
 *   -- @table top_products (limit 20)
 *   SELECT ... FROM events ...;
 *
 * The header is the file's first block of comment lines (up to a blank line, a `-- @table` line or
 * SQL). Each
 * `-- @table NAME` starts one named query, running to the next marker; `(limit N)` is the rows
 * shown by default. A file without markers is one query named after the report.
 */

export interface ReportQuery {
  name: string;
  sql: string;
  /** Rows shown by default; undefined shows them all. */
  limit?: number;
}

export interface ReportFile {
  name: string;
  title: string;
  /** The question the report answers. */
  description: string;
  parameters: string;
  rule: string;
  queries: ReportQuery[];
}

const FIELD_RE = /^--\s*([A-Za-z]+):\s*(.*)$/;
const CONTINUATION_RE = /^--\s{2,}(\S.*)$/;
const TABLE_RE = /^--\s*@table\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*limit\s+(\d+)\s*\))?\s*$/;

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
  let body: string[] = [];
  const close = () => {
    const sql = body.join('\n').trim();
    if (open && sql) queries.push({ ...open, sql });
    else if (!open && hasSql(sql)) queries.push({ name, sql });
    body = [];
  };
  for (; i < lines.length; i++) {
    const marker = TABLE_RE.exec(lines[i]!.trim());
    if (marker) {
      close();
      open = { name: marker[1]!, ...(marker[2] ? { limit: Number(marker[2]) } : {}) };
    } else body.push(lines[i]!);
  }
  close();

  return {
    name,
    title: fields.title ?? name,
    description: fields.question ?? '',
    parameters: fields.parameters ?? '',
    rule: fields.rule ?? '',
    queries,
  };
}

/** True when the text has something besides comments and blank lines. */
function hasSql(text: string): boolean {
  return text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('--'));
}
