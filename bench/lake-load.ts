/**
 * `lake load` vs plain DuckDB on the same file, in the same run: DuckDB alone runs
 * `COPY (SELECT <casts> FROM read_csv(…)) TO … (PARTITION_BY (event_date))` with the same Parquet
 * options and thread count, no validation, no fingerprint. Each measurement is its own child process
 * (so peak RSS is per method), alternating, `--rounds` times (default 2).
 *
 *   node dist/bench/lake-load.js /work/data/month.csv.gz [--rounds 2]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSV_COLUMNS } from '../src/core/event.js';
import { openDuckDB, sqlString } from '../src/lake/duckdb.js';
import { PARQUET_COPY_OPTIONS } from '../src/lake/layout.js';
import { loadFiles } from '../src/lake/load.js';

const THREADS = Math.max(1, Math.min(4, os.availableParallelism()));
const MEMORY_LIMIT = '1GB';

/** The well-known way: DuckDB's own CSV reader and casts, straight to partitioned Parquet. */
async function plainDuckDB(file: string, out: string): Promise<number> {
  const db = await openDuckDB({
    threads: String(THREADS),
    memory_limit: MEMORY_LIMIT,
    preserve_insertion_order: 'false',
  });
  try {
    const columns = CSV_COLUMNS.map((c) => `'${c}': 'VARCHAR'`).join(', ');
    const ts = `CAST(strptime(event_time, '%Y-%m-%d %H:%M:%S UTC') AS TIMESTAMP)`;
    const r = await db.connection.runAndReadAll(
      `COPY (SELECT ${ts} AS event_time, event_type, CAST(product_id AS BIGINT) AS product_id, category_id,
          category_code, brand, CAST(CAST(price AS DOUBLE) AS DECIMAL(12,2)) AS price,
          CAST(user_id AS BIGINT) AS user_id, user_session, NULL::TIMESTAMP AS txn_timestamp,
          NULL::VARCHAR AS stream_shard, NULL::VARCHAR AS stream_seq, CAST(${ts} AS DATE) AS event_date
        FROM read_csv(${sqlString(file)}, columns = {${columns}}, header = true, auto_detect = false))
       TO ${sqlString(out)} (${PARQUET_COPY_OPTIONS}, PARTITION_BY (event_date))`,
    );
    return Number(r.getRowsJS()[0]![0]);
  } finally {
    db.close();
  }
}

async function one(method: string, file: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-lake-load-'));
  try {
    const started = Date.now();
    let rows: number;
    if (method === 'duckdb') rows = await plainDuckDB(file, path.join(dir, 'out'));
    else {
      const [l] = await loadFiles([file], {
        dataDir: dir,
        lakeDir: path.join(dir, 'lake'),
        threads: THREADS,
        memoryLimit: MEMORY_LIMIT,
      });
      rows = l!.rows;
    }
    const ms = Date.now() - started;
    const { userCPUTime, systemCPUTime } = process.resourceUsage();
    const cpuS = (userCPUTime + systemCPUTime) / 1e6;
    process.stdout.write(JSON.stringify({ rows, ms, cpuS, rssMiB: process.resourceUsage().maxRSS / 1024 }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Run {
  rows: number;
  ms: number;
  /** User + system CPU seconds of the child: steadier than wall time on a shared machine. */
  cpuS: number;
  rssMiB: number;
}

function measure(method: string, file: string): Run {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', method, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as Run;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--one') return one(args[1]!, args[2]!);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: node dist/bench/lake-load.js FILE [--rounds N]');
  const i = args.indexOf('--rounds');
  const rounds = i >= 0 ? Number(args[i + 1]) : 2;
  console.log(`lake load vs plain DuckDB COPY: ${file}, ${THREADS} threads, memory_limit ${MEMORY_LIMIT}`);
  console.log(
    'round | DuckDB s (CPU s) | DuckDB RSS MiB | lake load s (CPU s) | lake load RSS MiB | ratio DuckDB/ours (CPU)',
  );
  for (let r = 1; r <= rounds; r++) {
    const base = measure('duckdb', file);
    const ours = measure('load', file);
    if (ours.rows !== base.rows) console.log(`  rows differ: DuckDB ${base.rows}, lake load ${ours.rows}`);
    console.log(
      `${r} | ${(base.ms / 1000).toFixed(1)} (${base.cpuS.toFixed(1)}) | ${base.rssMiB.toFixed(0)} | ` +
        `${(ours.ms / 1000).toFixed(1)} (${ours.cpuS.toFixed(1)}) | ${ours.rssMiB.toFixed(0)} | ` +
        `${(base.ms / ours.ms).toFixed(2)} (${(base.cpuS / ours.cpuS).toFixed(2)})`,
    );
  }
}

await main();
