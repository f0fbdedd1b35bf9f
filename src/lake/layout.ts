/**
 * Where things live in a lake folder. One place for the paths, so the writer, the catalog,
 * the report runner and the docs agree:
 *
 *   <lakeDir>/events/event_date=YYYY-MM-DD/part-<runId>-<flush>-<n>.parquet   published data
 *   <lakeDir>/_staging/<runId>/<flush>/...                                    files being written
 *   <lakeDir>/_progress/<stream>.json                stream positions published (commit.ts)
 *   <lakeDir>/writer.lock                            the writer's pid while one runs
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';

export const EVENTS_TABLE = 'events';
export const PARTITION_KEY = 'event_date';
const STAGING_DIR = '_staging';
export const PROGRESS_DIR = '_progress';

export function eventsDir(lakeDir: string): string {
  return path.join(lakeDir, EVENTS_TABLE);
}

export function stagingDir(lakeDir: string): string {
  return path.join(lakeDir, STAGING_DIR);
}

export function progressDir(lakeDir: string): string {
  return path.join(lakeDir, PROGRESS_DIR);
}

/** The glob every reader uses: exactly one partition level, published `.parquet` files only. */
export function eventsGlob(lakeDir: string): string {
  return path.join(eventsDir(lakeDir), '*', '*.parquet');
}

export interface LakeFile {
  /** The partition value, e.g. `2019-10-01`. */
  partition: string;
  path: string;
  bytes: number;
}

const PARTITION_RE = /^event_date=(\d{4}-\d{2}-\d{2})$/;

/** The partition value (`YYYY-MM-DD`) of a partition folder's name, or null for any other name. */
export function partitionOf(folderName: string): string | null {
  return PARTITION_RE.exec(folderName)?.[1] ?? null;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw ioError(`cannot list ${dir}`, err);
  }
}

/** Every published Parquet file of the events table, sorted by partition then name. */
export async function listLakeFiles(lakeDir: string): Promise<LakeFile[]> {
  const root = eventsDir(lakeDir);
  const out: LakeFile[] = [];
  for (const dir of (await readdirOrEmpty(root)).sort()) {
    const partition = partitionOf(dir);
    if (partition === null) continue;
    for (const name of (await readdirOrEmpty(path.join(root, dir))).sort()) {
      // Hive readers skip names starting with `_` or `.`; so do we.
      if (!name.endsWith('.parquet') || name.startsWith('_') || name.startsWith('.')) continue;
      const p = path.join(root, dir, name);
      const s = await stat(p);
      if (s.isFile()) out.push({ partition, path: p, bytes: s.size });
    }
  }
  return out;
}

/** The error every reader raises on a lake with nothing in it yet. */
export function emptyLakeError(lakeDir: string): StorepulseError {
  return new StorepulseError(
    'STATE',
    `the lake at ${lakeDir} has no data yet: run \`storepulse demo\` or \`storepulse simulate\` first`,
  );
}
