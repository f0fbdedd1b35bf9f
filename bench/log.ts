/**
 * Embedded log benchmark: append stream records with putRecords and read them all back with
 * readShard, against writing the same record bodies to a plain file with fs.writeSync (newline-
 * delimited, same batches) and reading them back with fs.readSync (same chunk size) + split.
 *
 *   npm run build && node dist/bench/log.js [--records 2000000] [--batch 500] [--shards 4] [--runs 3]
 *                                          [--durability interval|batch|none] [--batch-records 100000]
 *                                          [--dir DIR] [--pool 100000] [--seed 46]
 *
 * Records are the project's JSON stream records (core/codec.ts encodeRecord) of generated events
 * (a pool of distinct events, cycled), partition key category_id, as `storepulse simulate` sends them.
 * After the main run, a shorter run with durability 'batch' (one fsync per shard per batch) against
 * a plain file with one fdatasync per batch, unless --batch-records 0.
 *
 * Each phase (ours or plain, write or read) runs in a child process of its own, so that no phase
 * pays for the garbage of another; the sides alternate run by run, and the best run of each counts.
 * BENCH_DEBUG=1 also prints, per write, the split between puts and close/fsync, CPU and GC time.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { encodeRecord } from '../src/core/codec.js';
import { isoUtc } from '../src/core/time.js';
import { generateEvents } from '../src/sources/synthetic/generator.js';
import { READ_CHUNK } from '../src/streams/embedded/segment.js';
import { openEmbeddedStream } from '../src/streams/embedded/stream.js';
import type { PutEntry } from '../src/streams/types.js';

interface Args {
  records: number;
  batch: number;
  shards: number;
  runs: number;
  durability: 'interval' | 'batch' | 'none';
  batchRecords: number;
  dir: string;
  pool: number;
  seed: number;
  /** Child mode: run one phase and print its result as JSON. */
  phase?: Phase;
  total?: number;
}

type Phase = 'ours-write' | 'ours-read' | 'plain-write' | 'plain-read';

function parseArgs(argv: string[]): Args {
  const a: Args = {
    records: 2_000_000,
    batch: 500,
    shards: 4,
    runs: 3,
    durability: 'interval',
    batchRecords: 100_000,
    dir: path.join(os.tmpdir(), 'storepulse-bench-log'),
    pool: 100_000,
    seed: 46,
  };
  const num = (v: string | undefined) => Number(v?.replace(/_/g, ''));
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--records') a.records = num(v);
    else if (k === '--batch') a.batch = num(v);
    else if (k === '--shards') a.shards = num(v);
    else if (k === '--runs') a.runs = num(v);
    else if (k === '--durability') a.durability = v as Args['durability'];
    else if (k === '--batch-records') a.batchRecords = num(v);
    else if (k === '--dir') a.dir = v!;
    else if (k === '--pool') a.pool = num(v);
    else if (k === '--seed') a.seed = num(v);
    else if (k === '--phase') a.phase = v as Phase;
    else if (k === '--total') a.total = num(v);
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

function makePool(a: Args): PutEntry[] {
  const txn = isoUtc(Date.UTC(2024, 0, 15, 12, 0, 0));
  const pool: PutEntry[] = [];
  for (const e of generateEvents({ events: a.pool, seed: a.seed })) {
    pool.push({ partitionKey: e.category_id, data: encodeRecord(e, txn) });
  }
  // encodeRecord builds its string by concatenation: V8 keeps it as a rope until something flattens
  // it. Flatten the pool first, or the side that happens to flatten it in place (ours) would be
  // spared work on the later cycles that the other side (plain, which only concatenates) is not.
  return JSON.parse(JSON.stringify(pool)) as PutEntry[];
}

/** The batches both sides write: slices of the pool, cycled, `total` records in all. */
function* batches(pool: PutEntry[], total: number, size: number): Generator<PutEntry[]> {
  let at = 0;
  for (let done = 0; done < total; done += size) {
    const n = Math.min(size, total - done);
    if (at + n > pool.length) at = 0;
    yield pool.slice(at, at + n);
    at += n;
  }
}

let gcMs = 0;
if (process.env.BENCH_DEBUG) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  }).observe({ entryTypes: ['gc'] });
}

