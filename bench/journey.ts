/**
 * Live journey rollups benchmark (core/journey/, pipeline/journey-feed.ts), in two parts:
 *
 *   npm run build && node dist/bench/journey.js --part throughput [--events 2000000] [--runs 3]
 *   node --expose-gc dist/bench/journey.js --part memory [--events 10000000] [--per-day 1400000]
 *   node dist/bench/journey.js --part store [--events 2000000]
 *
 * - throughput: the processor as a user runs it, `storepulse process` over an embedded stream that
 *   `storepulse simulate --max` filled once (4 shards, every default rule, checkpoints at their
 *   defaults, SQLite alert store, no lake, no stream 2), with `--no-journey` and with the rollups
 *   (journey.sqlite); and the rollups alone (Rollups over the events in memory) against DuckDB
 *   computing the same per-minute aggregates over a loaded table (counts by type, revenue,
 *   approx_count_distinct of users and sessions, per-category, per-brand and per-product tallies).
 *   Each phase runs in a child process of its own (a fresh consumer name each time); phases
 *   alternate run by run and the median counts.
 * - memory: readEvents → JourneyFeed (batches of 500, watermark at the newest time seen) → journey.sqlite
 *   over a file of REES46's density (1.4M events a day); every --every events: heap after a full GC,
 *   the checkpoint snapshot's size, open sessions. At the end, distinct users and sessions per day
 *   from the stored hour buckets against DuckDB's exact count(DISTINCT) over the same file.
 *
 * - store (`--part store`): the embedded store chosen for the buckets. The same run's changes (every
 *   flush of a 2M-event replay, batches of 500, a flush every 20 batches) written to SQLite
 *   (better-sqlite3, as SqliteRollupStore does) and to DuckDB (INSERT OR REPLACE on the same primary
 *   key, one transaction per flush), then the live view's read (the last hour of minute buckets).
 *
 * Data: bench/detect-common.ts `dataset` (storepulse generate --attacks all, made once and reused).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_CONFIG } from '../src/core/config.js';
import type { ClickEvent } from '../src/core/event.js';
import { figuresOf } from '../src/core/journey/query.js';
import { Rollups, type StoredBucket } from '../src/core/journey/rollups.js';
import { JourneyFeed } from '../src/pipeline/journey-feed.js';
import { readEvents } from '../src/sources/reader.js';
import { SqliteRollupStore } from '../src/stores/sqlite/rollup-store.js';
import {
  type Args,
  CLI,
  dataset,
  readCsv,
  fmt,
  machine,
  median,
  MiB,
  parseArgs,
  peakRssMiB,
  table,
} from './detect-common.js';

const BATCH = 500;
const journeyConfig = DEFAULT_CONFIG.journey;
const newRollups = () =>
  new Rollups({
    timeOf: (e) => e.event_time,
    sessionGapMs: journeyConfig.sessionGapMinutes * 60_000,
  });

interface PhaseResult {
  ms: number;
  events: number;
  rssMiB: number;
  /** Rows (DuckDB) or buckets (ours) produced, to show both did the work. */
  out: number;
}

const PHASES = {
  off: 'storepulse process --no-lake --no-journey',
  on: 'storepulse process --no-lake (rollups to journey.sqlite)',
  'lake-off': 'storepulse process --no-journey (lake on, the default)',
  'lake-on': 'storepulse process (lake and rollups, the defaults)',
  rollups: 'Rollups alone, events in memory',
  duck: 'DuckDB per-minute aggregates, loaded table, 1 thread',
  'duck-all': 'DuckDB per-minute aggregates, loaded table, default threads',
} as const;
type Phase = keyof typeof PHASES;

async function loadEvents(file: string): Promise<ClickEvent[]> {
  const all: ClickEvent[] = [];
  for await (const batch of readEvents(file, { threads: 1 })) for (const e of batch) all.push(e);
  return all;
}

