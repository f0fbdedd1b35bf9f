import type { Command } from 'commander';
import { TIME_FIELDS, type TimeField } from '../core/config.js';
import { StorepulseError } from '../core/errors.js';
import { ConsoleNotifier } from '../notify/console/notifier.js';
import { runProcessor } from '../pipeline/processor.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { SqliteAlertStore } from '../stores/sqlite/alert-store.js';
import { openStreamReader } from '../streams/uri.js';
import { contextOf } from './context.js';
import { alertStorePath, lakeDir } from './paths.js';
import { createProgress } from './progress.js';
import { stopSignal } from './signals.js';

interface ProcessOptions {
  from: string;
  timeField?: string;
  lake: boolean;
}

export function register(program: Command): void {
  program
    .command('process')
    .description('detect high-rate users on stream 1, store and notify alerts, copy events to the lake')
    .option('--from <uri>', 'stream to read: - (NDJSON records on stdin)', '-')
    .option('--time-field <field>', `window on ${TIME_FIELDS.join(' or ')} (default event_time)`)
    .option('--no-lake', 'do not copy events to the Parquet lake')
    .action(async (opts: ProcessOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const timeField = (opts.timeField ?? ctx.config.detect.timeField) as TimeField;
      if (!TIME_FIELDS.includes(timeField)) {
        throw new StorepulseError('USAGE', `--time-field takes ${TIME_FIELDS.join(' or ')}`);
      }
      const stop = stopSignal(ctx.log);
      const reader = openStreamReader(opts.from);
      const store = new SqliteAlertStore(alertStorePath(ctx), ctx.config.detect.appServer);
      const notifier = new ConsoleNotifier(process.stderr, 50);
      const deadLetter = createDeadLetterFile(defaultDeadLetterPath(ctx.dataDir, `process-${reader.name}`));
      try {
        // DuckDB takes a second to load: only commands that use it pay for it.
        const { LakeWriter } = await import('../lake/writer.js');
        const lake = opts.lake ? await LakeWriter.open({ lakeDir: lakeDir(ctx) }) : undefined;
        const progress = createProgress({ label: 'process', unit: 'events', quiet: ctx.quiet });
        const stats = await runProcessor({
          reader,
          detect: { ...ctx.config.detect, timeField },
          store,
          notifier,
          lake,
          signal: stop.signal,
          deadLetter,
          onProgress: (s) => progress.update(s.records, `${s.newAlerts} alerts`),
        });
        const lakeSummary = await lake?.close();
        progress.finish(`${stats.newAlerts} new alerts`);
        process.stdout.write(
          `${JSON.stringify({ ...stats, lake: lakeSummary ?? null, deadLetter: deadLetter.count > 0 ? deadLetter.path : null }, null, 2)}\n`,
        );
      } finally {
        await deadLetter.close();
        await notifier.close();
        await store.close();
        stop.dispose();
      }
    });
}
