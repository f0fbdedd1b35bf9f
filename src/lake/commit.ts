/**
 * How a staged flush becomes visible all at once, and how a crash halfway is finished.
 *
 * Readers only look in `events/`, and a rename within one file system is atomic, so each file
 * appears whole or not at all; but one flush is several files (one or more per partition) plus the
 * stream positions they reach, and a crash between two renames would publish part of it. So before
 * the first rename a commit manifest listing every rename and the positions is written into the
 * staging folder (atomically, src/fs/files.ts). A flush with a manifest is committed: the next writer
 * finishes its renames (recoverStaging); a flush without one never happened and is removed. The lake
 * then holds, per stream shard, exactly the records up to its published positions (readLakeProgress).
 *
 * Maintenance (compaction, retention, ETL rebuilds) also replaces files: its manifest lists files to
 * delete too. Adding files never confuses a reader, replacing them would (a reader listing halfway
 * would count rows twice or miss them), so a replacement runs inside a change of the lake's
 * generation (`_generation`: odd while one is under way, a sequence lock): readers list the files
 * between two reads of the same even generation and retry otherwise (snapshot.ts). Maintenance has
 * its own staging root and lock (`_maintenance/`, `maintenance.lock`), so it runs beside a writer.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { syncFile, writeFileAtomic } from '../fs/files.js';
import { acquireWriterLock, type WriterLock } from '../fs/lock.js';
import { EVENTS_TABLE, partitionOf, progressDir, stagingDir } from './layout.js';

/** Stream shard → sequence number of the last record published to the lake. */
export type LakeProgress = Record<string, string>;

const COMMIT_FILE = '_commit.json';

interface CommitManifest {
  /** [staged file, published path] pairs. */
  renames: [string, string][];
  /** Published files this commit replaces: deleted once the renames are done. */
  deletes?: string[];
  progress?: { name: string; positions: LakeProgress };
}

export interface StagedFlush {
  /** The folder the COPY wrote, holding `event_date=…/*.parquet`. */
  staging: string;
  /** The published name of the `n`th file of one partition: unique to this flush and run. */
  fileName: (n: number) => string;
  /** The stream positions this flush reaches, published with its files (LakeWriterOptions.progress). */
  progress?: { name: string; positions: LakeProgress };
  /** The table the files belong to (a folder of the lake); default `events`. */
  table?: string;
  /**
   * Published files that this flush replaces (maintenance only: run it under the maintenance lock,
   * with its staging under maintenanceDir). They disappear as the new files appear, for readers at
   * once (the generation changes around both).
   */
  replaces?: readonly string[];
}

export function lakeIoError(what: string, err: unknown): StorepulseError {
  return ioError(`lake writer: ${what}`, err);
}

/**
 * Publishes a staged flush: every file synced (so a power cut cannot publish an empty file either),
 * then the commit manifest, then the renames and the progress, then the staging folder is removed.
 * Returns the partition value of each file published.
 */
export async function publishFlush(lakeDir: string, flush: StagedFlush): Promise<string[]> {
  const { staging } = flush;
  try {
    const manifest: CommitManifest = { renames: [] };
    const partitions: string[] = [];
    for (const dir of (await readdir(staging)).sort()) {
      const partition = partitionOf(dir);
      if (partition === null) continue;
      const files = (await readdir(path.join(staging, dir))).filter((f) => f.endsWith('.parquet')).sort();
      for (let n = 0; n < files.length; n++) {
        const from = path.join(staging, dir, files[n]!);
        await syncFile(from);
        manifest.renames.push([
          from,
          path.join(lakeDir, flush.table ?? EVENTS_TABLE, dir, flush.fileName(n)),
        ]);
        partitions.push(partition);
      }
    }
    if (flush.progress) manifest.progress = flush.progress;
    if (flush.replaces?.length) manifest.deletes = [...flush.replaces];
    await writeFileAtomic(path.join(staging, COMMIT_FILE), JSON.stringify(manifest));
    await applyCommit(lakeDir, manifest);
    await rm(staging, { recursive: true, force: true });
    return partitions;
  } catch (err) {
    throw lakeIoError(`publishing ${staging} failed`, err);
  }
}

