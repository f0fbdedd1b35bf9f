/**
 * `storepulse query "SQL"`: one read-only statement over the data folder's lake, in the same sandbox
 * as the dashboard's SQL page (src/batch/sql.ts, docs/sql-sandbox.md): DuckDB itself refuses
 * anything but reading the lake.
 */
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import { contextOf, intOption } from './context.js';
import { requireRun } from './data-folder.js';
import { formatRows, type OutputFormat, outputFormatOption } from './output.js';
import { lakeForRead } from './paths.js';

interface QueryOptions {
  format: string;
  json?: boolean;
  maxRows: number;
  timeout: number;
}

const FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json', 'markdown'];

export function register(program: Command): void {
  program
    .command('query')
    .description('run one read-only SQL statement over the lake (the view `events`; docs/sql-sandbox.md)')
    .argument('<sql>', 'the statement, quoted; - reads it from stdin')
    .option('--format <format>', FORMATS.join(', '), 'table')
    .option('--json', 'same as --format json')
    .option('--max-rows <n>', 'at most n rows are read and printed', intOption('--max-rows'), 1000)
    .option('--timeout <seconds>', 'stop the statement after this long', intOption('--timeout'), 300)
    .action(async (sql: string, opts: QueryOptions, cmd: Command) => {
      const format = outputFormatOption(FORMATS, opts);
      const ctx = contextOf(cmd);
      requireRun(ctx);
      const statement = sql === '-' ? await text(process.stdin) : sql;
      // DuckDB takes a second to load: only commands that use it pay for it.
      const { runReadOnlySql } = await import('../batch/sql.js');
      const r = await runReadOnlySql(await lakeForRead(ctx), statement, {
        maxRows: opts.maxRows,
        timeoutMs: opts.timeout * 1000,
      });
      process.stdout.write(formatRows(r.rows, format, r.columns));
      // On stderr, so that CSV and JSON stay clean for the next program.
      if (r.truncated) ctx.log(`query: first ${r.rows.length} rows shown; --max-rows N for more`);
      ctx.log(`query: ${r.rows.length} row${r.rows.length === 1 ? '' : 's'} in ${r.elapsedMs} ms`);
    });
}
