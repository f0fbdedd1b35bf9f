import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { TIME_FIELDS, type TimeField } from '../core/config.js';
import { StorepulseError } from '../core/errors.js';
import { defaultLakeDir } from '../lake/storage/location.js';
import type { LakeSummary } from '../lake/writer.js';
import { type ProcessorOptions, type ProcessorStats, runProcessor } from '../pipeline/processor.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { StreamConsumer } from '../streams/consumer.js';
import type { LakeReader } from '../streams/lake/stream.js';
import type { DurableStream, StreamWriter } from '../streams/types.js';
import {
  type LakeUri,
  openPipeReader,
  openStreamWriter,
  parseSourceUri,
  waitForStream,
} from '../streams/uri.js';
import { type Context, contextOf, intOption } from './context.js';
import { openAlertStore, openJourney, openMetrics, openOutbox } from './actions.js';
import { refuseDemoFolder } from './data-folder.js';
import { DEFAULT_STREAM_1, DEFAULT_STREAM_2, lakeForRead, lakeTarget, streamPlace } from './paths.js';
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
      'stream 1: embedded://NAME, kinesis://NAME?region=…&endpoint=…, - (NDJSON on stdin), or ' +
        'lake://[FROM..TO][?data-dir=PATH] to replay the lake (docs/replay.md)',
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
      const from = parseSourceUri(opts.from, '--from');
      if (from.kind === 'lake') refuseStreamFlags(cmd);
      refuseDemoFolder(ctx, 'process');
      const place = streamPlace(ctx);
      const stop = stopSignal(ctx.log);
      const resources: { close(): Promise<void> }[] = [];
      try {
        let replay: LakeReader | undefined;
        let run: Pick<ProcessorOptions, 'reader' | 'checkpoint' | 'lakeHas'>;
        // The lake's progress is kept per stream, whatever the consumer, so each record lands once.
        const progressName = 'name' in from ? `${from.kind}:${from.name}` : undefined;
        const { LakeWriter, readLakeProgress } = await import('../lake/writer.js');
        // Opened first: it finishes a flush a crash interrupted, and with it the lake's progress.
        // A replay's events are in the lake already; a lake is finite, so it needs no checkpoints.
        const target = opts.lake && from.kind !== 'lake' ? await lakeTarget(ctx) : undefined;
        // Pushed before the writer: closed after it.
        if (target) resources.push({ close: async () => target.close() });
        const lake = target
          ? await LakeWriter.open({
              lakeDir: target.dir,
              storage: target.storage,
              progress: progressName,
              lockedHint: 'or run this one with --no-lake',
            })
          : undefined;
        if (lake) resources.push({ close: async () => void (await lake.close().catch(() => undefined)) });
        if (from.kind === 'lake') {
          replay = await openReplay(ctx, from, timeField);
          run = { reader: replay };
        } else if (from.kind === 'pipe') {
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
            lakeHas: target ? await readLakeProgress(target.dir, progressName!, target.storage) : undefined,
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
        const progress = createProgress({
          label: replay ? 'replay' : 'process',
          total: replay?.total,
          unit: 'events',
          quiet: ctx.quiet,
        });
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
          replay: replay
            ? {
                lake: replay.lakeDir,
                from: replay.days[0]!,
                to: replay.days.at(-1)!,
                days: replay.days.length,
              }
            : null,
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

/** Flags that only mean something on a stream: given with a lake replay, they are a mistake. */
const STREAM_FLAGS = {
  consumer: '--consumer',
  startAt: '--start-at',
  idleExit: '--idle-exit',
  waitForStream: '--wait-for-stream',
} as const;

function refuseStreamFlags(cmd: Command): void {
  for (const [key, flag] of Object.entries(STREAM_FLAGS)) {
    if (cmd.getOptionValueSource(key) === 'cli') {
      throw new StorepulseError(
        'USAGE',
        `${flag} is for streams: a replay of the lake has no checkpoints and ends once read`,
      );
    }
  }
}

/**
 * The lake replay `uri` names: this data folder's lake, or another's (`?data-dir=`), which is only
 * read. Its events are not copied to the lake again (the lake holds them: --no-lake is implied).
 */
async function openReplay(ctx: Context, uri: LakeUri, timeField: TimeField): Promise<LakeReader> {
  let dir: string;
  if (uri.dataDir === undefined) dir = await lakeForRead(ctx);
  else {
    const other = path.resolve(uri.dataDir);
    if (!(await isDirectory(other))) {
      throw new StorepulseError(
        'NOT_FOUND',
        `--from lake://…?data-dir=${uri.dataDir}: no data folder at ${other}`,
      );
    }
    // That folder's default lake (its own config is not this run's), creating nothing there.
    dir = defaultLakeDir(other);
  }
  const { LakeReader } = await import('../streams/lake/stream.js');
  const reader = await LakeReader.open({
    lakeDir: dir,
    from: uri.from,
    to: uri.to,
    timeField,
    tmpDir: ctx.dataDir,
  });
  const { days } = reader;
  ctx.log(
    `replaying ${reader.total.toLocaleString('en-US')} events of ${days.length} day(s), ` +
      `${days[0]}..${days.at(-1)}, from the lake at ${reader.lakeDir}; not copied to the lake again (--no-lake)`,
  );
  return reader;
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

type Figures = ProcessorStats & {
  replay: { lake: string; from: string; to: string; days: number } | null;
  lake: LakeSummary | null;
  deadLetter: string | null;
};

function summaryTable(f: Figures): string {
  return formatTable([
    ...(f.replay
      ? [{ what: 'replayed from the lake', value: `${f.replay.lake} ${f.replay.from}..${f.replay.to}` }]
      : []),
    { what: 'records read', value: f.records },
    { what: 'valid events', value: f.events },
    { what: 'rejected records', value: f.rejected },
    { what: 'late events (counted, not applied)', value: f.detector.late },
    { what: 'alerts fired', value: f.alerts },
    { what: '  new to the store', value: f.newAlerts },
    { what: 'notifications queued', value: f.notified },
    {
      what: 'events to the lake',
      value: f.lake ? f.lakeRows : f.replay ? '(replay: held already)' : '(--no-lake)',
    },
    { what: '  held by the lake already', value: f.lakeSkipped },
    { what: 'events in the journey rollups', value: f.journey ? f.journey.events : '(--no-journey)' },
    { what: '  of flagged users and sessions', value: f.journey?.flaggedEvents ?? 0 },
    { what: '  too late (their minute was final)', value: f.journey?.tooLate ?? 0 },
    { what: 'checkpoints', value: f.checkpoints },
    { what: 'dead letters', value: f.deadLetter ?? '(none)' },
  ]);
}
