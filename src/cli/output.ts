/** Result printing for listing commands: aligned tables, CSV, JSON or Markdown, always on stdout. */
import { csvField } from '../core/event.js';
import { StorepulseError } from '../core/errors.js';

export type OutputFormat = 'table' | 'csv' | 'json' | 'markdown';

/** `--format` of a command that offers these formats, `--json` being short for `--format json`. */
export function outputFormatOption<F extends string>(
  formats: readonly F[],
  opts: { format: string; json?: boolean },
): F {
  if (opts.json) return 'json' as F;
  if (!(formats as readonly string[]).includes(opts.format)) {
    throw new StorepulseError(
      'USAGE',
      `--format takes ${formats.join(', ')}, got ${JSON.stringify(opts.format)}`,
    );
  }
  return opts.format as F;
}

export type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function formatTable(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no rows)\n';
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i]!.length)));
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  if (rows.length === 0) out.push('(no rows)');
  return `${out.join('\n')}\n`;
}

function formatCsv(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const lines = [cols.map(csvField).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvField(cell(r[c]))).join(','));
  return `${lines.join('\n')}\n`;
}

/** A GitHub-flavoured Markdown table; numeric columns right-aligned, `|` and line breaks escaped. */
function formatMarkdown(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '_(no rows)_\n';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
  const body = rows.map((r) => cols.map((c) => esc(cell(r[c]))));
  const widths = cols.map((c, i) => Math.max(3, esc(c).length, ...body.map((b) => b[i]!.length)));
  const numeric = cols.map(
    (c) =>
      rows.length > 0 && rows.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number'),
  );
  const line = (vals: readonly string[]) =>
    `| ${vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  const out = [line(cols.map(esc)), rule, ...body.map(line)];
  if (rows.length === 0) out.push('', '_(no rows)_');
  return `${out.join('\n')}\n`;
}

function jsonSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, jsonSafe, 2)}\n`;
}

export function formatRows(rows: readonly Row[], format: OutputFormat, columns?: readonly string[]): string {
  if (format === 'json') return formatJson(rows);
  if (format === 'csv') return formatCsv(rows, columns);
  if (format === 'markdown') return formatMarkdown(rows, columns);
  return formatTable(rows, columns);
}