/** A data folder holding the file replayed into `embedded://bench` (made once per file, reused). */
function replayed(file: string): string {
  const dir = `${file}.stream`;
  if (existsSync(path.join(dir, 'ready'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`replaying ${file} into ${dir}\n`);
  const r = spawnSync(
    process.execPath,
    [CLI, '-q', '--data-dir', dir, 'simulate', file, '--to', 'embedded://bench', '--max'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error(`simulate failed (exit ${r.status})`);
  writeFileSync(path.join(dir, 'ready'), '');
  return dir;
}

let consumerRuns = 0;

/** `storepulse process` over the replayed stream, timed from spawn to exit; with the lake, a fresh one. */
function processRun(file: string, journey: boolean, lake: boolean): PhaseResult {
  const dir = replayed(file);
  rmSync(path.join(dir, 'lake'), { recursive: true, force: true });
  const consumer = `bench-${process.pid}-${consumerRuns++}`;
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      '-q',
      '--data-dir',
      dir,
      'process',
      '--from',
      'embedded://bench',
      '--consumer',
      consumer,
      '--alerts-to',
      'none',
      ...(lake ? [] : ['--no-lake']),
      ...(journey ? [] : ['--no-journey']),
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`process failed (exit ${r.status})`);
  const stats = JSON.parse(r.stdout) as { records: number; journey: { events: number } | null };
  return { ms, events: stats.records, rssMiB: NaN, out: stats.journey?.events ?? 0 };
}

async function rollupsAlone(file: string): Promise<PhaseResult> {
  const events = await loadEvents(file);
  const t0 = performance.now();
  const r = newRollups();
  let out = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    r.add(batch);
    r.advance(batch[batch.length - 1]!.event_time);
    if ((i / BATCH) % 200 === 0) out += r.takeChanges().minutes.length;
  }
  r.drain();
  out += r.takeChanges().minutes.length;
  return { ms: performance.now() - t0, events: events.length, rssMiB: peakRssMiB(), out };
}

/** The rollups' per-minute work in SQL: totals and distinct counts, then the three tallies. */
const DUCK_QUERIES = [
  `SELECT time_bucket(INTERVAL 1 MINUTE, event_time) AS m, count(*) FILTER (WHERE event_type = 'view') AS views,
     count(*) FILTER (WHERE event_type = 'cart') AS carts, count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
     count(*) FILTER (WHERE event_type = 'remove_from_cart') AS removes,
     sum(price) FILTER (WHERE event_type = 'purchase') AS revenue,
     approx_count_distinct(user_id) AS users, approx_count_distinct(user_session) AS sessions
   FROM t GROUP BY 1`,
  ...["COALESCE(NULLIF(category_code, ''), category_id)", 'brand', 'product_id'].map(
    (key) => `SELECT time_bucket(INTERVAL 1 MINUTE, event_time) AS m, ${key} AS k, count(*) AS events,
       count(*) FILTER (WHERE event_type = 'view') AS views, count(*) FILTER (WHERE event_type = 'cart') AS carts,
       count(*) FILTER (WHERE event_type = 'purchase') AS purchases, sum(price) FILTER (WHERE event_type = 'purchase') AS revenue
     FROM t GROUP BY 1, 2`,
  ),
];

async function duckdb(file: string, threads?: number): Promise<PhaseResult> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  if (threads !== undefined) await con.run(`SET threads = ${threads}`);
  await con.run(`CREATE TABLE t AS SELECT * FROM ${readCsv(file)}`);
  const events = Number((await con.runAndReadAll('SELECT count(*) FROM t')).getRowsJS()[0]![0]);
  const t0 = performance.now();
  let out = 0;
  for (const sql of DUCK_QUERIES) out += (await con.runAndReadAll(sql)).getRowsJS().length;
  const ms = performance.now() - t0;
  con.closeSync();
  inst.closeSync();
  return { ms, events, rssMiB: peakRssMiB(), out };
}

async function child(a: Args): Promise<void> {
  const file = a.file!;
  const run: Record<Phase, () => Promise<PhaseResult>> = {
    off: async () => processRun(file, false, false),
    on: async () => processRun(file, true, false),
    'lake-off': async () => processRun(file, false, true),
    'lake-on': async () => processRun(file, true, true),
    rollups: () => rollupsAlone(file),
    duck: () => duckdb(file, 1),
    'duck-all': () => duckdb(file),
  };
  process.stdout.write(`${JSON.stringify(await run[a.phase as Phase]())}\n`);
}

function runChild(file: string, phase: Phase): PhaseResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--phase', phase, '--file', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`phase ${phase} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PhaseResult;
}

