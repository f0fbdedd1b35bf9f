/**
 * Part 1 of bench/detect.ts: events/s of detection against DuckDB computing the reference rule's
 * windowed counts over the same file. Each phase runs in a child process of its own (so that its
 * peak RSS is its own and no phase pays for another's garbage); phases alternate run by run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { encodeRecord } from '../src/core/codec.js';
import { DEFAULT_CONFIG, type DetectConfig } from '../src/core/config.js';
import type { ClickEvent } from '../src/core/event.js';
import { Detector } from '../src/core/rules/detector.js';
import { REFERENCE_RULE } from '../src/core/rules/reference.js';
import { isoUtc } from '../src/core/time.js';
import { runProcessor } from '../src/pipeline/processor.js';
import { readEvents } from '../src/sources/reader.js';
import { SqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import { MemoryStream } from '../src/streams/memory/stream.js';
import type { PutEntry } from '../src/streams/types.js';
import {
  type Args,
  dataset,
  fmt,
  readCsv,
  machine,
  median,
  MiB,
  peakRssMiB,
  table,
} from './detect-common.js';

/** Events per detector call, as `storepulse simulate` sends them and the processor sees them live. */
const BATCH = 500;

interface PhaseResult {
  /** Timed part only. */
  ms: number;
  events: number;
  alerts: number;
  /** Alerts of the reference rule, or rows of the DuckDB query: the two must agree. */
  windows?: number;
  /** DuckDB: loading the table (not in `ms`). Ours: parsing the file into memory (not in `ms`). */
  loadMs?: number;
  rssMiB: number;
}

const PHASES = {
  detect: 'Detector, default rules (events in memory)',
  'detect-ref': 'Detector, default rules + reference (events in memory)',
  processor: 'runProcessor over a MemoryStream, SQLite store, no lake',
  e2e: 'readEvents (1 thread) + Detector, default rules, from the CSV',
  'e2e-ref': 'readEvents (1 thread) + Detector + reference, from the CSV',
  'duck-table-1': 'DuckDB GROUP BY over a loaded table, 1 thread',
  'duck-table': 'DuckDB GROUP BY over a loaded table, default threads',
  'duck-csv-1': 'DuckDB GROUP BY over read_csv, 1 thread',
  'duck-csv': 'DuckDB GROUP BY over read_csv, default threads',
} as const;
type Phase = keyof typeof PHASES;

const detectConfig = (reference: boolean): DetectConfig => ({ ...DEFAULT_CONFIG.detect, reference });

async function loadEvents(file: string): Promise<ClickEvent[]> {
  const all: ClickEvent[] = [];
  for await (const batch of readEvents(file, { threads: 1 })) for (const e of batch) all.push(e);
  return all;
}

function sliced(events: ClickEvent[]): ClickEvent[][] {
  const out: ClickEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) out.push(events.slice(i, i + BATCH));
  return out;
}

/** What the processor does per batch: add, then advance the watermark to the newest time seen. */
function detectBatch(d: Detector, batch: ClickEvent[]): number {
  const { alerts, newest } = d.add(batch);
  return alerts.length + (Number.isFinite(newest) ? d.advance(newest).length : 0);
}

function referenceAlerts(d: Detector): number | undefined {
  return d.getStats().rules[REFERENCE_RULE]?.alerts;
}

async function oursInMemory(file: string, reference: boolean): Promise<PhaseResult> {
  const l0 = performance.now();
  const batches = sliced(await loadEvents(file));
  const loadMs = performance.now() - l0;
  const t0 = performance.now();
  const d = new Detector(detectConfig(reference));
  let alerts = 0;
  let events = 0;
  for (const b of batches) {
    alerts += detectBatch(d, b);
    events += b.length;
  }
  alerts += d.flush().length;
  const ms = performance.now() - t0;
  return { ms, events, alerts, windows: referenceAlerts(d), loadMs, rssMiB: peakRssMiB() };
}

async function oursFromCsv(file: string, reference: boolean): Promise<PhaseResult> {
  const t0 = performance.now();
  const d = new Detector(detectConfig(reference));
  let alerts = 0;
  let events = 0;
  for await (const batch of readEvents(file, { threads: 1 })) {
    for (let i = 0; i < batch.length; i += BATCH) alerts += detectBatch(d, batch.slice(i, i + BATCH));
    events += batch.length;
  }
  alerts += d.flush().length;
  const ms = performance.now() - t0;
  return { ms, events, alerts, windows: referenceAlerts(d), rssMiB: peakRssMiB() };
}

