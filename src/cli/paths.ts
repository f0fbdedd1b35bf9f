/** Where each part of a run lives inside the data folder. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StorepulseError } from '../core/errors.js';
import { formatLakeLocation, type LakeLocation, resolveLakeLocation } from '../lake/storage/location.js';
import type { LakeTarget } from '../lake/storage/open.js';
import type { StreamPlace } from '../streams/uri.js';
import type { Context } from './context.js';

/** The SQLite alert store's path (nothing is created: read-only commands check it exists). */
export const alertStorePath = (ctx: Context) => path.join(ctx.dataDir, 'alerts.sqlite');

/** The live journey rollups (SQLite; docs/journey.md). */
export const journeyStorePath = (ctx: Context) => path.join(ctx.dataDir, 'journey.sqlite');

/** Where the lake is: `lake.location` in the config (a folder or `s3://…`), else `<dataDir>/lake`. */
function lakeLocation(ctx: Context): LakeLocation {
  return resolveLakeLocation(ctx.config.lake?.location, ctx.dataDir);
}

/** The lake for a command that writes events into it (process, lake load): a folder or S3. */
export async function lakeTarget(ctx: Context): Promise<LakeTarget> {
  const { openLakeTarget } = await import('../lake/storage/open.js');
  const target = await openLakeTarget(lakeLocation(ctx), ctx.dataDir);
  mkdirSync(target.dir, { recursive: true });
  return target;
}

/**
 * The lake as a local folder for a command that reads it (reports, catalog, query, replay, the
 * dashboard): a local lake as it is, an S3 lake through its mirror in the data folder, brought up to
 * date first (storage/mirror.ts; DuckDB's httpfs is the production path, docs/lake-s3.md).
 */
export async function lakeForRead(ctx: Context): Promise<string> {
  const location = lakeLocation(ctx);
  if (location.kind === 'local') return location.dir;
  const { openLakeForRead } = await import('../lake/storage/mirror.js');
  const lake = await openLakeForRead(location, ctx.dataDir, { log: ctx.log });
  if (lake.kind !== 'folder') throw new StorepulseError('INTERNAL', 'the lake mirror gave no folder');
  return lake.dir;
}

/**
 * The lake for maintenance (compact, retention, etl), which rewrites files in place, and for the demo
 * (embedded defaults): a local lake only.
 */
export function localLake(ctx: Context, command: string): string {
  const location = lakeLocation(ctx);
  if (location.kind === 'local') {
    mkdirSync(location.dir, { recursive: true });
    return location.dir;
  }
  throw new StorepulseError(
    'USAGE',
    `storepulse ${command} works on a local lake; lake.location is ${formatLakeLocation(location)}. ` +
      'On S3, Athena CTAS or Glue do this work (docs/lake-s3.md)',
  );
}

/** The reference's stream names: raw events (stream 1) and suspicious activity (stream 2). */
export const DEFAULT_STREAM_1 = 'embedded://ecommerce-raw-user-activity-stream-1';
export const DEFAULT_STREAM_2 = 'embedded://ecommerce-raw-user-activity-stream-2';

export function streamPlace(ctx: Context): StreamPlace {
  return {
    dataDir: ctx.dataDir,
    storePath: alertStorePath(ctx),
    streams: ctx.config.streams,
    shards: ctx.config.simulate.shards,
  };
}