async function throughput(a: Args): Promise<void> {
  const file = dataset(a);
  const phases = Object.keys(PHASES) as Phase[];
  const results = new Map<Phase, PhaseResult[]>(phases.map((p) => [p, []]));
  for (let i = 0; i < a.runs; i++) {
    for (const p of phases) {
      const r = runChild(file, p);
      results.get(p)!.push(r);
      process.stderr.write(`run ${i + 1} ${p}: ${fmt(r.ms)} ms\n`);
    }
  }
  const ms = (p: Phase) => median(results.get(p)!.map((r) => r.ms));
  const events = results.get('off')![0]!.events;
  const eps = (p: Phase) => (events / ms(p)) * 1000;
  const rows = [['phase', 'median ms', 'events/s', 'peak RSS', 'output rows']];
  for (const p of phases) {
    const rs = results.get(p)!;
    rows.push([
      PHASES[p],
      fmt(ms(p)),
      fmt(eps(p)),
      // A CLI phase's RSS is the child's, not measured here.
      rs[0]!.rssMiB === null || Number.isNaN(rs[0]!.rssMiB)
        ? 'n/a'
        : `${fmt(Math.max(...rs.map((r) => r.rssMiB)))} MiB`,
      fmt(rs[0]!.out),
    ]);
  }
  const ratio = (x: Phase, y: Phase) => [`${x} / ${y}`, (eps(x) / eps(y)).toFixed(2)];
  process.stdout.write(
    [
      `file: ${file} (${fmt(statSync(file).size / MiB, 1)} MiB, ${fmt(events)} events), median of ${a.runs} runs`,
      machine(),
      '',
      table(rows),
      '',
      table([
        ['ratio of events/s', ''],
        ratio('on', 'off'),
        ratio('lake-on', 'lake-off'),
        ratio('rollups', 'duck'),
        ratio('rollups', 'duck-all'),
      ]),
      '',
    ].join('\n'),
  );
}

