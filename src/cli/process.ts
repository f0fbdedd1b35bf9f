import type { Command } from 'commander';
import { TIME_FIELDS, type TimeField } from '../core/config.js';
import { StorepulseError } from '../core/errors.js';
import type { LakeSummary } from '../lake/writer.js';
import { type ProcessorOptions, type ProcessorStats, runProcessor } from '../pipeline/processor.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { StreamConsumer } from '../streams/consumer.js';
import type { DurableStream, StreamWriter } from '../streams/types.js';
import { openPipeReader, openStreamWriter, parseStreamUri, waitForStream } from '../streams/uri.js';
import { contextOf, intOption } from './context.js';
import { openAlertStore, openJourney, openMetrics, openOutbox } from './actions.js';
import { refuseDemoFolder } from './data-folder.js';
import { DEFAULT_STREAM_1, DEFAULT_STREAM_2, lakeDir, streamPlace } from './paths.js';
import { formatJson, formatTable } from './output.js';
import { createProgress } from './progress.js';
import { stopSignal } from './signals.js';

interface ProcessOptions {
  from: string;
  alertsTo: string;
  consumer: string;
  startAt: string;
  idleExit?: number;
  waitForStream: number;
  timeField?: string;
  lake: boolean;
  journey: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('process')
    .description('run the detection rules on stream 1, store and notify alerts, copy events to the lake')
    .option(
      '--from <uri>',
      'stream 1: embedded://NAME, kinesis://NAME?region=…&endpoint=…, or - (NDJSON on stdin)',
      DEFAULT_STREAM_1,
    )
    .option(
      '--alerts-to <uri>',
      'stream 2, every alert as a JSON record (none: no alert stream)',
      DEFAULT_STREAM_2,
    )
    .option('--consumer <name>', 'checkpoint name: a restart resumes from its checkpoint', 'process')
    .option('--start-at <where>', 'without a checkpoint, start at the oldest record or the latest', 'oldest')
    .option(
      '--idle-exit <seconds>',
      'stop after this long without a record (Kinesis streams never end)',
      intOption('--idle-exit'),
    )
    .option(
      '--wait-for-stream <seconds>',
      'how long to wait for a writer (storepulse simulate) to create stream 1',
      intOption('--wait-for-stream', 0),
      60,
    )
    .option('--time-field <field>', `window on ${TIME_FIELDS.join(' or ')} (default event_time)`)
    .option('--no-lake', 'do not copy events to the Parquet lake')
    .option('--no-journey', 'do not keep the live journey rollups (storepulse live)')
    .option('--json', "print the run's figures as JSON")
    .action(async (opts: ProcessOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const timeField = (opts.timeField ?? ctx.config.detect.timeField) as TimeField;
      if (!TIME_FIELDS.includes(timeField)) {
        throw new StorepulseError('USAGE', `--time-field takes ${TIME_FIELDS.join(' or ')}`);
      }
      if (opts.startAt !== 'oldest' && opts.startAt !== 'latest') {
        throw new StorepulseError('USAGE', '--start-at takes oldest or latest');
      }
      const from = parseStreamUri(opts.from, '--from');
      refuseDemoFolder(ctx, 'process');
      const place = streamPlace(ctx);
      const stop = stopSignal(ctx.log);
      const resources: { close(): Promise<void> }[] = [];
      try {
        let run: Pick<ProcessorOptions, 'reader' | 'checkpoint' | 'lakeHas'>;
        // The lake's progress is kept per stream, whatever the consumer, so each record lands once.
        const progressName = from.kind === 'pipe' ? undefined : `${from.kind}:${from.name}`;
        const { LakeWriter, readLakeProgress } = await import('../lake/writer.js');
        // Opened first: it finishes a flush a crash interrupted, and with it the lake's progress.
        const lake = opts.lake
          ? await LakeWriter.open({
              lakeDir: lakeDir(ctx),
              progress: progressName,
              lockedHint: 'or run this one with --no-lake',
            })
          : undefined;
        if (lake) resources.push({ close: async () => void (await lake.close().catch(() => undefined)) });
        if (from.kind === 'pipe') {
          run = { reader: openPipeReader() };
        } else {
          const durable = await waitForStream(from, place, {
            waitMs: opts.waitForStream * 1000,
            log: ctx.log,
            signal: stop.signal,
          });
          resources.push({ close: () => durable.close() });
          const consumer = await StreamConsumer.open({
            stream: durable,
            consumer: opts.consumer,
            startAt: opts.startAt,
            idleExitMs: opts.idleExit === undefined ? undefined : opts.idleExit * 1000,
          });
          if (consumer.startedFrom) ctx.log(`resuming ${opts.from} from checkpoint '${opts.consumer}'`);
          run = {
            reader: consumer,
            checkpoint: {
              to: consumer,
              everyRecords: ctx.config.streams.checkpointRecords,
              everyMs: ctx.config.streams.checkpointSeconds * 1000,
            },
            lakeHas: lake ? await readLakeProgress(lakeDir(ctx), progressName!) : undefined,
          };
        }
        let alertStream: StreamWriter | undefined;
        if (opts.alertsTo !== 'none') {
          const w = await openStreamWriter(opts.alertsTo, place);
          alertStream = w;
          // Stopped by a signal, this run is not the end of stream 2: release it without sealing.
          resources.push({
            close: () => (stop.signal.aborted && 'release' in w ? (w as DurableStream).release() : w.close()),
          });
        }
        const store = await openAlertStore(ctx);
        resources.push(store);
        const outbox = await openOutbox(ctx);
        // What is still pending at the end waits in the outbox for the next run.
        const drainMs = ctx.config.actions.notify.drainSeconds * 1000;
        resources.push({ close: () => outbox.close({ drainMs: stop.signal.aborted ? 0 : drainMs }) });
        const metrics = await openMetrics(ctx);
        resources.push(...metrics);
        const journey = openJourney(ctx, opts.journey);
        if (journey) resources.push(journey.store);
        const deadLetter = createDeadLetterFile(
          defaultDeadLetterPath(ctx.dataDir, `process-${run.reader.name}`),
        );
        resources.push(deadLetter);
        const progress = createProgress({ label: 'process', unit: 'events', quiet: ctx.quiet });
        const stats = await runProcessor({
          ...run,
          detect: { ...ctx.config.detect, timeField },
          store,
          outbox,
          metrics,
          lake,
          journey,
          alertStream,
          signal: stop.signal,
          deadLetter,
          onProgress: (s) => progress.update(s.records, `${s.newAlerts} alerts`),
        });
        const lakeSummary = await lake?.close();
        progress.finish(`${stats.newAlerts} new alerts`);
        const figures = {
          ...stats,
          lake: lakeSummary ?? null,
          deadLetter: deadLetter.count > 0 ? deadLetter.path! : null,
        };
        // With alerts on stdout (`--alerts-to -`), the run's figures go to stderr.
        (opts.alertsTo === '-' ? process.stderr : process.stdout).write(
          opts.json ? formatJson(figures) : summaryTable(figures),
        );
      } finally {
        for (const r of resources.reverse()) await r.close();
        stop.dispose();
      }
    });
}

function summaryTable(f: ProcessorStats & { lake: LakeSummary | null; deadLetter: string | null }): string {
  return formatTable([
    { what: 'records read', value: f.records },
    { what: 'valid events', value: f.events },
    { what: 'rejected records', value: f.rejected },
    { what: 'late events (counted, not applied)', value: f.detector.late },
    { what: 'alerts fired', value: f.alerts },
    { what: '  new to the store', value: f.newAlerts },
    { what: 'notifications queued', value: f.notified },
    { what: 'events to the lake', value: f.lake ? f.lakeRows : '(--no-lake)' },
    { what: '  held by the lake already', value: f.lakeSkipped },
    { what: 'events in the journey rollups', value: f.journey ? f.journey.events : '(--no-journey)' },
    { what: '  of flagged users and sessions', value: f.journey?.flaggedEvents ?? 0 },
    { what: '  too late (their minute was final)', value: f.journey?.tooLate ?? 0 },
    { what: 'checkpoints', value: f.checkpoints },
    { what: 'dead letters', value: f.deadLetter ?? '(none)' },
  ]);
}
