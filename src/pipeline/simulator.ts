/**
 * The traffic simulator, the reference's boto3 script: reads events, stamps `txn_timestamp` at send
 * time and puts each as a JSON record with partition key `category_id` (by default) into stream 1.
 * Pacing: as fast as the stream takes them, a fixed rate, or event time replayed X times faster.
 */
import { encodeRecord } from '../core/codec.js';
import type { ClickEvent } from '../core/event.js';
import { isoUtc } from '../core/time.js';
import type { PutEntry, StreamWriter } from '../streams/types.js';

export type PartitionKeyField = 'category_id' | 'user_id' | 'user_session' | 'product_id';

export type Pace =
  { mode: 'max' } | { mode: 'rate'; eventsPerSecond: number } | { mode: 'speed'; factor: number };

export interface SimulatorOptions {
  events: AsyncIterable<ClickEvent[]>;
  stream: StreamWriter;
  partitionKey?: PartitionKeyField;
  pace?: Pace;
  /** Stop after this many events. */
  limit?: number;
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
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

function keyOf(e: ClickEvent, field: PartitionKeyField): string {
  const v = e[field];
  // Kinesis rejects an empty partition key; a row without a session still needs one.
  return v === null || v === '' ? '-' : String(v);
}

export async function runSimulator(opts: SimulatorOptions): Promise<SimulatorStats> {
  const now = opts.now ?? Date.now;
  const field = opts.partitionKey ?? 'category_id';
  const pace = opts.pace ?? { mode: 'max' };
  const limit = opts.limit ?? Infinity;
  const started = now();
  const stats: SimulatorStats = {
    sent: 0,
    firstEventTime: null,
    lastEventTime: null,
    seconds: 0,
    shards: {},
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
    for (const r of results) stats.shards[r.shardId] = (stats.shards[r.shardId] ?? 0) + 1;
    stats.sent += batch.length;
    stats.lastEventTime = batch[batch.length - 1]!.event_time;
    opts.onProgress?.(stats.sent);
  };

  let done = false;
  for await (const events of opts.events) {
    let pending: ClickEvent[] = [];
    for (const e of events) {
      if (opts.signal?.aborted || stats.sent + pending.length >= limit) {
        done = true;
        break;
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
