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
 *
 * Where the lake lives is a LakeStorage (storage/types.ts): the lake folder itself by default, or S3.
 * Staging, manifests and locks always stay in the local lake folder `lakeDir` (for an S3 lake, the
 * writer's `<dataDir>/lake-staging`); "rename" is the storage's publish, which on S3 is an upload that
 * appears whole or not at all, and recovery publishes again from the local staging (staged files are
 * removed only once their commit is done). Progress and `_generation` are small objects in the storage.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { syncFile, writeFileAtomic } from '../fs/files.js';
import { acquireWriterLock, type WriterLock } from '../fs/lock.js';
import { EVENTS_TABLE, PROGRESS_DIR, partitionOf, stagingDir } from './layout.js';
import { LocalLakeStorage } from './storage/local/storage.js';
import type { LakeStorage } from './storage/types.js';

/** Stream shard → sequence number of the last record published to the lake. */
export type LakeProgress = Record<string, string>;

const COMMIT_FILE = '_commit.json';

interface CommitManifest {
  /** [staged file, key] pairs (manifests of older versions hold the published path: see keyOf). */
  renames: [string, string][];
  /** Keys (or published paths) this commit replaces: deleted once the renames are done. */
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
   * Published files that this flush replaces, as keys or as paths in a local lake (maintenance only:
   * run it under the maintenance lock, with its staging under maintenanceDir). They disappear as the
   * new files appear, for readers at once (the generation changes around both).
   */
  replaces?: readonly string[];
}

/** The lake folder's own storage: the default wherever a storage may be given. */
function localStorage(lakeDir: string): LakeStorage {
  return new LocalLakeStorage(lakeDir);
}

/** A key as given, or the key of a path inside the local lake folder. */
function keyOf(lakeDir: string, keyOrPath: string): string {
  if (!path.isAbsolute(keyOrPath)) return keyOrPath;
  const rel = path.relative(lakeDir, keyOrPath);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new StorepulseError('INTERNAL', `${keyOrPath} is not inside the lake at ${lakeDir}`);
  }
  return rel.split(path.sep).join('/');
}

export function lakeIoError(what: string, err: unknown): StorepulseError {
  return ioError(`lake writer: ${what}`, err);
}

/**
 * Publishes a staged flush: every file synced (so a power cut cannot publish an empty file either),
 * then the commit manifest, then the renames and the progress, then the staging folder is removed.
 * Returns the partition value of each file published.
 */
export async function publishFlush(
  lakeDir: string,
  flush: StagedFlush,
  storage = localStorage(lakeDir),
): Promise<string[]> {
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
        manifest.renames.push([from, `${flush.table ?? EVENTS_TABLE}/${dir}/${flush.fileName(n)}`]);
        partitions.push(partition);
      }
    }
    if (flush.progress) manifest.progress = flush.progress;
    if (flush.replaces?.length) manifest.deletes = flush.replaces.map((f) => keyOf(lakeDir, f));
    await writeFileAtomic(path.join(staging, COMMIT_FILE), JSON.stringify(manifest));
    await applyCommit(lakeDir, storage, manifest);
    await rm(staging, { recursive: true, force: true });
    return partitions;
  } catch (err) {
    throw lakeIoError(`publishing ${staging} failed`, err);
  }
}

/**
 * Performs a manifest's publishes and deletes and its progress; safe to repeat (a publish done
 * already is skipped locally, uploaded again to S3 from the staging that is still there).
 */
async function applyCommit(lakeDir: string, storage: LakeStorage, manifest: CommitManifest): Promise<void> {
  const replacing = (manifest.deletes?.length ?? 0) > 0;
  if (replacing) await bumpGeneration(storage, 'begin');
  await publishAll(lakeDir, storage, manifest.renames);
  for (const file of manifest.deletes ?? []) {
    failpoint('lake.mid-replace');
    await storage.delete(keyOf(lakeDir, file));
  }
  const p = manifest.progress;
  if (p) await storage.writeText(progressKey(p.name), JSON.stringify(p.positions));
  if (replacing) await bumpGeneration(storage, 'end');
}

/** Files published at once: a rename does not mind, an upload's throughput is per connection. */
const PUBLISHES_IN_FLIGHT = 4;

