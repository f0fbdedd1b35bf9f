/**
 * `storepulse lake compact` and `storepulse lake retention`: lake maintenance (docs/lake-maintenance.md).
 * Both run under the lake's maintenance lock, beside a live writer, and finish a run a crash cut short.
 */
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import { contextOf, intOption, type Context } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatRows } from './output.js';
import { localLake } from './paths.js';
import { createProgress, formatCount, type Progress } from './progress.js';

const MB = 1024 * 1024;
const MAX_TARGET_MB = 1024;

/** The local lake of a data folder that holds a run (maintenance rewrites files in place). */
export function lakeOf(ctx: Context, command: string): string {
  requireRun(ctx);
  return localLake(ctx, command);
}

/** `--target-mb`: Athena reads best from 64–256 MB files; smaller is allowed (small lakes, tests). */
export function targetBytes(mb: number | undefined): number | undefined {
  if (mb !== undefined && mb > MAX_TARGET_MB) {
    throw new StorepulseError('USAGE', `--target-mb takes 1 to ${MAX_TARGET_MB}, got ${mb}`);
  }
  return mb === undefined ? undefined : mb * MB;
}

/** A bytes progress bar, made at the first report (when the total is known); `finish` only if it was. */
export function bytesProgress(label: string, quiet: boolean) {
  let bar: Progress | undefined;
  return {
    onProgress(done: number, total: number) {
      bar ??= createProgress({ label, total, unit: 'bytes', quiet });
      bar.update(done);
    },
    finish: () => bar?.finish(),
  };
}

const bytes = (n: number) => formatCount(n, 'bytes');

interface CompactFlags {
  table: string;
  partition?: string[];
  targetMb?: number;
  json?: boolean;
}

async function compact(flags: CompactFlags, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const target = targetBytes(flags.targetMb);
  const { compactLake } = await import('../lake/compact.js');
  const progress = bytesProgress('compact', ctx.quiet);
  const s = await compactLake(lakeOf(ctx, 'lake compact'), {
    table: flags.table,
    partitions: flags.partition,
    targetBytes: target,
    onProgress: progress.onProgress,
  });
  progress.finish();
  if (flags.json) {
    process.stdout.write(formatJson(s));
    return;
  }
  const skipped = `${s.alreadyCompact.length} partition${s.alreadyCompact.length === 1 ? '' : 's'} already compact`;
  if (s.compacted.length === 0) {
    process.stdout.write(`${s.table}: nothing to compact (${skipped})\n`);
    return;
  }
  const rows = s.compacted.map((p) => ({
    partition: p.partition,
    rows: formatCount(p.rows),
    files: `${p.filesBefore} -> ${p.filesAfter}`,
    before: bytes(p.bytesBefore),
    after: bytes(p.bytesAfter),
  }));
  const sum = (f: (p: (typeof s.compacted)[number]) => number) => s.compacted.reduce((n, p) => n + f(p), 0);
  process.stdout.write(
    `${formatRows(rows, 'table')}${s.table}: compacted ${s.compacted.length} partitions, ` +
      `${sum((p) => p.filesBefore)} files -> ${sum((p) => p.filesAfter)} ` +
      `(${bytes(sum((p) => p.bytesBefore))} -> ${bytes(sum((p) => p.bytesAfter))}); ${skipped}\n`,
  );
}

interface RetentionFlags {
  table: string;
  keepDays?: number;
  before?: string;
  dryRun?: boolean;
  json?: boolean;
}

async function retention(flags: RetentionFlags, cmd: Command): Promise<void> {
  if ((flags.keepDays === undefined) === (flags.before === undefined)) {
    throw new StorepulseError('USAGE', 'lake retention takes one of --keep-days N or --before YYYY-MM-DD');
  }
  const ctx = contextOf(cmd);
  const { applyRetention, keepDaysCutoff } = await import('../lake/retention.js');
  const before = flags.before ?? keepDaysCutoff(flags.keepDays!);
  const s = await applyRetention(lakeOf(ctx, 'lake retention'), {
    before,
    table: flags.table,
    dryRun: flags.dryRun,
  });
  if (flags.json) {
    process.stdout.write(formatJson(s));
    return;
  }
  if (s.removed.length === 0) {
    process.stdout.write(`${s.table}: no partition before ${s.before}; nothing removed\n`);
    return;
  }
  const rows = s.removed.map((p) => ({ partition: p.partition, files: p.files, bytes: bytes(p.bytes) }));
  const files = s.removed.reduce((n, p) => n + p.files, 0);
  process.stdout.write(
    `${formatRows(rows, 'table')}${s.table}: ${s.dryRun ? 'would remove' : 'removed'} ${s.removed.length} ` +
      `partitions before ${s.before}: ${files} files, ${bytes(s.bytes)} ${s.dryRun ? 'to free (dry run)' : 'freed'}\n`,
  );
}

export function register(lake: Command): void {
  lake
    .command('compact')
    .description("merge each partition's small files into few large ones (sorted by event_time, zstd)")
    .option('--table <name>', 'table to compact', 'events')
    .option('--partition <date...>', 'only these partitions (YYYY-MM-DD)')
    .option('--target-mb <n>', 'target file size in MB (Athena: 64-256)', intOption('--target-mb'))
    .option('--json', 'the summary as JSON')
    .action(compact);
  lake
    .command('retention')
    .description('remove whole partitions older than a cutoff')
    .option('--keep-days <n>', 'keep the last n days (UTC, today included)', intOption('--keep-days'))
    .option('--before <date>', 'remove partitions dated before YYYY-MM-DD')
    .option('--table <name>', 'table to trim', 'events')
    .option('--dry-run', 'only list what would be removed')
    .option('--json', 'the summary as JSON')
    .action(retention);
}
