/**
 * Part 3 of bench/detect.ts: memory as events grow. readEvents (1 thread) → Detector with every rule
 * (the default set and the reference rule) in this process, sampling RSS and heap every --every
 * events; with --processor instead, the same events through runProcessor over a bounded MemoryStream (a
 * producer encodes and puts while the processor reads, as simulate and process do over a stream).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeRecord } from '../src/core/codec.js';
import { DEFAULT_CONFIG } from '../src/core/config.js';
import { Detector } from '../src/core/rules/detector.js';
import { isoUtc } from '../src/core/time.js';
import { runProcessor } from '../src/pipeline/processor.js';
import { readEvents } from '../src/sources/reader.js';
import { SqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import { MemoryStream } from '../src/streams/memory/stream.js';
import { type Args, dataset, fmt, machine, MiB, peakRssMiB, table } from './detect-common.js';

const BATCH = 500;
const HIGH_WATER_MARK = 50_000;

interface Sample {
  events: number;
  seconds: number;
  rssMiB: number;
  heapMiB: number;
  openKeys: number;
}

function sample(events: number, t0: number, openKeys: number): Sample {
  const m = process.memoryUsage();
  return {
    events,
    seconds: (performance.now() - t0) / 1000,
    rssMiB: m.rss / MiB,
    heapMiB: m.heapUsed / MiB,
    openKeys,
  };
}

async function detectorSeries(file: string, every: number): Promise<Sample[]> {
  const d = new Detector({ ...DEFAULT_CONFIG.detect, reference: true });
  const out: Sample[] = [];
  const t0 = performance.now();
  let events = 0;
  let next = every;
  for await (const batch of readEvents(file, { threads: 1 })) {
    for (let i = 0; i < batch.length; i += BATCH) {
      const { newest } = d.add(batch.slice(i, i + BATCH));
      if (Number.isFinite(newest)) d.advance(newest);
    }
    events += batch.length;
    if (events >= next) {
      out.push(sample(events, t0, d.getStats().openKeys));
      next += every;
    }
  }
  d.flush();
  out.push(sample(events, t0, d.getStats().openKeys));
  return out;
}

async function processorSeries(file: string, every: number): Promise<Sample[]> {
  const stream = new MemoryStream({ name: 'bench', shards: 4, highWaterMark: HIGH_WATER_MARK });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-detect-'));
  const store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'));
  const out: Sample[] = [];
  const t0 = performance.now();
  const produce = (async () => {
    for await (const batch of readEvents(file, { threads: 1 })) {
      const txn = isoUtc(Date.now());
      for (let i = 0; i < batch.length; i += BATCH) {
        await stream.putRecords(
          batch.slice(i, i + BATCH).map((e) => ({ partitionKey: e.category_id, data: encodeRecord(e, txn) })),
        );
      }
    }
    await stream.close();
  })();
  let next = every;
  try {
    const stats = await runProcessor({
      reader: stream,
      detect: { ...DEFAULT_CONFIG.detect, reference: true },
      store,
      onProgress: (s) => {
        if (s.records >= next) {
          out.push(sample(s.records, t0, s.detector.openKeys));
          next += every;
        }
      },
    });
    await produce;
    out.push(sample(stats.records, t0, stats.detector.openKeys));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function print(title: string, s: Sample[]): string {
  const rows = [['events', 'seconds', 'events/s', 'RSS', 'heap used', 'open keys']];
  for (const x of s) {
    rows.push([
      fmt(x.events),
      fmt(x.seconds, 1),
      fmt(x.events / x.seconds),
      `${fmt(x.rssMiB)} MiB`,
      `${fmt(x.heapMiB)} MiB`,
      fmt(x.openKeys),
    ]);
  }
  return `${title}\n${table(rows)}\npeak RSS ${fmt(peakRssMiB())} MiB (target <= 1,024 MiB)\n`;
}

export async function memory(a: Args): Promise<void> {
  const file = dataset(a);
  const header = `file: ${file} (${fmt(statSync(file).size / MiB)} MiB, ${fmt(a.events)} events)\n${machine()}\n`;
  process.stdout.write(header);
  try {
    // One series per invocation, so that the peak RSS printed is that series' own.
    if (!a.processor) {
      process.stdout.write(
        print(
          'readEvents (1 thread) → Detector, default rules + reference',
          await detectorSeries(file, a.every),
        ),
      );
    } else {
      process.stdout.write(
        print(
          `runProcessor over a MemoryStream (highWaterMark ${fmt(HIGH_WATER_MARK)}), SQLite store, no lake`,
          await processorSeries(file, a.every),
        ),
      );
    }
  } finally {
    if (!a.keep && !a.file) rmSync(file, { force: true });
  }
}
