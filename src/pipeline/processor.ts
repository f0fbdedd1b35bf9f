/**
 * The stream processor: decodes stream-1 records, runs detection with a watermark per shard (the
 * minimum over shards, as Flink does over Kinesis shards), stores alerts, notifies high severity, and
 * hands every valid event to the lake sink (the reference's Firehose copy).
 */
import type { Alert, Severity } from '../core/alert.js';
import { decodeRecord } from '../core/codec.js';
import type { DetectConfig } from '../core/config.js';
import type { ClickEvent } from '../core/event.js';
import { isRejection } from '../core/row.js';
import { ReferenceRule, type DetectorStats } from '../core/rules/reference.js';
import type { Notifier } from '../notify/types.js';
import type { AlertStore } from '../stores/types.js';
import type { DeadLetterSink } from '../sources/deadletter.js';
import type { StreamReader } from '../streams/types.js';

/** What the lake writer takes (src/lake/writer.ts). */
export interface EventSink {
  write(records: { event: ClickEvent; shard?: string; seq?: string }[]): Promise<void>;
}

export interface ProcessorOptions {
  reader: StreamReader;
  detect: DetectConfig;
  store: AlertStore;
  notifier?: Notifier;
  /** Lowest severity that notifies (the reference: count > 10, i.e. high). */
  notifyMinSeverity?: Severity;
  lake?: EventSink;
  /** Where records that do not decode go, with shard, sequence number and reason. */
  deadLetter?: DeadLetterSink;
  onProgress?: (stats: ProcessorStats) => void;
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
  notified: number;
  lakeRows: number;
  detector: DetectorStats;
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

export async function runProcessor(opts: ProcessorOptions): Promise<ProcessorStats> {
  const rule = new ReferenceRule(opts.detect, opts.now);
  const minRank = SEVERITY_RANK[opts.notifyMinSeverity ?? 'high'];
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
    detector: rule.getStats(),
  };

  const act = async (alerts: Alert[]) => {
    if (alerts.length === 0) return;
    stats.alerts += alerts.length;
    // Only alerts the store had not seen notify, so a replay does not page anyone twice.
    const fresh = await opts.store.put(alerts);
    stats.newAlerts += fresh.length;
    const loud = fresh.filter((a) => SEVERITY_RANK[a.severity] >= minRank);
    if (loud.length > 0 && opts.notifier) {
      await opts.notifier.notify(loud);
      stats.notified += loud.length;
    }
  };

  for await (const batch of opts.reader.batches(opts.signal)) {
    const events: ClickEvent[] = [];
    const lakeRecords: { event: ClickEvent; shard: string; seq: string }[] = [];
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
    if (opts.lake && lakeRecords.length > 0) {
      await opts.lake.write(lakeRecords);
      stats.lakeRows += lakeRecords.length;
    }
    const newest = rule.add(events);
    const t = now();
    const shard = shards.get(batch.shardId) ?? { newest: -Infinity, heardAt: t };
    shard.newest = Math.max(shard.newest, newest);
    shard.heardAt = t;
    shards.set(batch.shardId, shard);
    const wm = watermark(opts.reader.shardIds(), shards, t, idleMs, started);
    if (wm !== undefined) await act(rule.advance(wm - rule.latenessMs));
    stats.detector = rule.getStats();
    opts.onProgress?.(stats);
  }
  // End of input (or stop): every open window fires, as Flink does on a bounded source.
  await act(rule.flush());
  stats.detector = rule.getStats();
  return stats;
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