async function oursProcessor(file: string): Promise<PhaseResult> {
  const l0 = performance.now();
  const events = await loadEvents(file);
  const stream = new MemoryStream({ name: 'bench', shards: 4, highWaterMark: Infinity });
  const txn = isoUtc(Date.now());
  for (let i = 0; i < events.length; i += BATCH) {
    const entries: PutEntry[] = events
      .slice(i, i + BATCH)
      .map((e) => ({ partitionKey: e.category_id, data: encodeRecord(e, txn) }));
    await stream.putRecords(entries);
  }
  events.length = 0;
  await stream.close();
  const loadMs = performance.now() - l0;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-detect-'));
  const store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'));
  try {
    const t0 = performance.now();
    const stats = await runProcessor({ reader: stream, detect: detectConfig(false), store });
    const ms = performance.now() - t0;
    return { ms, events: stats.records, alerts: stats.alerts, loadMs, rssMiB: peakRssMiB() };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const windowed = (from: string) =>
  `SELECT user_id, time_bucket(INTERVAL 10 SECOND, event_time) w, count(*) c FROM ${from}
    GROUP BY ALL HAVING count(*) > 5`;

async function duckdb(file: string, source: 'table' | 'csv', threads?: number): Promise<PhaseResult> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  if (threads !== undefined) await con.run(`SET threads = ${threads}`);
  let loadMs: number | undefined;
  let events: number;
  if (source === 'table') {
    const l0 = performance.now();
    await con.run(`CREATE TABLE t AS SELECT * FROM ${readCsv(file)}`);
    loadMs = performance.now() - l0;
    events = Number((await con.runAndReadAll('SELECT count(*) FROM t')).getRowsJS()[0]![0]);
  } else events = NaN;
  const t0 = performance.now();
  const rows = (await con.runAndReadAll(windowed(source === 'table' ? 't' : readCsv(file)))).getRowsJS();
  const ms = performance.now() - t0;
  con.closeSync();
  inst.closeSync();
  return { ms, events, alerts: rows.length, windows: rows.length, loadMs, rssMiB: peakRssMiB() };
}

export async function throughputChild(a: Args): Promise<void> {
  const file = a.file!;
  const phase = a.phase as Phase;
  const run: Record<Phase, () => Promise<PhaseResult>> = {
    detect: () => oursInMemory(file, false),
    'detect-ref': () => oursInMemory(file, true),
    processor: () => oursProcessor(file),
    e2e: () => oursFromCsv(file, false),
    'e2e-ref': () => oursFromCsv(file, true),
    'duck-table-1': () => duckdb(file, 'table', 1),
    'duck-table': () => duckdb(file, 'table'),
    'duck-csv-1': () => duckdb(file, 'csv', 1),
    'duck-csv': () => duckdb(file, 'csv'),
  };
  process.stdout.write(`${JSON.stringify(await run[phase]())}\n`);
}

function runChild(file: string, phase: Phase): PhaseResult {
  const self = path.join(path.dirname(fileURLToPath(import.meta.url)), 'detect.js');
  const r = spawnSync(process.execPath, [self, '--part', 'throughput', '--phase', phase, '--file', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`phase ${phase} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PhaseResult;
}

export async function throughput(a: Args): Promise<void> {
  const file = dataset(a);
  const phases = Object.keys(PHASES) as Phase[];
  const results = new Map<Phase, PhaseResult[]>(phases.map((p) => [p, []]));
  const loads: string[] = [];
  for (let i = 0; i < a.runs; i++) {
    loads.push(os.loadavg()[0]!.toFixed(2));
    for (const p of phases) {
      const r = runChild(file, p);
      results.get(p)!.push(r);
      process.stderr.write(`run ${i + 1} ${p}: ${fmt(r.ms)} ms, ${fmt(r.alerts)} alerts\n`);
    }
  }
  const events = results.get('detect')![0]!.events;
  const med = (p: Phase) => {
    const rs = results.get(p)!;
    return {
      ms: median(rs.map((r) => r.ms)),
      min: Math.min(...rs.map((r) => r.ms)),
      max: Math.max(...rs.map((r) => r.ms)),
      loadMs: rs[0]!.loadMs === undefined ? undefined : median(rs.map((r) => r.loadMs!)),
      rss: Math.max(...rs.map((r) => r.rssMiB)),
      alerts: rs[rs.length - 1]!.alerts,
      windows: rs[rs.length - 1]!.windows,
    };
  };
  const eps = (ms: number) => (events / ms) * 1000;
  const rows = [['phase', 'median ms', 'min–max ms', 'events/s', 'load ms', 'alerts', 'peak RSS']];
  for (const p of phases) {
    const m = med(p);
    rows.push([
      PHASES[p],
      fmt(m.ms),
      `${fmt(m.min)}–${fmt(m.max)}`,
      fmt(eps(m.ms)),
      m.loadMs === undefined ? '' : fmt(m.loadMs),
      fmt(m.alerts),
      `${fmt(m.rss)} MiB`,
    ]);
  }
  const pair = (ours: Phase, duck: Phase) => [
    `${ours} / ${duck}`,
    fmt(eps(med(ours).ms)),
    fmt(eps(med(duck).ms)),
    (med(duck).ms / med(ours).ms).toFixed(2),
  ];
  const ratios = [
    ['pairing (ours / DuckDB)', 'ours events/s', 'DuckDB events/s', 'ratio'],
    pair('detect', 'duck-table-1'),
    pair('detect', 'duck-table'),
    pair('detect-ref', 'duck-table-1'),
    pair('detect-ref', 'duck-table'),
    pair('processor', 'duck-table-1'),
    pair('e2e', 'duck-csv-1'),
    pair('e2e', 'duck-csv'),
    pair('e2e-ref', 'duck-csv-1'),
  ];
  const ref = med('detect-ref').windows;
  const duckRows = med('duck-table-1').windows;
  process.stdout.write(
    [
      `file: ${file} (${fmt(statSync(file).size / MiB, 1)} MiB, ${fmt(events)} events), ` +
        `median of ${a.runs} runs; batches of ${BATCH}; load average (1 min) at each run: ${loads.join(', ')}`,
      machine(),
      '',
      table(rows),
      '',
      table(ratios),
      '',
      `reference rule alerts ${fmt(ref ?? NaN)}, DuckDB windows over the threshold ${fmt(duckRows ?? NaN)}` +
        (ref === duckRows ? ' (agree)' : ' (DIFFER: late events or window alignment)'),
      '',
    ].join('\n'),
  );
}
