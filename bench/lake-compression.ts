/**
 * The lake's Parquet compression, zstd (PARQUET_COPY_OPTIONS) against Snappy (what the writer used
 * before): file size and write time.
 *
 * 1. The real LakeWriter (flushRows 200,000, stream provenance) over the first N events of a month:
 *    its wall time (CSV parsing included) and the bytes it publishes.
 * 2. Plain DuckDB, nothing of ours in between: the same rows, held in a DuckDB table, written with the
 *    writer's COPY options in flush-sized slices, once with zstd and once with Snappy, alternating,
 *    `--runs` times, with the writer's thread count. Prints the size and time ratios.
 *
 *   npm run build && node dist/bench/lake-compression.js [--file /work/data/month.csv.gz]
 *       [--events 2000000] [--runs 2]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDuckDB, queryPlain, sqlString } from '../src/lake/duckdb.js';
import { eventsGlob, listLakeFiles, PARQUET_COPY_OPTIONS } from '../src/lake/layout.js';
import { LakeWriter } from '../src/lake/writer.js';
import { readEvents } from '../src/sources/reader.js';

const FLUSH_ROWS = 200_000;

function parseArgs(argv: string[]) {
  const a = { file: '/work/data/month.csv.gz', events: 2_000_000, runs: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]!];
    if (k === '--file') a.file = v;
    else if (k === '--events') a.events = Number(v.replace(/_/g, ''));
    else if (k === '--runs') a.runs = Number(v);
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/** CPU seconds of this process (every thread: the JS thread and DuckDB's) since `from`. */
function cpuSeconds(from?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
}

const MiB = (b: number) => (b / 1024 / 1024).toFixed(1);

/** Bytes of the Parquet files under `dir`, at any depth. */
function folderBytes(dir: string): number {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.parquet'))
    .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

async function writeLake(
  file: string,
  events: number,
  lakeDir: string,
): Promise<{ seconds: number; cpu: number }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const w = await LakeWriter.open({ lakeDir, flushRows: FLUSH_ROWS });
  const seqBase = 49590338271490256608559692538361571095921575989136588898n;
  let n = 0;
  for await (const batch of readEvents(file)) {
    const take = batch.slice(0, events - n);
    await w.write(
      take.map((event, i) => ({
        event: { ...event, txn_timestamp: event.event_time },
        shard: `shardId-00000000000${event.product_id % 4}`,
        seq: String(seqBase + BigInt(n + i)),
      })),
    );
    n += take.length;
    if (n >= events) break;
  }
  await w.close();
  return { seconds: (performance.now() - start) / 1000, cpu: cpuSeconds(cpu) };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-lake-compression-'));
  try {
    const lakeDir = path.join(work, 'lake');
    const writer = await writeLake(a.file, a.events, lakeDir);
    const files = await listLakeFiles(lakeDir);
    const writerBytes = files.reduce((s, f) => s + f.bytes, 0);
    console.log(
      `LakeWriter (${PARQUET_COPY_OPTIONS}): ${a.events} events in ${writer.seconds.toFixed(1)} s, ` +
        `${writer.cpu.toFixed(1)} CPU s (CSV parsing included), ` +
        `${files.length} files, ${MiB(writerBytes)} MiB`,
    );

    const threads = String(Math.max(1, Math.min(4, os.availableParallelism() - 1)));
    const db = await openDuckDB({ preserve_insertion_order: 'false', threads });
    try {
      const con = db.connection;
      await con.run(
        `CREATE TABLE src AS SELECT *, (row_number() OVER () - 1) // ${FLUSH_ROWS} AS slice
         FROM read_parquet(${sqlString(eventsGlob(lakeDir))}, hive_partitioning = true)`,
      );
      const slices = Number((await queryPlain(con, 'SELECT max(slice) + 1 AS n FROM src')).rows[0]!.n);
      const totals: Record<string, { seconds: number[]; cpu: number[]; bytes: number }> = {};
      for (let run = 1; run <= a.runs; run++) {
        for (const codec of run % 2 ? ['zstd', 'snappy'] : ['snappy', 'zstd']) {
          const out = path.join(work, `duckdb-${codec}`);
          rmSync(out, { recursive: true, force: true });
          mkdirSync(out, { recursive: true });
          const options = PARQUET_COPY_OPTIONS.replace(/COMPRESSION \w+/, `COMPRESSION ${codec}`);
          const start = performance.now();
          const cpu = process.cpuUsage();
          for (let s = 0; s < slices; s++) {
            await con.run(
              `COPY (SELECT * EXCLUDE (slice) FROM src WHERE slice = ${s})
               TO ${sqlString(path.join(out, String(s)))}
               (${options}, PARTITION_BY (event_date), FILENAME_PATTERN 'data_{i}')`,
            );
          }
          const seconds = (performance.now() - start) / 1000;
          const t = (totals[codec] ??= { seconds: [], cpu: [], bytes: 0 });
          t.seconds.push(seconds);
          t.cpu.push(cpuSeconds(cpu));
          t.bytes = folderBytes(out);
          console.log(
            `DuckDB COPY ${codec}, run ${run}: ${seconds.toFixed(2)} s, ${t.cpu.at(-1)!.toFixed(2)} CPU s, ` +
              `${MiB(t.bytes)} MiB`,
          );
        }
      }
      const best = (c: string, k: 'seconds' | 'cpu') => Math.min(...totals[c]![k]);
      const ratio = (k: 'seconds' | 'cpu') => (best('zstd', k) / best('snappy', k)).toFixed(3);
      console.log(
        `zstd / snappy: size ${(totals.zstd!.bytes / totals.snappy!.bytes).toFixed(3)}, best of ${a.runs}: ` +
          `write time ${ratio('seconds')}, CPU ${ratio('cpu')}`,
      );
    } finally {
      db.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