/** Performs a manifest's renames and deletes (those not done yet) and its progress; safe to repeat. */
async function applyCommit(lakeDir: string, manifest: CommitManifest): Promise<void> {
  const replacing = (manifest.deletes?.length ?? 0) > 0;
  if (replacing) await bumpGeneration(lakeDir, 'begin');
  for (const [from, to] of manifest.renames) {
    await mkdir(path.dirname(to), { recursive: true });
    failpoint('lake.mid-publish');
    try {
      await rename(from, to);
    } catch (err) {
      // Done already, by this writer before a crash or by another writer's recovery.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  for (const file of manifest.deletes ?? []) {
    failpoint('lake.mid-replace');
    await rm(file, { force: true });
  }
  const p = manifest.progress;
  if (p) await writeFileAtomic(progressPath(lakeDir, p.name), JSON.stringify(p.positions));
  if (replacing) await bumpGeneration(lakeDir, 'end');
}

const GENERATION_FILE = '_generation';
const MAINTENANCE_DIR = '_maintenance';
/** The lock maintenance runs hold in the lake folder (fs/lock.ts), beside the writer's `writer.lock`. */
export const MAINTENANCE_LOCK = 'maintenance.lock';

/** Where maintenance stages its files (one folder per run, like the writer's `_staging`). */
export function maintenanceDir(lakeDir: string): string {
  return path.join(lakeDir, MAINTENANCE_DIR);
}

/**
 * Takes the lake's maintenance lock (one maintenance run at a time; the writer may run beside it)
 * and finishes whatever a maintenance run that crashed had committed.
 */
export async function openMaintenance(lakeDir: string): Promise<WriterLock> {
  const lock = acquireWriterLock(
    lakeDir,
    { what: `maintenance of the lake at ${lakeDir}` },
    MAINTENANCE_LOCK,
  );
  try {
    await recoverStaging(lakeDir, maintenanceDir(lakeDir));
    return lock;
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The lake's generation: even when no replacement is under way; 0 for a lake that never had one. */
export async function readGeneration(lakeDir: string): Promise<number> {
  try {
    const n = Number.parseInt(await readFile(path.join(lakeDir, GENERATION_FILE), 'utf8'), 10);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw lakeIoError('reading the generation', err);
  }
}

/** Makes the generation odd (`begin`) or even (`end`); a no-op when it already is. */
async function bumpGeneration(lakeDir: string, to: 'begin' | 'end'): Promise<void> {
  const g = await readGeneration(lakeDir);
  if ((g % 2 === 1) === (to === 'begin')) return;
  await writeFileAtomic(path.join(lakeDir, GENERATION_FILE), String(g + 1));
}

/**
 * After a crash: finishes every committed flush (in order) and removes what was staged without a
 * commit. Runs under the lock of its staging root (the writer lock for `_staging`, the maintenance
 * lock for maintenanceDir), so no staging folder there belongs to a live process.
 */
export async function recoverStaging(lakeDir: string, root = stagingDir(lakeDir)): Promise<void> {
  for (const run of (await readdir(root).catch(() => [] as string[])).sort()) {
    const runDir = path.join(root, run);
    for (const flush of (await readdir(runDir).catch(() => [] as string[])).sort()) {
      const dir = path.join(runDir, flush);
      const text = await readFile(path.join(dir, COMMIT_FILE), 'utf8').catch(() => null);
      if (text === null) continue;
      try {
        await applyCommit(lakeDir, JSON.parse(text) as CommitManifest);
      } catch (err) {
        throw lakeIoError(`finishing the committed flush ${dir}`, err);
      }
      await rm(dir, { recursive: true, force: true });
    }
    await rm(runDir, { recursive: true, force: true });
  }
}

/** Positions published under `name` (LakeWriterOptions.progress); empty when none were. */
export async function readLakeProgress(lakeDir: string, name: string): Promise<LakeProgress> {
  try {
    return JSON.parse(await readFile(progressPath(lakeDir, name), 'utf8')) as LakeProgress;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw lakeIoError(`reading the progress of ${name}`, err);
  }
}

function progressPath(lakeDir: string, name: string): string {
  return path.join(progressDir(lakeDir), `${encodeURIComponent(name)}.json`);
}
