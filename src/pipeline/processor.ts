/**
 * The stream processor: decodes stream-1 records, puts the shards' events back in event-time order
 * (event-order.ts) under a watermark over the shards (shard-clock.ts), runs the detector
 * (core/rules/detector.ts: the configured rules, early firing), acts on its alerts (alert-actions.ts:
 * stream 2, outbox, store), hands every valid event to the lake (lake-feed.ts: the reference's
 * Firehose copy) and keeps the live journey rollups for marketing (journey-feed.ts).
 *
 * Resumable runs (a durable stream) checkpoint every so often (checkpoints.ts): the stream positions
 * with the state that matches them (processor-state.ts), committed once the lake and the alert
 * actions have caught up with them. After a crash the run restarts from that checkpoint: records the
 * lake already holds are not written again, and re-fired alerts keep their ids, so the store keeps
 * one of each and notifies none twice.
 */
import { decodeRecord } from '../core/codec.js';
import type { DetectConfig } from '../core/config.js';
import type { ClickEvent } from '../core/event.js';
import { isRejection } from '../core/row.js';
import type { RollupStats } from '../core/journey/rollups.js';
import { Detector, type DetectorStats } from '../core/rules/detector.js';
import type { DeadLetterSink } from '../sources/deadletter.js';
import type { ShardBatch, StreamReader } from '../streams/types.js';
import { AlertActions, type AlertTargets } from './alert-actions.js';
import { type Checkpointer, Checkpoints } from './checkpoints.js';
import { EventOrder } from './event-order.js';
import { JourneyFeed, type JourneyTarget } from './journey-feed.js';
import { type EventSink, LakeFeed, type StreamLakeRecord } from './lake-feed.js';
import { restoreState, saveState } from './processor-state.js';
import { CHECKPOINT_DEFAULTS } from './options.js';
import { alignReader, caughtUpOf, ShardClock } from './shard-clock.js';

export interface CheckpointOptions {
  to: Checkpointer;
  /** Wall ms between checkpoints (default CHECKPOINT_DEFAULTS, options.ts). */
  everyMs?: number;
  /** Records between checkpoints (default CHECKPOINT_DEFAULTS, options.ts). */
  everyRecords?: number;
}

/** Where alerts go (store, outbox, metrics, stream 2): alert-actions.ts. */
export interface ProcessorOptions extends AlertTargets {
  reader: StreamReader;
  detect: DetectConfig;
  lake?: EventSink;
  /** The live journey rollups and their store; absent: none kept. */
  journey?: JourneyTarget;
  /** Where records that do not decode go, with shard, sequence number and reason. */
  deadLetter?: DeadLetterSink;
  onProgress?: (stats: ProcessorStats) => void;
  /** Resumable run: checkpoints, and a stop (signal) keeps open windows for the next run. */
  checkpoint?: CheckpointOptions;
  /** Shard → last sequence number the lake holds already: records up to it are not written again. */
  lakeHas?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  now?: () => number;
  /**
   * A shard silent this long (wall ms) stops holding the watermark back (Flink's idleness), once the
   * reader says it has nothing left to read (shard-clock.ts).
   */
  idleShardMs?: number;
}

export interface ProcessorStats {
  records: number;
  events: number;
  rejected: number;
  alerts: number;
  newAlerts: number;
  /** Notifications queued in the outbox (one per alert and notifier that takes its severity). */
  notified: number;
  lakeRows: number;
  /** Records skipped for the lake because it held them already (after a crash). */
  lakeSkipped: number;
  checkpoints: number;
  detector: DetectorStats;
  /** The journey rollups' own figures; null when they are off. */
  journey: RollupStats | null;
}

