import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import { ConsoleNotifier } from '../notify/console/notifier.js';
import type { DemoSummary } from '../pipeline/demo.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import {
  ATTACK_PROFILES,
  type AttackLabel,
  generateToFile,
  type LabelsFile,
} from '../sources/synthetic/generator.js';
import { type Context, contextOf, intOption } from './context.js';
import { formatTable } from './output.js';
import { alertStorePath, lakeDir } from './paths.js';
import { createProgress } from './progress.js';
import { stopSignal } from './signals.js';

interface DemoOptions {
  dataset?: string;
  events: number;
  seed: number;
}

export const DEMO_EVENTS = 2_000_000;
const MARKER = '.storepulse-demo';

/** The demo starts from a clean lake and alert store, but never wipes state another command made. */
function prepareDataDir(ctx: Context): void {
  const marker = path.join(ctx.dataDir, MARKER);
  const lake = path.join(ctx.dataDir, 'lake');
  const alerts = path.join(ctx.dataDir, 'alerts.sqlite');
  const hasState = existsSync(lake) || existsSync(alerts);
  if (hasState && !existsSync(marker)) {
    throw new StorepulseError(
      'STATE',
      `${ctx.dataDir} already holds a lake or alerts from other runs; the demo starts fresh, so give it ` +
        'another folder with --data-dir (or remove that one)',
    );
  }
  for (const p of [lake, alerts, `${alerts}-wal`, `${alerts}-shm`])
    rmSync(p, { recursive: true, force: true });
  writeFileSync(
    ctx.dataPath(MARKER),
    'state in this folder was made by `storepulse demo` and is replaced by the next run\n',
  );
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

function detectionTable(summary: DemoSummary, labels: AttackLabel[]) {
  const alerted = new Set(summary.alerts.alertedUsers);
  const attackers = new Set<number>();
  const rows: { profile: string; attacker_users: number; flagged_by_reference_rule: number }[] = labels.map(
    (l) => {
      l.user_ids.forEach((u) => attackers.add(u));
      const caught = l.user_ids.filter((u) => alerted.has(u)).length;
      return { profile: l.profile, attacker_users: l.user_ids.length, flagged_by_reference_rule: caught };
    },
  );
  const humans = summary.alerts.alertedUsers.filter((u) => !attackers.has(u)).length;
  rows.push({ profile: 'humans', attacker_users: 0, flagged_by_reference_rule: humans });
  return rows;
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
    .action(async (opts: DemoOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      prepareDataDir(ctx);
      let dataset = opts.dataset;
      let labels: AttackLabel[] = [];
      if (!dataset) {
        const generated = await syntheticDataset(ctx, opts.events, opts.seed);
        dataset = generated.out;
        labels = generated.labels.attacks;
      } else if (!existsSync(dataset) && dataset !== '-') {
        throw new StorepulseError('INPUT', `dataset ${dataset} not found`);
      }
      const deadLetter = createDeadLetterFile(defaultDeadLetterPath(ctx.dataDir, dataset));
      const notifier = new ConsoleNotifier(process.stderr, 10);
      const stop = stopSignal(ctx.log);
      const progress = createProgress({
        label: 'pipeline',
        unit: 'events',
        total: opts.dataset ? undefined : opts.events,
        quiet: ctx.quiet,
      });
      let summary: DemoSummary;
      try {
        // DuckDB takes a second to load: only commands that use it pay for it.
        const { runDemo } = await import('../pipeline/demo.js');
        summary = await runDemo({
          dataset,
          lakeDir: lakeDir(ctx),
          alertStorePath: alertStorePath(ctx),
          detect: ctx.config.detect,
          shards: ctx.config.simulate.shards,
          partitionKey: ctx.config.simulate.partitionKey,
          maxLineBytes: ctx.config.maxLineBytes,
          deadLetter,
          notifier,
          signal: stop.signal,
          onProgress: (sent, processed) =>
            progress.update(sent, `processed ${processed.toLocaleString('en-US')}`),
        });
        progress.finish();
      } finally {
        await notifier.close();
        await deadLetter.close();
        stop.dispose();
      }
      process.stdout.write(
        renderSummary(summary, labels, deadLetter.count > 0 ? deadLetter.path : undefined, ctx),
      );
    });
}

function renderSummary(
  s: DemoSummary,
  labels: AttackLabel[],
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
      { what: 'late events (dropped by the window)', value: s.processed.detector.late },
      { what: 'alerts', value: s.alerts.total },
      { what: '  high (notified)', value: s.alerts.bySeverity.high },
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
  if (labels.length > 0) {
    out.push('attack profiles against the reference rule (count > 5 per user per 10 s)');
    out.push(formatTable(detectionTable(s, labels)));
  }
  const order = ['unique_visitors', 'cart_abandonment', 'top_categories', 'brands_needing_marketing'];
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
      { what: 'dead letters', path: deadLetterPath ?? '(none: no row was rejected)' },
    ]),
  );
  out.push('next: storepulse alerts | storepulse report NAME | storepulse inspect FILE');
  return `${out.join('\n')}\n`;
}
