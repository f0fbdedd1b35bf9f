import type { Command } from 'commander';
import type { Severity } from '../core/alert.js';
import { StorepulseError } from '../core/errors.js';
import { SqliteAlertStore } from '../stores/sqlite/alert-store.js';
import { contextOf, intOption } from './context.js';
import { formatJson, formatTable } from './output.js';
import { openAlertStore } from './actions.js';
import { requireFile, requireRun } from './data-folder.js';
import { alertStorePath } from './paths.js';

const TABLE_ROWS = 50;

interface AlertsOptions {
  json?: boolean;
  severity?: string;
  user?: number;
  limit?: number;
  reference?: boolean;
}

export function register(program: Command): void {
  program
    .command('alerts')
    .description('list stored alerts, newest window first')
    .option('--json', 'JSON output')
    .option('--severity <level>', 'only this severity: low, medium, high')
    .option('--user <id>', 'only this user_id', intOption('--user', 0))
    .option(
      '--limit <n>',
      `at most n alerts (default: all with --json, ${TABLE_ROWS} in the table)`,
      intOption('--limit'),
    )
    .option('--reference', 'show the items as the reference Lambda wrote them to DynamoDB')
    .action(async (opts: AlertsOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.severity && !['low', 'medium', 'high'].includes(opts.severity)) {
        throw new StorepulseError(
          'USAGE',
          `--severity takes low, medium or high, got ${JSON.stringify(opts.severity)}`,
        );
      }
      if (ctx.config.actions.store.backend === 'sqlite') {
        requireRun(ctx);
        requireFile(alertStorePath(ctx), 'alert store', 'storepulse process (or demo)');
      }
      // An export (--json) is complete unless asked otherwise; the table shows the newest.
      const limit = opts.limit ?? (opts.json ? undefined : TABLE_ROWS);
      const store = await openAlertStore(ctx);
      try {
        if (opts.reference) {
          if (!(store instanceof SqliteAlertStore))
            throw new StorepulseError(
              'USAGE',
              '--reference shows the SQLite store; DynamoDB holds those items itself',
            );
          const items = store.referenceItems(limit);
          process.stdout.write(opts.json ? formatJson(items) : formatTable(items));
          return;
        }
        const alerts = await store.list({
          limit,
          severity: opts.severity as Severity | undefined,
          userId: opts.user,
        });
        if (opts.json) {
          process.stdout.write(formatJson(alerts));
          return;
        }
        const counts = await store.counts();
        process.stdout.write(
          formatTable(
            alerts.map((a) => ({
              severity: a.severity,
              rule: a.rule,
              key_type: a.key_type,
              key: a.key,
              window_start: a.window_start,
              count: a.count,
              score: a.score,
              detected_event_time: a.detected_event_time,
            })),
          ),
        );
        const cut = alerts.length === limit ? ` (newest first; --limit N for more, --json for all)` : '';
        ctx.log(
          `${counts.total} alerts (${counts.bySeverity.high} high, ${counts.bySeverity.medium} medium) ` +
            `for ${counts.users} users; showing ${alerts.length}${cut}`,
        );
      } finally {
        await store.close();
      }
    });
}
