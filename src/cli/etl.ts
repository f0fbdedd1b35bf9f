/** `storepulse etl`: builds the lake's `clean` table from `events`, incrementally (docs/etl.md). */
import type { Command } from 'commander';
import { openAlertStore } from './actions.js';
import { contextOf, intOption } from './context.js';
import { bytesProgress, lakeOf, targetBytes } from './lake-maintain.js';
import { formatJson, formatRows } from './output.js';
import { formatCount } from './progress.js';

interface EtlFlags {
  full?: boolean;
  targetMb?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('etl')
    .description('build the clean table (<lake>/clean): duplicates removed, categories split, bots marked')
    .option('--full', 'rebuild every partition, not only those whose source or flagged users changed')
    .option('--target-mb <n>', 'target file size in MB (Athena: 64-256)', intOption('--target-mb'))
    .option('--json', 'the summary as JSON')
    .action(async (flags: EtlFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const lakeDir = lakeOf(ctx, 'etl');
      const target = targetBytes(flags.targetMb);
      const store = await openAlertStore(ctx);
      let flaggedUsers: number[];
      try {
        flaggedUsers = await store.alertedUsers();
      } finally {
        await store.close();
      }
      const { runEtl } = await import('../lake/etl.js');
      const progress = bytesProgress('etl', ctx.quiet);
      const s = await runEtl(lakeDir, {
        flaggedUsers,
        full: flags.full,
        targetBytes: target,
        onProgress: progress.onProgress,
      });
      progress.finish();
      if (flags.json) {
        process.stdout.write(formatJson({ flaggedUsers: flaggedUsers.length, ...s }));
        return;
      }
      const kept = s.orphans.length
        ? `; kept ${s.orphans.length} clean partitions whose source is gone (lake retention --table clean trims them)`
        : '';
      if (s.rebuilt.length === 0) {
        process.stdout.write(`clean: nothing to do, ${s.unchanged.length} partitions up to date${kept}\n`);
        return;
      }
      const rows = s.rebuilt.map((p) => ({
        partition: p.partition,
        source_rows: formatCount(p.sourceRows),
        rows: formatCount(p.rows),
        duplicates: formatCount(p.duplicates),
        bot_rows: formatCount(p.botRows),
        files: p.files,
        bytes: formatCount(p.bytes, 'bytes'),
      }));
      const sum = (f: (p: (typeof s.rebuilt)[number]) => number) => s.rebuilt.reduce((n, p) => n + f(p), 0);
      process.stdout.write(
        `${formatRows(rows, 'table')}clean: rebuilt ${s.rebuilt.length} partitions ` +
          `(${formatCount(sum((p) => p.rows))} rows, ${formatCount(sum((p) => p.duplicates))} duplicates removed, ` +
          `${formatCount(sum((p) => p.botRows))} rows of ${flaggedUsers.length} flagged users marked), ` +
          `${s.unchanged.length} up to date${kept}\n`,
      );
    });
}
