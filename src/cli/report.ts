/** `storepulse report [NAME]`: the insight reports (sql/*.sql) on DuckDB over the data folder's lake. */
import path from 'node:path';
import type { Command } from 'commander';
import type { ReportResult } from '../batch/reports.js';
import { StorepulseError } from '../core/errors.js';
import { contextOf, intOption } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatRows, type OutputFormat } from './output.js';

interface ReportOptions {
  format: string;
  json?: boolean;
  limit?: number;
  list?: boolean;
}

const FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json'];

function outputFormat(opts: ReportOptions): OutputFormat {
  if (opts.json) return 'json';
  if (!(FORMATS as readonly string[]).includes(opts.format)) {
    throw new StorepulseError(
      'USAGE',
      `--format takes table, csv or json, got ${JSON.stringify(opts.format)}`,
    );
  }
  return opts.format as OutputFormat;
}

/**
 * Tables as text. `table`: a heading per report and per table. `csv`: plain CSV when there is one
 * table, else each table after a `# report.table` line, separated by a blank line.
 */
export function renderReports(results: readonly ReportResult[], format: 'table' | 'csv'): string {
  const parts: string[] = [];
  const tableCount = results.reduce((n, r) => n + r.tables.length, 0);
  for (const r of results) {
    if (format === 'table') parts.push(`== ${r.title} (${r.name}) ==\n`);
    for (const t of r.tables) {
      if (format === 'csv') {
        parts.push(
          `${tableCount > 1 ? `# ${r.name}.${t.name}\n` : ''}${formatRows(t.rows, 'csv', t.columns)}`,
        );
        continue;
      }
      const heading = r.tables.length > 1 ? `-- ${t.name}\n` : '';
      const note = t.truncated ? `(first ${t.rows.length} rows; --limit N for more)\n` : '';
      parts.push(`${heading}${formatRows(t.rows, 'table', t.columns)}${note}`);
    }
  }
  return parts.join('\n');
}

export function register(program: Command): void {
  program
    .command('report')
    .description('run the insight reports (sql/*.sql) on the lake: all of them, or the one named')
    .argument('[name]', 'report to run; see --list')
    .option('--format <format>', 'table, csv or json', 'table')
    .option('--json', 'same as --format json')
    .option(
      '--limit <n>',
      'at most n rows per result table (default: per table, from its SQL file)',
      intOption('--limit'),
    )
    .option('--list', 'list the reports and the question each answers')
    .action(async (name: string | undefined, opts: ReportOptions, cmd: Command) => {
      const format = outputFormat(opts);
      // DuckDB takes a second to load: only commands that use it pay for it.
      const { listReports, runAllReports, runReport } = await import('../batch/reports.js');
      if (opts.list) {
        const rows = listReports().map((r) => ({
          name: r.name,
          title: r.title,
          question: r.description,
          tables: r.tables.join(', '),
        }));
        process.stdout.write(formatRows(rows, format));
        return;
      }
      const ctx = contextOf(cmd);
      requireRun(ctx);
      const lakeDir = path.join(ctx.dataDir, 'lake');
      const runOpts = opts.limit === undefined ? {} : { limit: opts.limit };
      const results = name
        ? [await runReport(name, lakeDir, runOpts)]
        : await runAllReports(lakeDir, runOpts);
      if (format === 'json') process.stdout.write(formatJson(name ? results[0] : results));
      else process.stdout.write(renderReports(results, format));
    });
}
