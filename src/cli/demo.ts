import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import type { DemoSummary } from '../pipeline/demo.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { probeDataset } from '../sources/probe.js';
import { ATTACK_PROFILES, generateToFile, type LabelsFile } from '../sources/synthetic/generator.js';
import { type EvaluationReport, evaluate, splitSystems } from '../core/evaluate.js';
import type { AlertStore } from '../stores/types.js';
import { formatComparison, scanDataFile } from './evaluate.js';
import { type Context, contextOf, intOption } from './context.js';
import { formatTable } from './output.js';
import { openJourney, openMetrics, openOutbox, openSqliteAlertStore } from './actions.js';
import { alertStorePath, journeyStorePath, localLake } from './paths.js';
import { checkDemoFolder, resetDemoFolder } from './data-folder.js';
import { createProgress } from './progress.js';
import { type ServeFlags, startDashboardFor } from './serve.js';
import { stopSignal, untilStopped } from './signals.js';

interface DemoOptions extends ServeFlags {
  dataset?: string;
  events: number;
  seed: number;
  /** False with --no-serve. */
  serve: boolean;
  rate?: number;
}

/** The lake publishes what it holds this often while the dashboard shows the replay. */
const LAKE_SEAL_MS = 5000;

const DEMO_EVENTS = 2_000_000;

/** The dataset the demo replays, checked before the previous demo's results are deleted. */
async function givenDataset(ctx: Context, file: string): Promise<string> {
  if (file === '-') {
    throw new StorepulseError(
      'USAGE',
      'the demo reads a file, which it checks before it replaces its previous results; ' +
        'for stdin use storepulse simulate - --to - | storepulse process --from -',
    );
  }
  if (!existsSync(file)) throw new StorepulseError('INPUT', `dataset ${file} not found`);
  await probeDataset(file, ctx.config.maxLineBytes);
  return file;
}

async function syntheticDataset(ctx: Context, events: number, seed: number) {
  const out = ctx.dataPath('demo', `synthetic-${events}-seed${seed}.csv`);
  const labelsPath = `${out}.labels.json`;
  if (existsSync(out) && existsSync(labelsPath)) {
    ctx.log(`reusing ${out}`);
  } else {
    const progress = createProgress({ label: 'generate', unit: 'rows', total: events, quiet: ctx.quiet });
    await generateToFile({
      events,
      seed,
      attacks: [...ATTACK_PROFILES],
      out,
      labelsPath,
      onProgress: (n) => progress.update(n),
    });
    progress.finish();
  }
  return { out, labels: JSON.parse(readFileSync(labelsPath, 'utf8')) as LabelsFile };
}

/** The demo's alerts scored against the generator's labels, with the reference rule run over the same data. */
async function compare(
  ctx: Context,
  store: AlertStore,
  dataset: string,
  labels: LabelsFile,
): Promise<EvaluationReport> {
  const split = splitSystems(await store.list({}));
  const scan = await scanDataFile(dataset, ctx, {
    reference: split.reference.length === 0,
    figures: ctx.config.detect,
  });
  return evaluate(labels, split.storepulse, scan.reference ?? split.reference, {
    population: scan.population,
    figures: scan.figures ?? undefined,
  });
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on generated data (or a real REES46 file): simulate → process → lake → reports',
    )
    .option('--dataset <file>', 'a REES46 file (.csv, .csv.gz, .zip) instead of generated data')
    .option('--events <n>', 'generated events', intOption('--events'), DEMO_EVENTS)
    .option('--seed <s>', 'generator seed', intOption('--seed', 0), 1)
    .option('--no-serve', 'no dashboard: replay as fast as possible and print the summary')
    .option(
      '--rate <events/s>',
      'replay pace (default: what a person can watch while the dashboard serves, else as fast as possible)',
      intOption('--rate'),
    )
    .option('--host <address>', 'dashboard address (default 127.0.0.1; any other needs a token)')
    .option('--port <n>', 'dashboard port (default 8640; 0 picks a free one)', intOption('--port', 0))
    .option('--token <token>', 'dashboard token (or $STOREPULSE_DASHBOARD_TOKEN)')
    .action(async (opts: DemoOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      // Refusals and a bad dataset come before anything is deleted (or generated).
      checkDemoFolder(ctx);
      let dataset: string;
      let labels: LabelsFile | undefined;
      if (opts.dataset) dataset = await givenDataset(ctx, opts.dataset);
      else ({ out: dataset, labels } = await syntheticDataset(ctx, opts.events, opts.seed));
      resetDemoFolder(ctx);
      const deadLetter = createDeadLetterFile(defaultDeadLetterPath(ctx.dataDir, dataset));
      // The demo keeps to the embedded defaults: alerts in SQLite; the configured notifiers.
      const store = openSqliteAlertStore(alertStorePath(ctx), ctx.config.detect.appServer);
      const outbox = await openOutbox(ctx);
      const metrics = await openMetrics(ctx);
      const journey = openJourney(ctx);
      // With the dashboard, the demo runs until Ctrl-C, which is then its normal end.
      const stop = stopSignal(ctx.log, { until: opts.serve ? 'stopped' : 'done' });
      const { demoStream } = await import('../pipeline/demo.js');
      const stream = demoStream(ctx.config.simulate.shards);
      let late = 0;
      let dashboard: Awaited<ReturnType<typeof startDashboardFor>> | undefined;
      const rate = opts.rate ?? (opts.serve ? ctx.config.dashboard.demoRate : undefined);
      const progress = createProgress({
        label: 'pipeline',
        unit: 'events',
        total: opts.dataset ? undefined : opts.events,
        quiet: ctx.quiet,
      });
      let comparison: EvaluationReport | undefined;
      try {
        if (opts.serve) {
          dashboard = await startDashboardFor(ctx, opts, {
            alerts: store,
            journey: journey?.store,
            inProcess: {
              lag: () => ({ source: stream.name, shards: stream.backlog(), checkpointAt: null }),
              lateEvents: () => late,
            },
          });
          process.stdout.write(`dashboard: ${dashboard.url} (Ctrl-C to stop)\n`);
        }
        // DuckDB takes a second to load: only commands that use it pay for it.
        const { runDemo } = await import('../pipeline/demo.js');
        const summary = await runDemo({
          dataset,
          lakeDir: localLake(ctx, 'demo'),
          store,
          detect: ctx.config.detect,
          shards: ctx.config.simulate.shards,
          partitionKey: ctx.config.simulate.partitionKey,
          maxLineBytes: ctx.config.maxLineBytes,
          deadLetter,
          outbox,
          metrics,
          journey,
          signal: stop.signal,
          stream,
          pace: rate ? { mode: 'rate', eventsPerSecond: rate } : undefined,
          lakeSealMs: dashboard ? LAKE_SEAL_MS : undefined,
          onProgress: (sent, processed) => {
            late = processed.detector.late;
            progress.update(sent, `processed ${processed.records.toLocaleString('en-US')}`);
          },
        });
        progress.finish();
        // Stopped early, most labelled attacks were never replayed: scoring them would mislead.
        if (labels && labels.attacks.length > 0 && !stop.signal.aborted)
          comparison = await compare(ctx, store, dataset, labels);
        else if (labels && stop.signal.aborted)
          ctx.log('stopped before the end of the replay: detection is not scored against the labels');
        process.stdout.write(
          renderSummary(summary, comparison, deadLetter.count > 0 ? deadLetter.path : undefined, ctx),
        );
        if (dashboard && !stop.signal.aborted) {
          process.stdout.write(`replay done; the dashboard stays at ${dashboard.url} until Ctrl-C\n`);
          await untilStopped(stop.signal);
        }
      } finally {
        await dashboard?.close();
        await outbox.close({
          drainMs: stop.signal.aborted ? 0 : ctx.config.actions.notify.drainSeconds * 1000,
        });
        for (const m of metrics) await m.close();
        await journey?.store.close();
        await store.close();
        await deadLetter.close();
        stop.dispose();
      }
    });
}

