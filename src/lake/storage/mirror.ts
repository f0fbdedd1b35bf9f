/**
 * Reading a lake that is not a local folder. DuckDB reads `s3://` itself with its httpfs extension,
 * which the production path uses when it loads (docs/lake-s3.md); where it cannot (no extension
 * installed, as offline here), the lake is mirrored into a local folder, `<dataDir>/lake-cache`, that
 * every reader of a local lake (report runner, catalog, replay) takes as it is.
 *
 * The mirror fetches each object whose key, ETag or size is new, and removes what is gone from the
 * lake. It is a local lake to its readers, with the same guarantees: a fetched file appears whole
 * (written aside, then renamed), and removals run inside a change of the mirror's own `_generation`
 * under its `maintenance.lock`, so a reader listing it (snapshot.ts) never counts rows twice or
 * misses them. The listing of the remote lake is itself taken between two equal even generations.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { StorepulseError, errorMessage } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import { acquireWriterLock, lockHolder } from '../../fs/lock.js';
import { MAINTENANCE_LOCK, bumpGeneration, storageGeneration } from '../commit.js';
import { sqlString } from '../duckdb.js';
import { LocalLakeStorage } from './local/storage.js';
import { formatLakeLocation, type LakeLocation } from './location.js';
import { openLakeTarget } from './open.js';
import type { LakeObject, LakeStorage } from './types.js';

/** The read cache of an S3 lake, inside the data folder. */
const LAKE_CACHE_DIR = 'lake-cache';
/** What the mirror holds (key → ETag and size) and of which lake. */
const INDEX_FILE = '_mirror.json';
/** Keys the mirror keeps of its own rather than copies. */
const OWN_KEYS = new Set(['_generation', INDEX_FILE]);

/** How long a sync waits for a replacement in the lake, or for another process's sync, to finish. */
const WAIT_MS = 60_000;
const POLL_MS = 100;

interface MirrorIndex {
  location: string;
  objects: Record<string, { etag: string; bytes: number }>;
}

export interface MirrorSummary {
  /** Objects in the lake (and now in the mirror). */
  objects: number;
  /** Objects fetched by this sync, and their bytes. */
  fetched: number;
  fetchedBytes: number;
  /** Files removed because their key is gone from the lake. */
  removed: number;
}

export interface MirrorOptions {
  /** Bytes fetched so far of the bytes to fetch: for a progress bar. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Lists the whole lake between two reads of the same even generation (see commit.ts). */
async function consistentListing(storage: LakeStorage): Promise<LakeObject[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const before = await storageGeneration(storage);
    if (before % 2 === 0) {
      const objects = await storage.list('');
      if ((await storageGeneration(storage)) === before) return objects;
    } else if (Date.now() > deadline) {
      throw new StorepulseError(
        'STATE',
        `the lake at ${storage.location} has been halfway through a maintenance run for over a minute: ` +
          'if none is running, run `storepulse lake compact` where the lake is written, to finish it',
      );
    }
    await sleep(POLL_MS);
  }
}

/** Takes the mirror's lock, waiting while another process syncs it. */
async function lockMirror(mirrorDir: string) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const holder = lockHolder(mirrorDir, MAINTENANCE_LOCK);
    if (holder === undefined || holder === process.pid || Date.now() > deadline) {
      return acquireWriterLock(mirrorDir, { what: `the lake cache at ${mirrorDir}` }, MAINTENANCE_LOCK);
    }
    await sleep(POLL_MS);
  }
}

