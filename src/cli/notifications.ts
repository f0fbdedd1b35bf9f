/** `storepulse notifications`: what the outbox holds — per notifier counts, and what waits or gave up. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SqliteOutboxStore } from '../stores/sqlite/outbox-store.js';
import { contextOf, intOption } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatTable } from './output.js';

export function register(program: Command): void {
  program
    .command('notifications')
    .description('the notification outbox: delivered, pending and dead deliveries per notifier')
    .option('--pending', 'list the deliveries still waiting, with their last error')
    .option('--dead', 'list the deliveries given up, with their last error')
    .option('--limit <n>', 'entries to list', intOption('--limit'), 50)
    .option('--json', 'print as JSON')
    .action(
      async (opts: { pending?: boolean; dead?: boolean; limit: number; json?: boolean }, cmd: Command) => {
        const ctx = contextOf(cmd);
        requireRun(ctx);
        const file = path.join(ctx.dataDir, 'outbox.sqlite');
        if (!existsSync(file)) {
          ctx.log(`no outbox at ${file}: nothing was notified from this data folder yet`);
          process.stdout.write(opts.json ? formatJson({ byNotifier: {} }) : formatTable([]));
          return;
        }
        const store = new SqliteOutboxStore(file);
        try {
          const status = opts.dead ? 'dead' : opts.pending ? 'pending' : undefined;
          if (status) {
            const entries = await store.list({ status, limit: opts.limit });
            const rows = entries.map((e) => ({
              notifier: e.notifier,
              delivery: e.deliveryId,
              severity: e.alert.severity,
              rule: e.alert.rule,
              key: e.alert.key,
              attempts: e.attempts,
              enqueued: new Date(e.enqueuedAt).toISOString(),
              last_error: e.lastError,
            }));
            process.stdout.write(opts.json ? formatJson(entries) : formatTable(rows));
            return;
          }
          const stats = await store.stats(Date.now());
          if (opts.json) {
            process.stdout.write(formatJson(stats));
            return;
          }
          const rows = Object.entries(stats.byNotifier).map(([notifier, c]) => ({
            notifier,
            delivered: c.delivered,
            pending: c.pending,
            dead: c.dead,
            retries: c.retries,
            oldest_pending_s: c.oldestPendingAgeMs === null ? '' : Math.round(c.oldestPendingAgeMs / 1000),
          }));
          process.stdout.write(formatTable(rows));
        } finally {
          await store.close();
        }
      },
    );
}