async function memory(a: Args): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const file = dataset(a);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-journey-'));
  const store = new SqliteRollupStore(path.join(dir, 'journey.sqlite'));
  const feed = new JourneyFeed({ store, config: journeyConfig }, (e) => e.event_time, Date.now);
  const rows = [['events', 'seconds', 'heap after GC', 'snapshot', 'open sessions', 'RSS']];
  const t0 = performance.now();
  let events = 0;
  let next = a.every;
  try {
    for await (const batch of readEvents(file, { threads: 1 })) {
      for (let i = 0; i < batch.length; i += BATCH) {
        const part = batch.slice(i, i + BATCH);
        feed.push(part, [], part[part.length - 1]!.event_time);
      }
      await feed.flush();
      events += batch.length;
      if (events >= next) {
        gc();
        const snapshot = JSON.stringify(feed.rollups.snapshot()).length;
        rows.push([
          fmt(events),
          fmt((performance.now() - t0) / 1000, 1),
          `${fmt(process.memoryUsage().heapUsed / MiB)} MiB`,
          `${fmt(snapshot / MiB, 2)} MiB`,
          fmt(feed.rollups.stats().openSessions),
          `${fmt(process.memoryUsage().rss / MiB)} MiB`,
        ]);
        next += a.every;
      }
    }
    await feed.finish(true);
    // The exact counts from DuckDB over the same file; ours from the stored hour buckets of each day.
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    const exact = (
      await con.runAndReadAll(`SELECT strftime(event_time, '%Y-%m-%d') AS day, count(DISTINCT user_id) AS users,
          count(DISTINCT user_session) AS sessions FROM ${readCsv(file)} GROUP BY 1 ORDER BY 1`)
    ).getRowObjectsJS() as { day: string; users: bigint; sessions: bigint }[];
    con.closeSync();
    inst.closeSync();
    const errors = [['day', 'users exact', 'users HLL', 'error', 'sessions exact', 'sessions HLL', 'error']];
    const err = (est: number, n: number) => `${((100 * (est - n)) / n).toFixed(3)}%`;
    for (const d of exact) {
      const from = Date.parse(`${d.day}T00:00:00Z`);
      const to = from + 86_400_000;
      const f = figuresOf(await store.range('hour', from, to), { from, to, grain: 'hour' });
      const users = Number(d.users);
      const sessions = Number(d.sessions);
      errors.push([
        d.day,
        fmt(users),
        fmt(f.totals.users),
        err(f.totals.users, users),
        fmt(sessions),
        fmt(f.totals.sessions),
        err(f.totals.sessions, sessions),
      ]);
    }
    process.stdout.write(
      [`file: ${file} (${fmt(events)} events)`, machine(), '', table(rows), '', table(errors), ''].join('\n'),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function store(a: Args): Promise<void> {
  const file = dataset(a);
  const events = await loadEvents(file);
  const r = newRollups();
  const flushes: { buckets: StoredBucket[]; stats: ReturnType<Rollups['stats']> }[] = [];
  for (let i = 0; i < events.length; i += BATCH) {
    const part = events.slice(i, i + BATCH);
    r.add(part);
    r.advance(part[part.length - 1]!.event_time);
    if ((i / BATCH) % 20 === 19) flushes.push({ buckets: r.takeChanges().minutes, stats: r.stats() });
  }
  r.drain();
  flushes.push({ buckets: r.takeChanges().minutes, stats: r.stats() });
  const rows = flushes.reduce((n, f) => n + f.buckets.length, 0);
  const newest = r.stats().newest!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-journey-'));
  try {
    const sqlite = new SqliteRollupStore(path.join(dir, 'journey.sqlite'));
    let t0 = performance.now();
    for (const f of flushes) await sqlite.put(f.buckets, f.stats, 0);
    const sqliteWrite = performance.now() - t0;
    t0 = performance.now();
    const got = await sqlite.range('minute', newest - 3_600_000, newest + 1);
    figuresOf(got, { from: newest - 3_600_000, to: newest + 1, grain: 'minute' });
    const sqliteRead = performance.now() - t0;
    await sqlite.close();

    const inst = await DuckDBInstance.create(path.join(dir, 'journey.duckdb'));
    const con = await inst.connect();
    await con.run(`CREATE TABLE buckets (grain VARCHAR, start BIGINT, final BOOLEAN, data BLOB,
      PRIMARY KEY (grain, start))`);
    const { deflateRawSync, inflateRawSync } = await import('node:zlib');
    const insert = await con.prepare('INSERT OR REPLACE INTO buckets VALUES ($1, $2, $3, $4)');
    t0 = performance.now();
    for (const f of flushes) {
      await con.run('BEGIN');
      for (const b of f.buckets) {
        insert.bindVarchar(1, b.grain);
        insert.bindBigInt(2, BigInt(b.start));
        insert.bindBoolean(3, b.final);
        insert.bindBlob(4, deflateRawSync(JSON.stringify(b.data), { level: 1 }));
        await insert.run();
      }
      await con.run('COMMIT');
    }
    const duckWrite = performance.now() - t0;
    t0 = performance.now();
    const read = (
      await con.runAndReadAll(
        `SELECT grain, start, final, data FROM buckets WHERE grain = 'minute' AND start >= ${newest - 3_600_000} ORDER BY start`,
      )
    ).getRowObjectsJS() as { grain: 'minute'; start: bigint; final: boolean; data: Uint8Array }[];
    figuresOf(
      read.map((x) => ({
        grain: x.grain,
        start: Number(x.start),
        final: x.final,
        data: JSON.parse(inflateRawSync(x.data).toString('utf8')) as StoredBucket['data'],
      })),
      { from: newest - 3_600_000, to: newest + 1, grain: 'minute' },
    );
    const duckRead = performance.now() - t0;
    con.closeSync();
    inst.closeSync();
    process.stdout.write(
      [
        `file: ${file} (${fmt(events.length)} events): ${fmt(flushes.length)} flushes, ${fmt(rows)} bucket writes`,
        machine(),
        '',
        table([
          ['store', 'write all flushes', 'per flush', 'live read (last hour, minutes)'],
          [
            'SQLite (better-sqlite3, WAL)',
            `${fmt(sqliteWrite)} ms`,
            `${fmt(sqliteWrite / flushes.length, 2)} ms`,
            `${fmt(sqliteRead)} ms`,
          ],
          [
            'DuckDB (INSERT OR REPLACE)',
            `${fmt(duckWrite)} ms`,
            `${fmt(duckWrite / flushes.length, 2)} ms`,
            `${fmt(duckRead)} ms`,
          ],
        ]),
        '',
        `DuckDB / SQLite write time: ${(duckWrite / sqliteWrite).toFixed(1)}x`,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const phase = argv.indexOf('--phase');
  if (phase >= 0) {
    const file = argv[argv.indexOf('--file') + 1]!;
    return child({ ...parseArgs([]), file, phase: argv[phase + 1] });
  }
  const a = parseArgs(argv);
  if (a.part === 'memory') await memory(a);
  else if (a.part === 'store') await store(a);
  else await throughput(a);
}

await main();
