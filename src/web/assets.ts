/**
 * The dashboard's files, read once at start and kept compressed: the pages in `src/web/ui/` (shipped
 * as they are: plain ES modules, no build step) and uPlot from its package (no CDN: works offline).
 * Only these names are served, so no request can reach another file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { packagePath } from '../core/package.js';

export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function asset(file: string): Asset {
  const body = readFileSync(file);
  return {
    type: TYPES[path.extname(file)] ?? 'application/octet-stream',
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
  };
}

/** URL path → file contents. */
export function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const ui = packagePath('src', 'web', 'ui');
  for (const name of readdirSync(ui))
    if (TYPES[path.extname(name)]) out.set(`/${name}`, asset(path.join(ui, name)));
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot'));
  out.set('/vendor/uplot.js', asset(path.join(uplot, 'uPlot.iife.min.js')));
  out.set('/vendor/uplot.css', asset(path.join(uplot, 'uPlot.min.css')));
  return out;
}