/** The manifest's publishes, a few at a time; after a failure, waits for those under way, then throws. */
async function publishAll(lakeDir: string, storage: LakeStorage, renames: [string, string][]): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < renames.length) {
      const [from, to] = renames[next++]!;
      failpoint('lake.mid-publish');
      try {
        await storage.publish(from, keyOf(lakeDir, to));
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(PUBLISHES_IN_FLIGHT, renames.length) }, worker),
  );
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
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
 * Takes the lake's writer lock (one writer at a time: the lake writer or `lake load`) and finishes
 * whatever a writer that crashed had committed. `hint` is added to the "locked" error.
 */
export async function openWriting(
  lakeDir: string,
  storage?: LakeStorage,
  hint?: string,
): Promise<WriterLock> {
  const lock = acquireWriterLock(lakeDir, { what: `the lake at ${storage?.location ?? lakeDir}`, hint });
  try {
    await recoverStaging(lakeDir, undefined, storage);
    return lock;
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * Takes the lake's maintenance lock (one maintenance run at a time; the writer may run beside it)
 * and finishes whatever a maintenance run that crashed had committed.
 */
export async function openMaintenance(lakeDir: string, storage?: LakeStorage): Promise<WriterLock> {
  const lock = acquireWriterLock(
    lakeDir,
    { what: `maintenance of the lake at ${lakeDir}` },
    MAINTENANCE_LOCK,
  );
  try {
    await recoverStaging(lakeDir, maintenanceDir(lakeDir), storage);
    return lock;
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The lake's generation: even when no replacement is under way; 0 for a lake that never had one. */
export function readGeneration(lakeDir: string, storage = localStorage(lakeDir)): Promise<number> {
  return storageGeneration(storage);
}

/** The generation of the lake in `storage` (readGeneration for a lake that is not a local folder). */
export async function storageGeneration(storage: LakeStorage): Promise<number> {
  let text: string | undefined;
  try {
    text = await storage.readText(GENERATION_FILE);
  } catch (err) {
    throw lakeIoError('reading the generation', err);
  }
  const n = Number.parseInt(text ?? '0', 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * Makes the generation odd (`begin`) or even (`end`); a no-op when it already is. Replacements of
 * published files run between the two (applyCommit here, the read cache's pruning in storage/mirror.ts).
 */
export async function bumpGeneration(storage: LakeStorage, to: 'begin' | 'end'): Promise<void> {
  const g = await storageGeneration(storage);
  if ((g % 2 === 1) === (to === 'begin')) return;
  await storage.writeText(GENERATION_FILE, String(g + 1));
}

/**
 * After a crash: finishes every committed flush (in order) and removes what was staged without a
 * commit. Runs under the lock of its staging root (the writer lock for `_staging`, the maintenance
 * lock for maintenanceDir), so no staging folder there belongs to a live process.
 */
export async function recoverStaging(
  lakeDir: string,
  root = stagingDir(lakeDir),
  storage = localStorage(lakeDir),
): Promise<void> {
  for (const run of (await readdir(root).catch(() => [] as string[])).sort()) {
    const runDir = path.join(root, run);
    for (const flush of (await readdir(runDir).catch(() => [] as string[])).sort()) {
      const dir = path.join(runDir, flush);
      const text = await readFile(path.join(dir, COMMIT_FILE), 'utf8').catch(() => null);
      if (text === null) continue;
      try {
        await applyCommit(lakeDir, storage, JSON.parse(text) as CommitManifest);
      } catch (err) {
        throw lakeIoError(`finishing the committed flush ${dir}`, err);
      }
      await rm(dir, { recursive: true, force: true });
    }
    await rm(runDir, { recursive: true, force: true });
  }
}

/** Positions published under `name` (LakeWriterOptions.progress); empty when none were. */
export async function readLakeProgress(
  lakeDir: string,
  name: string,
  storage = localStorage(lakeDir),
): Promise<LakeProgress> {
  try {
    const text = await storage.readText(progressKey(name));
    return text === undefined ? {} : (JSON.parse(text) as LakeProgress);
  } catch (err) {
    throw lakeIoError(`reading the progress of ${name}`, err);
  }
}

/**
 * Writes positions under `name` outside any commit: for a hint whose loss costs only time (lake
 * load's `load-seen:` slots), never for what must be published with files (StagedFlush.progress).
 */
export async function writeLakeProgress(
  lakeDir: string,
  name: string,
  positions: LakeProgress,
  storage = localStorage(lakeDir),
): Promise<void> {
  try {
    await storage.writeText(progressKey(name), JSON.stringify(positions));
  } catch (err) {
    throw lakeIoError(`writing the progress of ${name}`, err);
  }
}

function progressKey(name: string): string {
  return `${PROGRESS_DIR}/${encodeURIComponent(name)}.json`;
}
