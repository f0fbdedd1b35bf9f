/**
 * The whole pipeline in one process: dataset → simulator → stream 1 (in-process) → processor
 * (detection, alert store, notifications) and lake writer → reports. `storepulse demo` prints it.
 */
import type { Severity } from '../core/alert.js';
import type { DetectConfig } from '../core/config.js';
import type { RejectReason } from '../core/row.js';
import type { ReportResult } from '../batch/reports.js';
import { runAllReports } from '../batch/reports.js';
import { LakeWriter, type LakeSummary } from '../lake/writer.js';
import type { AlertMetrics } from '../metrics/types.js';
import type { DeadLetterSink } from '../sources/deadletter.js';
import { readEvents } from '../sources/reader.js';
import type { AlertStore } from '../stores/types.js';
import { MemoryStream } from '../streams/memory/stream.js';
import { type ProcessorOptions, type ProcessorStats, runProcessor } from './processor.js';
import { type Pace, type PartitionKeyField, runSimulator, type SimulatorStats } from './simulator.js';

export interface DemoOptions {
  dataset: string;
  lakeDir: string;
  store: AlertStore;
  detect: DetectConfig;
  shards: number;
  partitionKey: PartitionKeyField;
  maxLineBytes: number;
  deadLetter: DeadLetterSink;
  outbox?: ProcessorOptions['outbox'];
  metrics?: readonly AlertMetrics[];
  journey?: ProcessorOptions['journey'];
  signal?: AbortSignal;
  /** Default: as fast as the pipeline goes. */
  pace?: Pace;
  /** Publish the lake's buffered rows this often (the dashboard's reports and SQL see them). */
  lakeSealMs?: number;
  /** The stream 1 the demo runs on (default: a new one); the dashboard reads its backlog. */
  stream?: MemoryStream;
  onProgress?: (read: number, processed: ProcessorStats) => void;
}

export interface DemoSummary {
  dataset: string;
  read: {
    rows: number;
    valid: number;
    rejected: number;
    rejectedByReason: Partial<Record<RejectReason, number>>;
  };
  simulated: SimulatorStats;
  processed: ProcessorStats;
  lake: LakeSummary & { dir: string };
  alerts: { total: number; bySeverity: Record<Severity, number>; users: number; alertedUsers: number[] };
  reports: ReportResult[];
  seconds: number;
}

/** Stream 1 of the demo: in memory, under the reference's name. */
export const demoStream = (shards: number) =>
  new MemoryStream({ name: 'ecommerce-raw-user-activity-stream-1', shards });

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const store = opts.store;
  const stream = opts.stream ?? demoStream(opts.shards);
  const lake = await LakeWriter.open({ lakeDir: opts.lakeDir });
  let lakeOpen = true;
  // A failed seal is kept by the writer and reported by close().
  const sealing = opts.lakeSealMs
    ? setInterval(() => void lake.seal().catch(() => undefined), opts.lakeSealMs)
    : undefined;
  try {
    const reader = readEvents(opts.dataset, {
      // The pipeline keeps both cores busy (the processor, DuckDB's lake writes): a parse worker
      // only competes with them (demo, 2M events: 46 s with it, 36 s without).
      threads: 1,
      maxLineBytes: opts.maxLineBytes,
      deadLetter: opts.deadLetter,
      signal: opts.signal,
    });
    let processedSoFar: ProcessorStats | undefined;
    const processing = runProcessor({
      reader: stream,
      detect: opts.detect,
      store,
      outbox: opts.outbox,
      metrics: opts.metrics,
      lake,
      journey: opts.journey,
      deadLetter: opts.deadLetter,
      onProgress: (s) => {
        processedSoFar = s;
      },
    });
    let simulated: SimulatorStats;
    try {
      simulated = await runSimulator({
        events: reader,
        stream,
        partitionKey: opts.partitionKey,
        pace: opts.pace,
        signal: opts.signal,
        onProgress: (n) => processedSoFar && opts.onProgress?.(n, processedSoFar),
      });
    } finally {
      // Whatever happened upstream, let the processor drain what was acknowledged.
      await stream.close();
    }
    const processed = await processing;
    clearInterval(sealing);
    const lakeSummary = await lake.close();
    lakeOpen = false;
    const counts = await store.counts();
    const alertedUsers = await store.alertedUsers();
    const reports =
      lakeSummary.rows > 0
        ? await runAllReports(opts.lakeDir, { limit: 10, flaggedUsers: alertedUsers })
        : [];
    const s = reader.stats;
    return {
      dataset: opts.dataset,
      read: { rows: s.rows, valid: s.valid, rejected: s.rejected, rejectedByReason: s.rejectedByReason },
      simulated,
      processed,
      lake: { ...lakeSummary, dir: opts.lakeDir },
      alerts: { ...counts, alertedUsers },
      reports,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    clearInterval(sealing);
    // On failure, still publish what was buffered: those events were read and processed.
    if (lakeOpen) await lake.close().catch(() => undefined);
  }
}
