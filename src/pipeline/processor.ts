/**
 * The stream processor: decodes stream-1 records, runs the detector (core/rules/detector.ts: the
 * configured rules, early firing) with a watermark per shard (the minimum over shards, as Flink does
 * over Kinesis shards), puts alerts on stream 2, stores them, notifies, and hands every valid event
 * to the lake sink (the reference's Firehose copy).
 *
 * Resumable runs (a durable stream): every so often the lake is flushed and the consumer checkpoint
 * saves the stream positions with the detector's state (windows, cooldowns, traffic baseline). After a crash the run restarts from
 * that checkpoint: records the lake already holds (its published progress) are not written again,
 * and re-fired alerts keep their ids, so the store keeps one of each and notifies none twice.
 */
import type { Alert } from '../core/alert.js';
import { decodeRecord } from '../core/codec.js';
import type { DetectConfig } from '../core/config.js';
import type { ClickEvent } from '../core/event.js';
import { isRejection } from '../core/row.js';
import { Detector, type DetectorStats } from '../core/rules/detector.js';
import type { AlertMetrics } from '../metrics/types.js';
import type { AlertStore } from '../stores/types.js';
import type { DeadLetterSink } from '../sources/deadletter.js';
import {
  compareSequenceNumbers,
  type PutEntry,
  type StreamReader,
  type StreamWriter,
} from '../streams/types.js';
import { failpoint } from '../core/failpoint.js';
import { EventOrder } from './event-order.js';
import { GroupQueue } from './group-queue.js';

type LakeRecord = { event: ClickEvent; shard: string; seq: string };

/** What the lake writer takes (src/lake/writer.ts). */
export interface EventSink {
  write(records: LakeRecord[]): Promise<void>;
  /** Resolves once everything written so far is durable; later writes need not wait for it. */
  seal(): Promise<void>;
}

type Positions = Record<string, string>;

/** Where a resumable run saves its progress (streams/consumer.ts). */
export interface Checkpointer {
  /** State of the checkpoint the run starts from. */
  readonly restoredState: string | undefined;
  /** The positions of every record handed out so far. */
  handedOut(): Positions;
  /** Saves `positions` with `state` as one checkpoint. */
  commit(state: string, positions: Positions): Promise<void>;
}

export interface CheckpointOptions {
  to: Checkpointer;
  /** Wall ms between checkpoints (default 5000). */
  everyMs?: number;
  /** Records between checkpoints (default 200,000). */
  everyRecords?: number;
}

export interface ProcessorOptions {
  reader: StreamReader;
  detect: DetectConfig;
  store: AlertStore;
  /**
   * The durable outbox (notify/outbox.ts): every alert fired is enqueued before it is stored, so a
   * crash between the two loses no notification; enqueueing is idempotent per alert and notifier.
   */
  outbox?: { enqueue(alerts: readonly Alert[]): Promise<number> };
  /** Alerts new to the store, and the run's totals. */
  metrics?: readonly AlertMetrics[];
  lake?: EventSink;
  /** Where records that do not decode go, with shard, sequence number and reason. */
  deadLetter?: DeadLetterSink;
  onProgress?: (stats: ProcessorStats) => void;
  /** Resumable run: checkpoints, and a stop (signal) keeps open windows for the next run. */
  checkpoint?: CheckpointOptions;
  /** Shard → last sequence number the lake holds already: records up to it are not written again. */
  lakeHas?: Readonly<Record<string, string>>;
  /** Stream 2: every alert fired, as a JSON record keyed by user, before it is stored. */
  alertStream?: StreamWriter;
  signal?: AbortSignal;
  now?: () => number;
  /** A shard silent this long (wall ms) stops holding the watermark back (Flink's idleness). */
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
}

interface ProcessorState {
  /** The detector's snapshot (absent in checkpoints of versions before the rule set: start fresh). */
  detector?: string;
  /** Events read but not yet detected on: they wait for the other shards (event-order.ts). */
  pending?: ClickEvent[];
  newest: Record<string, number>;
}

/** Where the events a checkpoint held back go back in on restore: ahead of every shard. */
const RESTORED = '(restored)';

/** A stream-2 record: the reference's `{user_id, num_actions_per_watermark}` plus the whole alert. */
export function alertRecord(a: Alert): PutEntry {
  return {
    partitionKey: a.key,
    data: JSON.stringify({ ...a, num_actions_per_watermark: a.count }),
  };
}

