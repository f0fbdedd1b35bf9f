/** Where each part of a run lives inside the data folder. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Context } from './context.js';

export const alertStorePath = (ctx: Context) => ctx.dataPath('alerts.sqlite');

export function lakeDir(ctx: Context): string {
  const dir = path.join(ctx.dataDir, 'lake');
  mkdirSync(dir, { recursive: true });
  return dir;
}