interface Run {
  ms: number;
  records: number;
  /** Sum of the record bodies' lengths: both sides must agree. */
  chars: number;
  /** Bytes on disk. */
  bytes: number;
}

async function oursWrite(
  pool: PutEntry[],
  a: Args,
  dir: string,
  total: number,
  durability: Args['durability'],
): Promise<Run> {
  rmSync(dir, { recursive: true, force: true });
  // Let the garbage collections of making the pool be reported before counting ours.
  if (process.env.BENCH_DEBUG) await new Promise((resolve) => setTimeout(resolve, 100));
  const c0 = process.cpuUsage();
  const g0 = gcMs;
  const t0 = performance.now();
  const s = await openEmbeddedStream({ dir, name: 'bench', mode: 'write', shards: a.shards, durability });
  let records = 0;
  let chars = 0;
  for (const b of batches(pool, total, a.batch)) {
    const res = await s.putRecords(b);
    records += res.length;
    for (const e of b) chars += e.data.length;
  }
  const t1 = performance.now();
  await s.close();
  const ms = performance.now() - t0;
  if (process.env.BENCH_DEBUG) {
    const c = process.cpuUsage(c0);
    process.stderr.write(
      `  puts ${fmt(t1 - t0)} ms, close ${fmt(ms - (t1 - t0))} ms; cpu user ${fmt(c.user / 1000)} ms, ` +
        `sys ${fmt(c.system / 1000)} ms, gc ${fmt(gcMs - g0)} ms\n`,
    );
  }
  const bytes = (await s.stats()).reduce((n, st) => n + (st.bytes ?? 0), 0);
  return { ms, records, chars, bytes };
}

async function oursRead(dir: string): Promise<Run> {
  const t0 = performance.now();
  const s = await openEmbeddedStream({ dir, name: 'bench', mode: 'read' });
  const shards = await s.listShards();
  const counts = await Promise.all(
    shards.map(async ({ shardId }) => {
      let records = 0;
      let chars = 0;
      for await (const r of s.readShard(shardId, { type: 'oldest' }, { untilCaughtUp: true })) {
        records += r.records.length;
        for (const rec of r.records) chars += rec.data.length;
      }
      return { records, chars };
    }),
  );
  await s.close();
  const ms = performance.now() - t0;
  const records = counts.reduce((n, c) => n + c.records, 0);
  const chars = counts.reduce((n, c) => n + c.chars, 0);
  return { ms, records, chars, bytes: 0 };
}

function plainWrite(pool: PutEntry[], a: Args, file: string, total: number, sync: boolean): Run {
  rmSync(file, { force: true });
  const t0 = performance.now();
  const fd = openSync(file, 'w');
  let records = 0;
  let chars = 0;
  for (const b of batches(pool, total, a.batch)) {
    let text = '';
    for (const e of b) {
      text += `${e.data}\n`;
      chars += e.data.length;
    }
    writeSync(fd, text);
    if (sync) fdatasyncSync(fd);
    records += b.length;
  }
  const t1 = performance.now();
  fdatasyncSync(fd);
  closeSync(fd);
  const ms = performance.now() - t0;
  if (process.env.BENCH_DEBUG)
    process.stderr.write(`  plain writes ${fmt(t1 - t0)} ms, fdatasync ${fmt(ms - (t1 - t0))} ms\n`);
  return { ms, records, chars, bytes: statSync(file).size };
}

function plainRead(file: string): Run {
  const t0 = performance.now();
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafeSlow(READ_CHUNK);
  let carry = '';
  let records = 0;
  let chars = 0;
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
    const lines = (carry + buf.toString('utf8', 0, n)).split('\n');
    carry = lines.pop()!;
    records += lines.length;
    for (const l of lines) chars += l.length;
  }
  closeSync(fd);
  return { ms: performance.now() - t0, records, chars, bytes: 0 };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function best(runs: Run[]): Run {
  return runs.reduce((b, r) => (r.ms < b.ms ? r : b));
}