function renderSummary(
  s: DemoSummary,
  comparison: EvaluationReport | undefined,
  deadLetterPath: string | undefined,
  ctx: Context,
): string {
  const out: string[] = [];
  const rate = Math.round(s.processed.records / Math.max(s.seconds, 0.001));
  out.push(`storepulse demo: ${s.dataset}`);
  out.push('');
  out.push(
    formatTable([
      { what: 'rows read', value: s.read.rows },
      { what: 'valid events', value: s.read.valid },
      { what: 'rejected rows', value: s.read.rejected },
      { what: 'events through stream 1', value: s.simulated.sent },
      { what: 'events in the lake', value: s.lake.rows },
      { what: 'late events (counted, not applied)', value: s.processed.detector.late },
      { what: 'alerts', value: s.alerts.total },
      { what: '  high (notified)', value: s.alerts.bySeverity.high },
      { what: 'notifications queued', value: s.processed.notified },
      { what: '  medium', value: s.alerts.bySeverity.medium },
      { what: 'alerted users', value: s.alerts.users },
      { what: 'seconds', value: Number(s.seconds.toFixed(1)) },
      { what: 'events/s end to end', value: rate },
    ]),
  );
  const reasons = Object.entries(s.read.rejectedByReason);
  if (reasons.length > 0) {
    out.push('rejected rows by reason');
    out.push(formatTable(reasons.map(([reason, rows]) => ({ reason, rows }))));
  }
  if (comparison) {
    out.push('detection against the labelled attacks: storepulse rules beside the reference rule');
    out.push(formatComparison(comparison));
  }
  const order = [
    'unique_visitors',
    'session_funnel',
    'cart_abandonment',
    'top_categories',
    'brands_needing_marketing',
  ];
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  for (const r of [...s.reports].sort((a, b) => rank(a.name) - rank(b.name))) {
    for (const t of r.tables) {
      out.push(`${r.title}${r.tables.length > 1 ? ` — ${t.name}` : ''}`);
      out.push(formatTable(t.rows, t.columns));
    }
  }
  out.push('where things are');
  out.push(
    formatTable([
      { what: 'data folder', path: ctx.dataDir },
      { what: 'dataset', path: s.dataset },
      { what: 'lake (Parquet, Hive partitions)', path: s.lake.dir },
      { what: 'alerts (SQLite)', path: alertStorePath(ctx) },
      { what: 'live journey rollups (SQLite)', path: journeyStorePath(ctx) },
      { what: 'dead letters', path: deadLetterPath ?? '(none: no row was rejected)' },
    ]),
  );
  out.push(
    'next: storepulse live --once | storepulse alerts | storepulse report NAME | storepulse inspect FILE',
  );
  return `${out.join('\n')}\n`;
}
