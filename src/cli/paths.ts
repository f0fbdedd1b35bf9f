/** Where each part of a run lives inside the data folder. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StreamPlace } from '../streams/uri.js';
import type { Context } from './context.js';

/** The SQLite alert store's path (nothing is created: read-only commands check it exists). */
export const alertStorePath = (ctx: Context) => path.join(ctx.dataDir, 'alerts.sqlite');

/** The live journey rollups (SQLite; docs/journey.md). */
export const journeyStorePath = (ctx: Context) => path.join(ctx.dataDir, 'journey.sqlite');

export function lakeDir(ctx: Context): string {
  const dir = path.join(ctx.dataDir, 'lake');
  mkdirSync(dir, { recursive: true });
  return dir;
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