/** Runs one phase in a child process; returns its result. */
function runPhase(a: Args, phase: Phase, total: number, durability: Args['durability']): Run {
  const self = fileURLToPath(import.meta.url);
  const args = [self, '--phase', phase, '--total', String(total), '--durability', durability];
  for (const k of ['batch', 'shards', 'pool', 'seed'] as const) args.push(`--${k}`, String(a[k]));
  args.push('--dir', a.dir);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${phase} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
}

async function child(a: Args): Promise<void> {
  const dir = path.join(a.dir, 'stream');
  const file = path.join(a.dir, 'plain.ndjson');
  const total = a.total!;
  const pool = a.phase!.endsWith('write') ? makePool(a) : [];
  let run: Run;
  if (a.phase === 'ours-write') run = await oursWrite(pool, a, dir, total, a.durability);
  else if (a.phase === 'ours-read') run = await oursRead(dir);
  else if (a.phase === 'plain-write') run = plainWrite(pool, a, file, total, a.durability === 'batch');
  else run = plainRead(file);
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

function compare(a: Args, total: number, durability: Args['durability']): string[] {
  mkdirSync(a.dir, { recursive: true });
  const w = { ours: [] as Run[], plain: [] as Run[] };
  const r = { ours: [] as Run[], plain: [] as Run[] };
  // Alternate the two sides run by run, so that load from elsewhere on the machine hits both alike.
  for (let i = 0; i < a.runs; i++) {
    const ow = runPhase(a, 'ours-write', total, durability);
    const or = runPhase(a, 'ours-read', total, durability);
    const pw = runPhase(a, 'plain-write', total, durability);
    const pr = runPhase(a, 'plain-read', total, durability);
    if (or.records !== total || pr.records !== total || or.chars !== pr.chars || ow.chars !== pw.chars) {
      throw new Error(`sides disagree: ${JSON.stringify({ ow, or, pw, pr })}`);
    }
    process.stderr.write(
      `run ${i + 1} (${durability}): write ours ${fmt(ow.ms)} ms, plain ${fmt(pw.ms)} ms; ` +
        `read ours ${fmt(or.ms)} ms, plain ${fmt(pr.ms)} ms\n`,
    );
    w.ours.push(ow);
    w.plain.push(pw);
    r.ours.push({ ...or, bytes: ow.bytes });
    r.plain.push({ ...pr, bytes: pw.bytes });
  }
  rmSync(a.dir, { recursive: true, force: true });
  const line = (name: string, x: Run) =>
    `${name.padEnd(44)} ${fmt(x.ms).padStart(7)} ms  ${fmt((x.records / x.ms) * 1000).padStart(10)} records/s  ` +
    `${fmt(x.bytes / 1048576 / (x.ms / 1000), 1).padStart(7)} MiB/s`;
  const bw = { ours: best(w.ours), plain: best(w.plain) };
  const br = { ours: best(r.ours), plain: best(r.plain) };
  const sync = durability === 'batch' ? ' + fdatasync per batch' : '';
  return [
    `${fmt(total)} records in batches of ${a.batch}, ${a.shards} shards, durability '${durability}', best of ${a.runs}`,
    `  ours ${fmt(bw.ours.bytes / 1048576, 1)} MiB on disk (frames), plain ${fmt(bw.plain.bytes / 1048576, 1)} MiB (NDJSON)`,
    `  ${line('write: putRecords', bw.ours)}`,
    `  ${line(`write: plain writeSync${sync}`, bw.plain)}`,
    `  ${line('read: readShard (all shards)', br.ours)}`,
    `  ${line('read: plain readSync + split', br.plain)}`,
    `  ratio ours/plain (records/s): write ${(bw.plain.ms / bw.ours.ms).toFixed(2)}, read ${(br.plain.ms / br.ours.ms).toFixed(2)}  (target >= 0.5)`,
  ];
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.phase) return child(a);
  const pool = makePool(a);
  const avg = pool.reduce((n, e) => n + Buffer.byteLength(e.data), 0) / pool.length;
  const out = [
    `records: ${fmt(pool.length)} distinct generated events (seed ${a.seed}), cycled; ${fmt(avg)} bytes on average`,
    `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, Node ${process.version}`,
    ...compare(a, a.records, a.durability),
  ];
  if (a.batchRecords > 0 && a.durability !== 'batch') out.push(...compare(a, a.batchRecords, 'batch'));
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
