/** `storepulse inspect FILE`: reads a data set once and summarises it; rejects go to a dead-letter file. */
import path from 'node:path';
import type { Command } from 'commander';
import { EVENT_TYPES } from '../core/event.js';
import { REJECT_REASONS } from '../core/row.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { readEvents } from '../sources/reader.js';
import type { ReadStats } from '../sources/types.js';
import { type DatasetSummary, SummaryBuilder } from '../sources/summary.js';
import { DEFAULT_MAX_LINE_BYTES } from '../sources/options.js';
import { noValidRowError } from '../sources/probe.js';
import { contextOf, intOption } from './context.js';
import { formatJson } from './output.js';
import { type Progress, createProgress, formatCount } from './progress.js';

interface InspectOptions {
  json?: boolean;
  maxLineBytes?: number;
  deadLetter?: string;
}

export interface InspectReport extends DatasetSummary {
  source: string;
  format: string | null;
  bytes: number;
  lines: number;
  blankLines: number;
  rows: number;
  valid: number;
  rejected: number;
  rejectedByReason: ReadStats['rejectedByReason'];
  deadLetterPath: string | null;
  seconds: number;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description(
      'read a data set (.csv, .csv.gz, .zip, or - for stdin) and summarise it: rows, rejects, ' +
        'event mix, time range, distinct users/sessions/products/categories',
    )
    .argument('<file>', 'data set file, or - to read stdin')
    .option('--json', 'print the summary as JSON')
    .option(
      '--max-line-bytes <n>',
      `longest accepted row in bytes (default: config maxLineBytes, ${DEFAULT_MAX_LINE_BYTES})`,
      intOption('--max-line-bytes', 16),
    )
    .option(
      '--dead-letter <path>',
      'file for rejected rows (default <data-dir>/deadletter/<file>.<time>.ndjson)',
    )
    .action(async (file: string, opts: InspectOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const started = Date.now();
      const sink = createDeadLetterFile(
        opts.deadLetter ? path.resolve(opts.deadLetter) : defaultDeadLetterPath(ctx.dataDir, file),
      );
      const summary = new SummaryBuilder();
      let progress: Progress | undefined;
      let lastUpdate = 0;
      const note = (s: ReadStats) =>
        `${formatCount(s.valid)} rows` + (s.rejected > 0 ? `, ${formatCount(s.rejected)} rejected` : '');
      const reader = readEvents(file, {
        maxLineBytes: opts.maxLineBytes ?? ctx.config.maxLineBytes,
        deadLetter: sink,
        onProgress: (s) => {
          progress ??= createProgress({
            label: `inspect ${s.source}`,
            total: s.totalBytes,
            unit: 'bytes',
            quiet: ctx.quiet,
          });
          // The note costs a few number formats; the bar redraws at most every 100 ms anyway.
          const now = Date.now();
          if (now - lastUpdate < 100) return;
          lastUpdate = now;
          progress.update(s.bytesRead, note(s));
        },
      });
      try {
        for await (const batch of reader) summary.add(batch);
      } finally {
        await sink.close();
      }
      const s = reader.stats;
      progress?.finish(note(s));
      const report: InspectReport = {
        source: s.source,
        format: s.format ?? null,
        bytes: s.bytesRead,
        lines: s.lines,
        blankLines: s.blankLines,
        rows: s.rows,
        valid: s.valid,
        rejected: s.rejected,
        rejectedByReason: s.rejectedByReason,
        deadLetterPath: s.deadLetterPath ?? null,
        ...summary.result(),
        seconds: Math.round((Date.now() - started) / 100) / 10,
      };
      process.stdout.write(opts.json ? formatJson(report) : formatInspect(report));
      // The report shows why; the exit status says that this is not a dataset.
      if (s.valid === 0) throw noValidRowError(s);
    });
}

function pct(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** The human-readable report. */
function formatInspect(r: InspectReport): string {
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`${k.padEnd(14)}${v}`);
  kv('source', `${r.source}${r.format ? ` (${r.format}, ${formatCount(r.bytes, 'bytes')})` : ''}`);
  kv('rows', `${num(r.rows)}  (${num(r.lines)} lines, ${num(r.blankLines)} blank)`);
  kv('valid', num(r.valid));
  kv('rejected', `${num(r.rejected)}${r.rows > 0 ? `  (${pct(r.rejected / r.rows)})` : ''}`);
  const reasons = REJECT_REASONS.filter((k) => (r.rejectedByReason[k] ?? 0) > 0);
  const width = Math.max(0, ...reasons.map((k) => num(r.rejectedByReason[k]!).length));
  for (const k of reasons) out.push(`  ${k.padEnd(18)}${num(r.rejectedByReason[k]!).padStart(width)}`);
  if (r.deadLetterPath) kv('dead-letter', r.deadLetterPath);
  out.push('event mix');
  const mixWidth = Math.max(...EVENT_TYPES.map((t) => num(r.eventMix[t].count).length));
  for (const t of EVENT_TYPES) {
    const m = r.eventMix[t];
    out.push(`  ${t.padEnd(18)}${num(m.count).padStart(mixWidth)}  ${pct(m.share).padStart(7)}`);
  }
  kv('time range', r.timeRange ? `${r.timeRange.min} .. ${r.timeRange.max}` : '(no events)');
  if (r.price) kv('price', `${r.price.min} .. ${r.price.max}, mean ${r.price.mean}`);
  out.push('distinct');
  const d = r.distinct;
  const rows: [string, number][] = [
    ['users', d.users],
    ['sessions', d.sessions],
    ['products', d.products],
    ['category_id', d.categoryIds],
    ['category_code', d.categoryCodes],
    ['brand', d.brands],
  ];
  const dWidth = Math.max(...rows.map(([, v]) => num(v).length));
  for (const [k, v] of rows) out.push(`  ${k.padEnd(18)}${num(v).padStart(dWidth)}`);
  kv(
    'empty',
    `category_code ${pct(r.empty.categoryCode)}, brand ${pct(r.empty.brand)}, user_session ${pct(r.empty.userSession)}`,
  );
  kv('took', `${r.seconds}s`);
  return `${out.join('\n')}\n`;
}