export async function runProcessor(opts: ProcessorOptions): Promise<ProcessorStats> {
  const detector = new Detector(opts.detect, opts.now);
  const now = opts.now ?? Date.now;
  const clock = new ShardClock(opts.idleShardMs ?? 2000, now(), caughtUpOf(opts.reader));
  alignReader(opts.reader, clock);
  const order = new EventOrder((e) => detector.timeOf(e));
  const stats: ProcessorStats = {
    records: 0,
    events: 0,
    rejected: 0,
    alerts: 0,
    newAlerts: 0,
    notified: 0,
    lakeRows: 0,
    lakeSkipped: 0,
    checkpoints: 0,
    detector: detector.getStats(),
    journey: null,
  };
  const journey = opts.journey && new JourneyFeed(opts.journey, (e) => detector.timeOf(e), now);
  const parts = { detector, order, clock, journey: journey?.rollups };
  const cp = opts.checkpoint;
  if (cp?.to.restoredState !== undefined) restoreState(cp.to.restoredState, parts);
  const actions = new AlertActions(opts, stats);
  const lake = opts.lake && new LakeFeed(opts.lake, opts.lakeHas, stats);
  const checkpoints =
    cp &&
    new Checkpoints({
      to: cp.to,
      everyRecords: cp.everyRecords ?? CHECKPOINT_DEFAULTS.everyRecords,
      everyMs: cp.everyMs ?? CHECKPOINT_DEFAULTS.everyMs,
      now,
      state: () => saveState(parts),
      alertsActed: () => actions.written(),
      lakeSealed: lake && (() => lake.sealed()),
      onSaved: () => stats.checkpoints++,
    });
  // Waiting on the lake or on a checkpoint is not silence of the shards (ShardClock.pause).
  const paused = async (work: () => Promise<void>) => {
    const from = now();
    await work();
    clock.pause(now() - from);
  };

  for await (const batch of opts.reader.batches(opts.signal)) {
    const { events, lakeRecords } = decode(batch, opts, stats);
    if (lake && lakeRecords.length > 0) await paused(() => lake.push(batch.shardId, lakeRecords));
    const newest = newestTime(events, detector);
    const ready = order.push(batch.shardId, events);
    const t = now();
    clock.heard(batch.shardId, newest, t);
    const wm = clock.watermark(opts.reader.shardIds(), t);
    if (wm !== undefined) append(ready, order.release(wm));
    const { alerts } = detector.add(ready);
    if (wm !== undefined) append(alerts, detector.advance(wm));
    await actions.push(alerts);
    journey?.push(ready, alerts, wm);
    stats.detector = detector.getStats();
    // The journey's changes go to its store before a checkpoint takes the state (journey-feed.ts).
    if (checkpoints?.due(batch.records.length)) {
      await paused(async () => {
        await journey?.flush();
        await checkpoints.take();
      });
    } else if (journey?.due()) await paused(() => journey.flush());
    if (journey) stats.journey = journey.rollups.stats();
    for (const m of opts.metrics ?? []) m.recordProgress?.(totals(stats));
    opts.onProgress?.(stats);
  }
  if (checkpoints) {
    // Saved before the final firing, so that records appended later still find their windows open.
    await paused(async () => {
      await journey?.flush();
      await checkpoints.take();
    });
    await checkpoints.saved();
    // Stopped by a signal: the open windows (and sessions) wait in the checkpoint for the next run.
    if (opts.signal?.aborted) {
      await journey?.finish(false);
      return stats;
    }
  }
  // End of input (or a stop without checkpoints): what waited for other shards goes in, and every
  // open window fires, as on a bounded source; every session ends.
  const drained = order.drain();
  const last = [...detector.add(drained).alerts, ...detector.flush()];
  await actions.push(last);
  journey?.push(drained, last, undefined);
  await journey?.finish(true);
  await actions.written();
  await lake?.written();
  stats.detector = detector.getStats();
  if (journey) stats.journey = journey.rollups.stats();
  return stats;
}

/** A batch's valid events, and the same as lake records; what does not decode goes to the dead letter. */
function decode(
  batch: ShardBatch,
  opts: Pick<ProcessorOptions, 'reader' | 'deadLetter'>,
  stats: Pick<ProcessorStats, 'records' | 'rejected' | 'events'>,
): { events: ClickEvent[]; lakeRecords: StreamLakeRecord[] } {
  const events: ClickEvent[] = [];
  const lakeRecords: StreamLakeRecord[] = [];
  for (const rec of batch.records) {
    stats.records++;
    const ev = decodeRecord(rec.data);
    if (isRejection(ev)) {
      stats.rejected++;
      opts.deadLetter?.write({
        source: `${opts.reader.name}/${rec.shardId}`,
        line: Number(rec.sequenceNumber),
        raw: rec.data,
        reason: ev.reason,
        detail: ev.detail,
      });
      continue;
    }
    events.push(ev);
    lakeRecords.push({ event: ev, shard: rec.shardId, seq: rec.sequenceNumber });
  }
  stats.events += events.length;
  return { events, lakeRecords };
}

/** The newest event time of a batch (-Infinity when none has a time). */
function newestTime(events: readonly ClickEvent[], detector: Detector): number {
  let newest = -Infinity;
  for (const e of events) newest = Math.max(newest, detector.timeOf(e) ?? -Infinity);
  return newest;
}

/**
 * Appends in a loop: `push(...items)` passes every item as an argument, and a backlog released at
 * once (a shard silent for a while, hundreds of thousands of events) exceeds the call stack.
 */
function append<T>(to: T[], items: readonly T[]): void {
  for (const x of items) to.push(x);
}

function totals(s: ProcessorStats) {
  return { events: s.events, late: s.detector.late, rejected: s.rejected, alerts: s.alerts };
}
