/** The Health page's facts: versions, storage use in the data folder, and the config in force, masked. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { packageVersion } from '../core/package.js';
import type { DataSources } from './sources.js';

/** Keys whose values are secrets wherever they appear in the config. */
const SECRET_KEY = /secret|password|token|credential|accesskey/i;
/** Keys whose values are URLs: a webhook's path or query is often its secret (Slack, Teams). */
const URL_KEY = /url|endpoint/i;

/** The config with secrets replaced by `•••` and URLs cut to their origin. */
function maskConfig(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskConfig(v, key));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskConfig(v, k)]));
  if (typeof value === 'string' && SECRET_KEY.test(key)) return '•••';
  if (typeof value === 'string' && URL_KEY.test(key)) {
    try {
      const u = new URL(value);
      return u.pathname === '/' && !u.search && !u.username ? u.origin : `${u.origin}/•••`;
    } catch {
      return '•••';
    }
  }
  return value;
}

/** Bytes and files under a folder (or one file); zero when it is not there. */
async function usage(p: string): Promise<{ bytes: number; files: number }> {
  const s = await stat(p).catch(() => undefined);
  if (!s) return { bytes: 0, files: 0 };
  if (!s.isDirectory()) return { bytes: s.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const e of await readdir(p, { withFileTypes: true })) {
    const u = await usage(path.join(p, e.name));
    bytes += u.bytes;
    files += u.files;
  }
  return { bytes, files };
}

let sqliteVersion: string | undefined;

export async function systemFacts(sources: DataSources, config: unknown) {
  sqliteVersion ??= (new Database(':memory:').prepare('SELECT sqlite_version() AS v').get() as { v: string })
    .v;
  const f = sources.files;
  const parts: [string, string][] = [
    ['lake (Parquet)', f.lakeDir],
    ['streams (embedded log)', path.join(f.dataDir, 'streams')],
    ['alerts (SQLite)', f.alerts],
    ['journey rollups (SQLite)', f.journey],
    ['notification outbox (SQLite)', f.outbox],
    ['dead letters', sources.deadLetterDir],
  ];
  const storage = [];
  for (const [what, p] of parts) storage.push({ what, path: p, ...(await usage(p)) });
  return {
    components: [
      { name: 'storepulse', version: packageVersion() },
      { name: 'Node.js', version: process.versions.node },
      { name: 'DuckDB', version: await duckdbVersion() },
      { name: 'SQLite', version: sqliteVersion },
    ],
    dataDir: f.dataDir,
    storage,
    config: maskConfig(config),
    uptimeSeconds: Math.round(process.uptime()),
  };
}

let duck: string | undefined;

/** DuckDB loads on first use (a second): only once per server. */
async function duckdbVersion(): Promise<string> {
  if (duck) return duck;
  const { openDuckDB } = await import('../lake/duckdb.js');
  const db = await openDuckDB();
  try {
    const r = await db.connection.runAndReadAll('SELECT version() AS v');
    duck = String(r.getRowObjects()[0]!.v);
  } finally {
    db.close();
  }
  return duck;
}
