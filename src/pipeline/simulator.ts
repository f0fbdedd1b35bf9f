/**
 * The traffic simulator, the reference's boto3 script: reads events, stamps `txn_timestamp` at send
 * time and puts each as a JSON record with partition key `category_id` (by default) into stream 1.
 * Pacing: as fast as the stream takes them, a fixed rate, or event time replayed X times faster.
 */
import { encodeRecord } from '../core/codec.js';
import type { ClickEvent } from '../core/event.js';
import { isoUtc } from '../core/time.js';
import type { PutEntry, PutResult, StreamWriter } from '../streams/types.js';
import { failpoint } from '../core/failpoint.js';
import { PARTITION_KEY_FIELDS, SIMULATE_DEFAULTS } from './options.js';
import { sleep } from '../core/sleep.js';

export type PartitionKeyField = (typeof PARTITION_KEY_FIELDS)[number];

export type Pace =
  { mode: 'max' } | { mode: 'rate'; eventsPerSecond: number } | { mode: 'speed'; factor: number };

export interface SimulatorOptions {
  events: AsyncIterable<ClickEvent[]>;
  stream: StreamWriter;
  partitionKey?: PartitionKeyField;
  pace?: Pace;
  /** Stop after this many events. */
  limit?: number;
  /** Events at the start of the source that a previous run delivered already: not sent again. */
  skip?: number;
  /** Events after the skipped ones that are in the stream already (a resumed replay): not sent. */
  alreadySent?: (e: ClickEvent) => boolean;
  /** After each acknowledged put: events delivered in all (skipped + passed over + sent), the results. */
  onAcked?: (delivered: number, results: readonly PutResult[]) => Promise<void> | void;
  signal?: AbortSignal;
  onProgress?: (sent: number) => void;
  now?: () => number;
}

export interface SimulatorStats {
  sent: number;
  firstEventTime: number | null;
  lastEventTime: number | null;
  seconds: number;
  shards: Record<string, number>;
  /** Events found in the stream already on a resumed replay, and not sent again. */
  passedOver: number;
}

export function keyOf(e: ClickEvent, field: PartitionKeyField): string {
  const v = e[field];
  // Kinesis rejects an empty partition key; a row without a session still needs one.
  return v === null || v === '' ? '-' : String(v);
}

export async function runSimulator(opts: SimulatorOptions): Promise<SimulatorStats> {
  const now = opts.now ?? Date.now;
  const field = opts.partitionKey ?? SIMULATE_DEFAULTS.partitionKey;
  const pace = opts.pace ?? { mode: 'max' };
  const limit = opts.limit ?? Infinity;
  const skip = opts.skip ?? 0;
  let toSkip = skip;
  const started = now();
  const stats: SimulatorStats = {
    sent: 0,
    firstEventTime: null,
    lastEventTime: null,
    seconds: 0,
    shards: {},
    passedOver: 0,
  };

  // Wall-clock instant at which an event is due.
  const dueAt = (e: ClickEvent, index: number): number => {
    if (pace.mode === 'rate') return started + (index / pace.eventsPerSecond) * 1000;
    if (pace.mode === 'speed')
      return started + (e.event_time - (stats.firstEventTime ?? e.event_time)) / pace.factor;
    return 0;
  };

  const send = async (batch: ClickEvent[]) => {
    const sentAt = now();
    const sentIso = isoUtc(sentAt);
    const entries: PutEntry[] = batch.map((e) => {
      e.txn_timestamp = sentAt;
      return { partitionKey: keyOf(e, field), data: encodeRecord(e, sentIso) };
    });
    const results = await opts.stream.putRecords(entries);
    failpoint('simulate.after-put');
    for (const r of results) stats.shards[r.shardId] = (stats.shards[r.shardId] ?? 0) + 1;
    stats.sent += batch.length;
    stats.lastEventTime = batch[batch.length - 1]!.event_time;
    opts.onProgress?.(stats.sent);
    await opts.onAcked?.(skip + stats.passedOver + stats.sent, results);
  };

  let done = false;
  for await (const batch of opts.events) {
    let events = batch;
    if (toSkip > 0) {
      const n = Math.min(toSkip, events.length);
      toSkip -= n;
      events = events.slice(n);
    }
    let pending: ClickEvent[] = [];
    for (const e of events) {
      if (opts.signal?.aborted || stats.sent + pending.length >= limit) {
        done = true;
        break;
      }
      if (opts.alreadySent?.(e)) {
        stats.passedOver++;
        continue;
      }
      stats.firstEventTime ??= e.event_time;
      if (pace.mode !== 'max') {
        const wait = dueAt(e, stats.sent + pending.length) - now();
        // Send what is due now, then wait for this event's turn (10 ms granularity keeps batches useful).
        if (wait > 10) {
          if (pending.length > 0) await send(pending);
          pending = [];
          await sleep(wait, opts.signal);
          if (opts.signal?.aborted) {
            done = true;
            break;
          }
        }
      }
      pending.push(e);
    }
    if (pending.length > 0) await send(pending);
    if (done) break;
  }
  stats.seconds = (now() - started) / 1000;
  return stats;
}
