/**
 * The report files of `sql/` as Athena named queries, read at synth time with the report runner's own
 * parser (src/batch/sqlfile.ts): one named query per `-- @table` query, named `<file>.<table>`.
 * The files are written for DuckDB; the few functions that differ on Athena (Trino) are rewritten
 * here as docs/reports.md's "On Athena" table says, and each `$param` becomes its default, so a
 * saved query runs as it is from the Athena console.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseReportFile } from '../../src/batch/sqlfile.js';

export interface NamedQuerySpec {
  /** `<file>.<table>`, at most 128 characters (Athena's limit). */
  name: string;
  /** The report's question, at most 1024 characters. */
  description: string;
  sql: string;
}

/** The argument list of a call whose `(` is at `open`, and the index after its `)`. */
function callArgs(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = open + 1;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'") quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) {
      args.push(sql.slice(start, i).trim());
      return { args, end: i + 1 };
    } else if (ch === ',' && depth === 1) {
      args.push(sql.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`unbalanced brackets after ${sql.slice(Math.max(0, open - 20), open + 1)}`);
}

/** DuckDB-only functions and their Athena forms (docs/reports.md, "On Athena"). */
const REWRITES: Record<string, (args: string[]) => string> = {
  quantile_cont: ([x, p]) => `approx_percentile(${x}, ${p})`,
  median: ([x]) => `approx_percentile(${x}, 0.5)`,
  isodow: ([t]) => `day_of_week(${t})`,
  dayname: ([t]) => `date_format(${t}, '%W')`,
  strftime: ([t, f]) => `date_format(${t}, ${f})`,
};
const CALL_SOURCE = `\\b(${Object.keys(REWRITES).join('|')})\\s*\\(`;

/** A DuckDB report query in Athena's dialect, parameters replaced by their values. */
export function toAthena(sql: string, params: Readonly<Record<string, number>>): string {
  const call = new RegExp(CALL_SOURCE, 'gi');
  let out = sql;
  for (let m = call.exec(out); m !== null; m = call.exec(out)) {
    const open = m.index + m[0].length - 1;
    const { args, end } = callArgs(out, open);
    const rewritten = REWRITES[m[1]!.toLowerCase()]!(args.map((a) => toAthena(a, params)));
    out = out.slice(0, m.index) + rewritten + out.slice(end);
    call.lastIndex = m.index + rewritten.length;
  }
  return out.replace(/\$([a-z_][a-z0-9_]*)/g, (whole, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`parameter $${name} has no default`);
    return String(v);
  });
}

/** Every query of every `.sql` file in `sqlDir`, in file then query order. */
export function namedQueries(sqlDir: string): NamedQuerySpec[] {
  const out: NamedQuerySpec[] = [];
  for (const file of readdirSync(sqlDir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const name = path.basename(file, '.sql');
    const report = parseReportFile(name, readFileSync(path.join(sqlDir, file), 'utf8'));
    for (const q of report.queries) {
      const params = Object.entries(report.defaults)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ');
      const description = `${report.title}: ${report.description}${params ? ` (${params})` : ''}`;
      out.push({
        name: q.name === name ? name : `${name}.${q.name}`,
        description: description.slice(0, 1024),
        sql: `-- ${report.title} (sql/${file}, query ${q.name})\n${toAthena(q.sql, report.defaults)}\n`,
      });
    }
  }
  return out;
}
