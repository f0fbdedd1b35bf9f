/**
 * Lake maintenance benchmark: `lake compact` and `etl` against the same work in plain DuckDB SQL
 * (the same COPY per partition, nothing of ours around it), on a lake as `process` leaves it: the
 * real LakeWriter (flushRows 200,000) over the first N events of a month, with stream provenance.
 * Each measured step runs in a child process of its own (peak RSS is its own), on a fresh copy of
 * that lake, alternating ours and DuckDB, `--runs` times.
 *
 *   npm run build && node dist/bench/lake-maintain.js [--file /work/data/month.csv.gz]
 *       [--events 10000000] [--runs 2] [--dir DIR]
 *
 * The lake is built once per (file, events) and kept in DIR (default: the OS temp folder).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFlaggedUsers } from '../src/batch/flagged.js';
import { compactLake, parquetList } from '../src/lake/compact.js';
import { openDuckDB, sqlString } from '../src/lake/duckdb.js';
import { cleanRows, runEtl } from '../src/lake/etl.js';
import { listLakeFiles, listTableFiles, PARQUET_COPY_OPTIONS } from '../src/lake/layout.js';
import { LakeWriter } from '../src/lake/writer.js';
import { readEvents } from '../src/sources/reader.js';

type Step = 'compact' | 'compact-duckdb' | 'etl' | 'etl-duckdb';

interface Args {
  file: string;
  events: number;
  runs: number;
  dir: string;
  step?: Step;
  lake?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { file: '/work/data/month.csv.gz', events: 10_000_000, runs: 2, dir: os.tmpdir() };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]!];
    if (k === '--file') a.file = v;
    else if (k === '--events') a.events = Number(v.replace(/_/g, ''));
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--dir') a.dir = v;
    else if (k === '--step') a.step = v as Step;
    else if (k === '--lake') a.lake = v;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/** The attack users of a generated month (its labels file): what the alert store would flag. */
function flaggedUsers(file: string): number[] {
  const labels = `${file}.labels.json`;
  if (!existsSync(labels)) return [];
  const l = JSON.parse(readFileSync(labels, 'utf8')) as { attacks?: { user_ids?: number[] }[] };
  return [...new Set((l.attacks ?? []).flatMap((x) => x.user_ids ?? []))];
}

/** The lake `process` would leave: LakeWriter with its default flushRows, shard and sequence per record. */
async function buildLake(a: Args, lakeDir: string): Promise<void> {
  const w = await LakeWriter.open({ lakeDir, flushRows: 200_000 });
  const seqBase = 49590338271490256608559692538361571095921575989136588898n;
  const sendStart = Date.parse('2026-12-04T00:00:00Z');
  let n = 0;
  for await (const batch of readEvents(a.file)) {
    const take = batch.slice(0, a.events - n);
    await w.write(
      take.map((event, i) => ({
        event: { ...event, txn_timestamp: sendStart + Math.floor((n + i) / 100) },
        shard: `shardId-00000000000${event.product_id % 4}`,
        seq: String(seqBase + BigInt(n + i)),
      })),
    );
    n += take.length;
    if (n >= a.events) break;
  }
  await w.close();
}

/** Runs one step on `lake` and prints `{ ms, rows, files, bytes }` (after) for the parent. */
async function runStep(step: Step, lake: string, file: string): Promise<void> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  if (step === 'compact') await compactLake(lake);
  else if (step === 'etl') await runEtl(lake, { flaggedUsers: flaggedUsers(file) });
  else {
    const db = await openDuckDB();
    await createFlaggedUsers(db.connection, flaggedUsers(file));
    const files = await listLakeFiles(lake);
    const out = path.join(lake, step === 'compact-duckdb' ? 'events_compacted' : 'clean');
    for (const p of [...new Set(files.map((f) => f.partition))]) {
      const part = files.filter((f) => f.partition === p);
      const rows =
        step === 'compact-duckdb'
          ? `SELECT * FROM read_parquet(${parquetList(part)}, hive_partitioning = false, union_by_name = true)`
          : cleanRows(part);
      const dest = path.join(out, `event_date=${p}`);
      mkdirSync(dest, { recursive: true });
      await db.connection.run(
        `COPY (SELECT * FROM (${rows}) ORDER BY event_time) TO ${sqlString(path.join(dest, 'data_0.parquet'))} (${PARQUET_COPY_OPTIONS})`,
      );
    }
    db.close();
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const table = step === 'compact' ? 'events' : step === 'compact-duckdb' ? 'events_compacted' : 'clean';
  const after = await listTableFiles(lake, table);
  process.stdout.write(
    JSON.stringify({
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      files: after.length,
      bytes: after.reduce((s, f) => s + f.bytes, 0),
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

interface Result {
  ms: number;
  /** User and system CPU of the process (DuckDB's threads included): steadier than wall time on a busy machine. */
  cpuMs: number;
  files: number;
  bytes: number;
  maxRssMb: number;
}

function child(step: Step, lake: string, file: string): Result {
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--step', step, '--lake', lake, '--file', file],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`${step} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Result;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.step) return runStep(a.step, a.lake!, a.file);
  const base = path.join(a.dir, `storepulse-maintain-${path.basename(a.file)}-${a.events}`);
  const lake = path.join(base, 'lake');
  if (!existsSync(path.join(base, 'built'))) {
    rmSync(base, { recursive: true, force: true });
    const t = performance.now();
    await buildLake(a, lake);
    writeFileSync(path.join(base, 'built'), '');
    console.log(`built the lake in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const files = await listLakeFiles(lake);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(
    `lake: ${a.events.toLocaleString('en-US')} events of ${a.file}, ${files.length} files, ` +
      `${mb(files.reduce((s, f) => s + f.bytes, 0))} MB, ${new Set(files.map((f) => f.partition)).size} partitions`,
  );
  const show = (r: Result) =>
    `${(r.ms / 1000).toFixed(1)} s wall, ${(r.cpuMs / 1000).toFixed(1)} s cpu, ${r.files} files, ` +
    `${mb(r.bytes)} MB, peak RSS ${r.maxRssMb.toFixed(0)} MB`;
  const work = path.join(base, 'work');
  for (const [ours, duck] of [
    ['compact', 'compact-duckdb'],
    ['etl', 'etl-duckdb'],
  ] as const) {
    for (let run = 1; run <= a.runs; run++) {
      const r: Partial<Record<Step, Result>> = {};
      for (const step of run % 2 ? [ours, duck] : [duck, ours]) {
        rmSync(work, { recursive: true, force: true });
        cpSync(lake, work, { recursive: true });
        r[step] = child(step, work, a.file);
      }
      const o = r[ours]!;
      const d = r[duck]!;
      console.log(
        `${ours} run ${run}: ours ${show(o)} | DuckDB ${show(d)} | ratio DuckDB/ours: wall ` +
          `${(d.ms / o.ms).toFixed(2)}, cpu ${(d.cpuMs / o.cpuMs).toFixed(2)}`,
      );
    }
  }
  rmSync(work, { recursive: true, force: true });
}

await main();
