/** `storepulse report [NAME]`: the insight reports (sql/*.sql) on DuckDB over the data folder's lake. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { ReportResult, RunReportOptions } from '../batch/reports.js';
import { StorepulseError } from '../core/errors.js';
import { TRAFFIC, type Traffic } from '../core/journey/query.js';
import { parseEventTime } from '../core/time.js';
import { openAlertStore } from './actions.js';
import { type Context, contextOf, intOption } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatRows, outputFormatOption } from './output.js';
import { alertStorePath, lakeForRead } from './paths.js';

interface ReportOptions {
  format: string;
  json?: boolean;
  limit?: number;
  top?: number;
  from?: string;
  to?: string;
  traffic: string;
  list?: boolean;
}

const FORMATS = ['table', 'csv', 'json', 'markdown', 'chart'] as const;
type ReportFormat = (typeof FORMATS)[number];

/**
 * Tables as text. `table` and `markdown`: a heading per report (with the traffic counted) and per
 * table. `csv`: plain CSV when there is one table, else each table after a `# report.table` line,
 * separated by a blank line.
 */
export function renderReports(
  results: readonly ReportResult[],
  format: 'table' | 'csv' | 'markdown',
): string {
  const parts: string[] = [];
  const tableCount = results.reduce((n, r) => n + r.tables.length, 0);
  const md = format === 'markdown';
  for (const r of results) {
    if (format !== 'csv') {
      const heading = md ? `## ${r.title} (${r.name})` : `== ${r.title} (${r.name}) ==`;
      parts.push(`${heading}\n${md ? '\n' : ''}${trafficLine(r)}${md ? '\n' : ''}`);
    }
    for (const t of r.tables) {
      if (format === 'csv') {
        parts.push(
          `${tableCount > 1 ? `# ${r.name}.${t.name}\n` : ''}${formatRows(t.rows, 'csv', t.columns)}`,
        );
        continue;
      }
      const heading = r.tables.length > 1 ? (md ? `### ${t.name}\n\n` : `-- ${t.name}\n`) : '';
      const note = t.truncated ? `${md ? '\n' : ''}(first ${t.rows.length} rows; --limit N for more)\n` : '';
      parts.push(`${heading}${formatRows(t.rows, format, t.columns)}${note}`);
    }
  }
  return parts.join('\n');
}

function trafficLine(r: ReportResult): string {
  const users = `${r.flaggedUsers} flagged user${r.flaggedUsers === 1 ? '' : 's'}`;
  const what = {
    people: `people only: the events of ${users} left out`,
    all: 'all traffic, flagged bots included',
    flagged: `flagged traffic only: the events of ${users}`,
  }[r.traffic];
  const params = Object.entries(r.params).map(([k, v]) => `, ${k} = ${v}`);
  return `traffic: ${what}${params.join('')}\n`;
}

/** A date (its UTC midnight) or an ISO-8601 instant, as epoch ms. */
function timeOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = parseEventTime(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) {
    throw new StorepulseError(
      'USAGE',
      `${name} takes a date (YYYY-MM-DD) or an ISO-8601 time, got ${JSON.stringify(v)}`,
    );
  }
  return t;
}

function trafficOption(v: string): Traffic {
  if (!(TRAFFIC as readonly string[]).includes(v)) {
    throw new StorepulseError('USAGE', `--traffic takes ${TRAFFIC.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as Traffic;
}

/**
 * The users the alert store flagged. A folder without an alert store has flagged nobody; opening
 * the SQLite store would create one, which a report must not.
 */
async function flaggedUsers(ctx: Context): Promise<number[]> {
  if (ctx.config.actions.store.backend === 'sqlite' && !existsSync(alertStorePath(ctx))) {
    ctx.log(`report: no alert store at ${alertStorePath(ctx)}, so no traffic is flagged`);
    return [];
  }
  const store = await openAlertStore(ctx);
  try {
    return await store.alertedUsers();
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  program
    .command('report')
    .description('run the insight reports (sql/*.sql) on the lake: all of them, or the one named')
    .argument('[name]', 'report to run; see --list')
    .option('--format <format>', `${FORMATS.join(', ')} (chart: chart-ready JSON)`, 'table')
    .option('--json', 'same as --format json')
    .option('--from <time>', 'only events at or after this date (UTC) or ISO-8601 time')
    .option('--to <time>', 'only events before this date (UTC midnight, excluded) or ISO-8601 time')
    .option('--top <n>', 'rows of each ranked list (the top_n of the reports that rank)', intOption('--top'))
    .option(
      '--traffic <who>',
      'people (default: flagged bots left out), all, or flagged (only the users the alert store flagged)',
      'people',
    )
    .option(
      '--limit <n>',
      'at most n rows per result table (default: per table, from its SQL file)',
      intOption('--limit'),
    )
    .option('--list', 'list the reports and the question each answers')
    .action(async (name: string | undefined, opts: ReportOptions, cmd: Command) => {
      const format = outputFormatOption<ReportFormat>(FORMATS, opts);
      // DuckDB takes a second to load: only commands that use it pay for it.
      const { chartTables, listReports, runAllReports, runReport } = await import('../batch/reports.js');
      if (opts.list) {
        const rows = listReports().map((r) => ({
          name: r.name,
          title: r.title,
          question: r.description,
          tables: r.tables.join(', '),
          parameters: Object.entries(r.defaults)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        }));
        process.stdout.write(formatRows(rows, format === 'chart' ? 'json' : format));
        return;
      }
      const ctx = contextOf(cmd);
      requireRun(ctx);
      const traffic = trafficOption(opts.traffic);
      const runOpts: RunReportOptions = {
        limit: opts.limit,
        from: timeOption('--from', opts.from),
        to: timeOption('--to', opts.to),
        params: opts.top === undefined ? {} : { top_n: opts.top },
        traffic,
        flaggedUsers: traffic === 'all' ? [] : await flaggedUsers(ctx),
      };
      const lakeDir = await lakeForRead(ctx);
      const results = name
        ? [await runReport(name, lakeDir, runOpts)]
        : await runAllReports(lakeDir, runOpts);
      if (format === 'json') process.stdout.write(formatJson(name ? results[0] : results));
      else if (format === 'chart') process.stdout.write(formatJson(chartTables(results)));
      else process.stdout.write(renderReports(results, format));
    });
}