/** Brings `mirrorDir` up to the lake in `storage`. */
async function syncLakeMirror(
  storage: LakeStorage,
  mirrorDir: string,
  opts: MirrorOptions = {},
): Promise<MirrorSummary> {
  const local = new LocalLakeStorage(mirrorDir);
  await mkdir(mirrorDir, { recursive: true });
  const lock = await lockMirror(mirrorDir);
  try {
    const text = await local.readText(INDEX_FILE);
    const old = text === undefined ? undefined : (JSON.parse(text) as MirrorIndex);
    const had = old?.location === storage.location ? old.objects : {};
    const remote = (await consistentListing(storage)).filter((o) => !OWN_KEYS.has(o.key));
    const index: MirrorIndex = { location: storage.location, objects: {} };
    const stale = new Set(remote.filter((o) => had[o.key]?.etag !== o.etag || had[o.key]?.bytes !== o.bytes));
    const totalBytes = [...stale].reduce((sum, o) => sum + o.bytes, 0);
    let doneBytes = 0;
    opts.onProgress?.(0, totalBytes);
    for (const o of remote) {
      if (stale.has(o)) {
        await storage.fetch(o.key, local.pathOf(o.key));
        doneBytes += o.bytes;
        opts.onProgress?.(doneBytes, totalBytes);
      }
      index.objects[o.key] = { etag: o.etag, bytes: o.bytes };
    }
    // Only what an earlier sync fetched is removed: the mirror's own files stay.
    const gone = [...Object.keys(old?.objects ?? {})].filter((k) => !(k in index.objects));
    if (gone.length > 0) {
      await bumpGeneration(local, 'begin');
      for (const key of gone) await local.delete(key);
    }
    await local.writeText(INDEX_FILE, JSON.stringify(index));
    await bumpGeneration(local, 'end');
    return { objects: remote.length, fetched: stale.size, fetchedBytes: totalBytes, removed: gone.length };
  } finally {
    lock.release();
  }
}

/** How readers reach a lake: a local folder (the lake itself or its mirror), or `s3://` for DuckDB. */
export type LakeForRead =
  { kind: 'folder'; dir: string; mirror?: MirrorSummary } | { kind: 's3'; url: string };

export interface LakeForReadOptions extends MirrorOptions {
  /**
   * A DuckDB connection that should read S3 itself: httpfs and aws are loaded (never downloaded) and
   * an S3 secret from the AWS credential chain is created on it. When they do not load, the mirror
   * is used, with a one-line notice through `log`.
   */
  duckdb?: DuckDBConnection;
  log?: (message: string) => void;
}

/**
 * The lake at `location` for a reader: a local lake as it is; an S3 lake through DuckDB's httpfs when
 * `opts.duckdb` is given and it loads, else through the mirror in `<dataDir>/lake-cache`.
 */
export async function openLakeForRead(
  location: LakeLocation,
  dataDir: string,
  opts: LakeForReadOptions = {},
): Promise<LakeForRead> {
  if (location.kind === 'local') return { kind: 'folder', dir: location.dir };
  if (opts.duckdb) {
    try {
      await useHttpfs(opts.duckdb, location);
      return { kind: 's3', url: formatLakeLocation(location) };
    } catch (err) {
      opts.log?.(
        `DuckDB cannot read S3 directly (${errorMessage(err).split('\n')[0]}): ` +
          `reading ${formatLakeLocation(location)} through the local copy in ${LAKE_CACHE_DIR}/`,
      );
    }
  }
  const target = await openLakeTarget(location, dataDir);
  const dir = path.join(dataDir, LAKE_CACHE_DIR);
  try {
    return { kind: 'folder', dir, mirror: await syncLakeMirror(target.storage, dir, opts) };
  } finally {
    target.close();
  }
}

/** The SQL that lets DuckDB read an S3 lake (docs/lake-s3.md shows it). */
export function httpfsSetupSql(location: Extract<LakeLocation, { kind: 's3' }>): string[] {
  const options = [
    'TYPE s3',
    'PROVIDER credential_chain',
    `SCOPE ${sqlString(formatLakeLocation(location))}`,
    ...(location.region ? [`REGION ${sqlString(location.region)}`] : []),
  ];
  if (location.endpoint) {
    const url = new URL(location.endpoint);
    options.push(
      `ENDPOINT ${sqlString(url.host)}`,
      `URL_STYLE 'path'`,
      `USE_SSL ${url.protocol === 'https:'}`,
    );
  }
  return [
    // Never a download: only an extension installed beforehand (`INSTALL httpfs; INSTALL aws;`) loads.
    'SET autoinstall_known_extensions = false',
    'LOAD httpfs',
    'LOAD aws',
    `CREATE OR REPLACE SECRET storepulse_lake (${options.join(', ')})`,
  ];
}

async function useHttpfs(con: DuckDBConnection, location: Extract<LakeLocation, { kind: 's3' }>) {
  for (const sql of httpfsSetupSql(location)) await con.run(sql);
}