export async function runProcessor(opts: ProcessorOptions): Promise<ProcessorStats> {
  const detector = new Detector(opts.detect, opts.now);
  const now = opts.now ?? Date.now;
  const idleMs = opts.idleShardMs ?? 2000;
  const started = now();
  const shards = new Map<string, { newest: number; heardAt: number }>();
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
  };
  const order = new EventOrder((e) => detector.timeOf(e));
  const cp = opts.checkpoint;
  if (cp?.to.restoredState !== undefined) {
    const state = JSON.parse(cp.to.restoredState) as ProcessorState;
    if (state.detector !== undefined) detector.restore(state.detector);
    order.push(RESTORED, state.pending ?? []);
    for (const [id, newest] of Object.entries(state.newest)) shards.set(id, { newest, heardAt: started });
  }
  const lakeHas = new Map(Object.entries(opts.lakeHas ?? {}));
  let sinceCheckpoint = 0;
  let checkpointedAt = now();
  // Time spent flushing and acting is not silence of the shards: their idle clocks skip it, or a
  // slow checkpoint would make every other shard look idle and their records late.
  const paused = async (work: () => Promise<void>) => {
    const from = now();
    await work();
    const spent = now() - from;
    for (const s of shards.values()) s.heardAt += spent;
  };
  // A checkpoint takes the positions and the matching state at once, then saves them in the
  // background once the lake holds those records and their alerts are on stream 2: detection goes
  // on meanwhile (a lake flush is a Parquet write of up to a few hundred ms). One is saved at a time;
  // the next checkpoint (or the end of the run) waits for it and throws what it threw.
  let saving: Promise<void> = Promise.resolve();
  const checkpoint = () =>
    paused(async () => {
      await saving;
      const positions = cp!.to.handedOut();
      const newest: Record<string, number> = {};
      for (const [id, s] of shards) if (Number.isFinite(s.newest)) newest[id] = s.newest;
      const state = JSON.stringify({
        detector: detector.snapshot(),
        pending: order.snapshot(),
        newest,
      } satisfies ProcessorState);
      // The lake may have taken records read after `positions` when it seals: it is then ahead of
      // the checkpoint, which a restart handles (records the lake holds are not written again).
      const published = lakeWrites?.written().then(() => opts.lake!.seal());
      const acted = actions.written();
      saving = (async () => {
        await Promise.all([published, acted]);
        failpoint('process.after-lake-flush');
        await cp!.to.commit(state, positions);
        stats.checkpoints++;
      })();
      // Observed by the next `await saving`; this only stops an "unhandled rejection" in between.
      saving.catch(() => undefined);
      sinceCheckpoint = 0;
      checkpointedAt = now();
    });

  const act = async (alerts: Alert[]) => {
    if (alerts.length === 0) return;
    stats.alerts += alerts.length;
    await opts.alertStream?.putRecords(alerts.map(alertRecord));
    failpoint('process.after-alert-stream');
    // The outbox keeps one entry per alert and notifier, so a replay pages nobody twice.
    if (opts.outbox) stats.notified += await opts.outbox.enqueue(alerts);
    const fresh = await opts.store.put(alerts);
    stats.newAlerts += fresh.length;
    if (fresh.length > 0) for (const m of opts.metrics ?? []) m.recordAlerts(fresh);
  };
  // Both run beside detection, in order (the lake's writes wait while it writes out a full buffer);
  // a checkpoint waits for them in the background.
  const actions = new GroupQueue(act, 10_000);
  const lakeWrites =
    opts.lake && new GroupQueue((records: LakeRecord[]) => opts.lake!.write(records), 100_000);

  for await (const batch of opts.reader.batches(opts.signal)) {
    const events: ClickEvent[] = [];
    const lakeRecords: LakeRecord[] = [];
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
    const held = lakeHas.get(batch.shardId);
    if (held !== undefined) {
      const fresh = lakeRecords.filter((r) => compareSequenceNumbers(r.seq, held) > 0);
      stats.lakeSkipped += lakeRecords.length - fresh.length;
      if (fresh.length === lakeRecords.length) lakeHas.delete(batch.shardId);
      lakeRecords.splice(0, lakeRecords.length, ...fresh);
    }
    stats.events += events.length;
    if (lakeWrites && lakeRecords.length > 0) {
      await paused(() => lakeWrites.push(lakeRecords));
      stats.lakeRows += lakeRecords.length;
    }
    let newest = -Infinity;
    for (const e of events) newest = Math.max(newest, detector.timeOf(e) ?? -Infinity);
    const ready = order.push(batch.shardId, events);
    const t = now();
    const shard = shards.get(batch.shardId) ?? { newest: -Infinity, heardAt: t };
    shard.newest = Math.max(shard.newest, newest);
    shard.heardAt = t;
    shards.set(batch.shardId, shard);
    const wm = watermark(opts.reader.shardIds(), shards, t, idleMs, started);
    if (wm !== undefined) ready.push(...order.release(wm));
    const { alerts } = detector.add(ready);
    if (wm !== undefined) alerts.push(...detector.advance(wm));
    await actions.push(alerts);
    stats.detector = detector.getStats();
    sinceCheckpoint += batch.records.length;
    if (
      cp &&
      (sinceCheckpoint >= (cp.everyRecords ?? 200_000) || now() - checkpointedAt >= (cp.everyMs ?? 5000))
    ) {
      await checkpoint();
    }
    for (const m of opts.metrics ?? []) m.recordProgress?.(totals(stats));
    opts.onProgress?.(stats);
  }
  if (cp) {
    // Saved before the final firing, so that records appended later still find their windows open.
    await checkpoint();
    await saving;
    // Stopped by a signal: the open windows wait in the checkpoint for the next run.
    if (opts.signal?.aborted) return stats;
  }
  // End of input (or a stop without checkpoints): what waited for other shards goes in, and every
  // open window fires, as on a bounded source.
  const last = detector.add(order.drain()).alerts;
  await actions.push([...last, ...detector.flush()]);
  await actions.written();
  await lakeWrites?.written();
  stats.detector = detector.getStats();
  return stats;
}

function totals(s: ProcessorStats) {
  return { events: s.events, late: s.detector.late, rejected: s.rejected, alerts: s.alerts };
}

/**
 * The minimum newest event time over the shards that are not idle. A shard that never spoke holds the
 * watermark until it has been silent for `idleMs` since the start; undefined while nothing may move.
 */
function watermark(
  ids: readonly string[],
  shards: ReadonlyMap<string, { newest: number; heardAt: number }>,
  now: number,
  idleMs: number,
  started: number,
): number | undefined {
  let min = Infinity;
  for (const id of ids) {
    const s = shards.get(id);
    if (!s) {
      if (now - started < idleMs) return undefined;
      continue;
    }
    if (now - s.heardAt > idleMs) continue;
    if (s.newest < min) min = s.newest;
  }
  return Number.isFinite(min) ? min : undefined;
}
