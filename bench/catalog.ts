/**
 * Catalog benchmark: `describeLake` (what `storepulse catalog` prints) and `crawlLake` (`catalog
 * crawl`) on an existing lake, against plain DuckDB reading the same footers over a glob
 * (parquet_file_metadata + parquet_schema; DESCRIBE for the listing), best of N. The bytes each read
 * through system calls (`rchar` of /proc/self/io, page cache included) show that only footers are read.
 *
 *   npm run build && node dist/bench/catalog.js LAKE_DIR [--runs 2]
 *
 * The crawl writes `<LAKE_DIR>/_catalog/events.json`, so point it at a scratch copy of a lake.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describeLake } from '../src/lake/catalog.js';
import { crawlLake } from '../src/lake/crawl.js';

/** Bytes this process has read through read()/pread() so far. */
function readBytes(): number {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
}

async function measure(label: string, runs: number, work: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const bytes = readBytes();
    const t0 = performance.now();
    await work();
    const ms = performance.now() - t0;
    best = Math.min(best, ms);
    console.log(
      `${label.padEnd(24)} run ${i + 1}: ${ms.toFixed(0)} ms, ${(readBytes() - bytes).toLocaleString('en-US')} bytes read`,
    );
  }
  return best;
}

async function plainDuckDB(sql: string[]): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    for (const q of sql) await c.runAndReadAll(q);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

async function main(): Promise<void> {
  const lakeDir = path.resolve(process.argv[2] ?? '');
  const runsAt = process.argv.indexOf('--runs');
  const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 2;
  const d = await describeLake(lakeDir);
  const events = d.tables[0]!;
  console.log(
    `lake ${lakeDir}: ${events.rows.toLocaleString('en-US')} rows, ${events.files} files, ` +
      `${events.partitions.length} partitions, ${events.bytes.toLocaleString('en-US')} bytes`,
  );
  const glob = `'${path.join(lakeDir, 'events', '*', '*.parquet')}'`;

  const ours = await measure('catalog (describeLake)', runs, () => describeLake(lakeDir));
  const duck = await measure('duckdb describe+meta', runs, () =>
    plainDuckDB([
      `DESCRIBE SELECT * FROM read_parquet(${glob}, hive_partitioning = true, union_by_name = true)`,
      `SELECT file_name, num_rows FROM parquet_file_metadata(${glob})`,
    ]),
  );
  const crawl = await measure('catalog crawl', runs, () => crawlLake(lakeDir));
  const duckCrawl = await measure('duckdb footers', runs, () =>
    plainDuckDB([
      `SELECT file_name, num_rows FROM parquet_file_metadata(${glob})`,
      `SELECT file_name, name, duckdb_type, num_children FROM parquet_schema(${glob}) ORDER BY file_name, column_id`,
    ]),
  );
  console.log(
    `catalog: ${ours.toFixed(0)} ms vs DuckDB ${duck.toFixed(0)} ms, ratio ${(ours / duck).toFixed(2)}`,
  );
  console.log(
    `crawl:   ${crawl.toFixed(0)} ms vs DuckDB ${duckCrawl.toFixed(0)} ms, ratio ${(crawl / duckCrawl).toFixed(2)}`,
  );
}

await main();
