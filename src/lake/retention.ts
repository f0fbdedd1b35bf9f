/**
 * Retention: whole partitions older than a cutoff date leave the lake. Their files go in one
 * replacing commit that adds nothing (commit.ts), so a reader sees all of them or none; the emptied
 * partition folders are removed afterwards (a folder a writer has just put a new file into stays).
 */
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';
import { publishFlush } from './commit.js';
import { byPartition, sumBytes, withMaintenance } from './compact.js';
import { EVENTS_TABLE, type LakeFile, listTableFiles } from './layout.js';
import { withSnapshot } from './snapshot.js';

/** A hundred years: more than that is a typo, not a retention policy. */
const MAX_KEEP_DAYS = 36_500;
const DAY_MS = 86_400_000;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Throws unless `day` is a real calendar date written `YYYY-MM-DD`. */
function checkDay(day: string, flag: string): void {
  const ms = Date.parse(`${day}T00:00:00Z`);
  // The round trip catches days a month does not have (2019-02-30).
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !Number.isFinite(ms) || isoDay(ms) !== day) {
    throw new StorepulseError('USAGE', `${flag} takes a date YYYY-MM-DD, got ${JSON.stringify(day)}`);
  }
}

/**
 * The cutoff that keeps the last `keepDays` UTC days, today included: `--keep-days 30` on
 * 2026-12-04 keeps 2026-11-05 onwards.
 */
export function keepDaysCutoff(keepDays: number, now = Date.now()): string {
  if (!Number.isInteger(keepDays) || keepDays < 1 || keepDays > MAX_KEEP_DAYS) {
    throw new StorepulseError(
      'USAGE',
      `--keep-days takes a whole number of days from 1 to ${MAX_KEEP_DAYS}, got ${keepDays}`,
    );
  }
  return isoDay(now - (keepDays - 1) * DAY_MS);
}

export interface RetentionOptions {
  /** Partitions dated before this day (`YYYY-MM-DD`) are removed; it may not be after today (UTC). */
  before: string;
  /** Default `events`. */
  table?: string;
  /** Only say what would go. */
  dryRun?: boolean;
  /** The clock, for tests. */
  now?: number;
}

export interface RemovedPartition {
  partition: string;
  files: number;
  bytes: number;
}

export interface RetentionSummary {
  table: string;
  before: string;
  dryRun: boolean;
  removed: RemovedPartition[];
  bytes: number;
}

export async function applyRetention(lakeDir: string, opts: RetentionOptions): Promise<RetentionSummary> {
  const { before } = opts;
  checkDay(before, '--before');
  const today = isoDay(opts.now ?? Date.now());
  if (before > today) {
    throw new StorepulseError(
      'USAGE',
      `--before ${before} is after today (${today}): it would remove today's partition, which writers still fill`,
    );
  }
  const dir = path.resolve(lakeDir);
  const table = opts.table ?? EVENTS_TABLE;
  const old = (files: LakeFile[]) => [...byPartition(files)].filter(([p]) => p < before);
  const summarize = (parts: [string, LakeFile[]][]): RetentionSummary => {
    const removed = parts.map(([partition, files]) => ({
      partition,
      files: files.length,
      bytes: sumBytes(files),
    }));
    return { table, before, dryRun: Boolean(opts.dryRun), removed, bytes: sumBytes(removed) };
  };
  if (opts.dryRun) {
    return summarize(
      old(
        await withSnapshot(
          dir,
          () => listTableFiles(dir, table),
          async (f) => f,
        ),
      ),
    );
  }
  return withMaintenance(dir, async (run) => {
    const parts = old(await listTableFiles(dir, table));
    if (parts.length === 0) return summarize(parts);
    const staging = path.join(run.dir, 'retention');
    await mkdir(staging, { recursive: true });
    await publishFlush(dir, {
      staging,
      fileName: () => 'unused.parquet',
      table,
      replaces: parts.flatMap(([, files]) => files.map((f) => f.path)),
    });
    for (const [, files] of parts) await removeEmptyFolder(path.dirname(files[0]!.path));
    return summarize(parts);
  });
}

async function removeEmptyFolder(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTEMPTY: a writer has put a new file there since, or it holds something else: it stays.
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT')
      throw ioError(`cannot remove ${dir}`, err);
  }
}
