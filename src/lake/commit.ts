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
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { syncFile, writeFileAtomic } from '../fs/files.js';
import { eventsDir, partitionOf, progressDir, stagingDir } from './layout.js';

/** Stream shard → sequence number of the last record published to the lake. */
export type LakeProgress = Record<string, string>;

const COMMIT_FILE = '_commit.json';

interface CommitManifest {
  /** [staged file, published path] pairs. */
  renames: [string, string][];
  progress?: { name: string; positions: LakeProgress };
}

export interface StagedFlush {
  /** The folder the COPY wrote, holding `event_date=…/*.parquet`. */
  staging: string;
  /** The published name of the `n`th file of one partition: unique to this flush and run. */
  fileName: (n: number) => string;
  /** The stream positions this flush reaches, published with its files (LakeWriterOptions.progress). */
  progress?: { name: string; positions: LakeProgress };
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
        manifest.renames.push([from, path.join(eventsDir(lakeDir), dir, flush.fileName(n))]);
        partitions.push(partition);
      }
    }
    if (flush.progress) manifest.progress = flush.progress;
    await writeFileAtomic(path.join(staging, COMMIT_FILE), JSON.stringify(manifest));
    await applyCommit(lakeDir, manifest);
    await rm(staging, { recursive: true, force: true });
    return partitions;
  } catch (err) {
    throw lakeIoError(`publishing ${staging} failed`, err);
  }
}

/** Performs a manifest's renames (those not done yet) and its progress; safe to repeat. */
async function applyCommit(lakeDir: string, manifest: CommitManifest): Promise<void> {
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
  const p = manifest.progress;
  if (p) await writeFileAtomic(progressPath(lakeDir, p.name), JSON.stringify(p.positions));
}

/**
 * After a crash: finishes every committed flush (in order) and removes what was staged without a
 * commit. Runs under the writer lock, so no staging folder belongs to a live writer.
 */
export async function recoverStaging(lakeDir: string): Promise<void> {
  const root = stagingDir(lakeDir);
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
