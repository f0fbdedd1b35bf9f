/**
 * What one detect invocation does with its batch (one shard's records): open them (records.ts), keep
 * the ones after the shard's last applied position, write them as the shard's next chunk on the
 * condition that the chunk number is free (state.ts), then run detector steps until that chunk is
 * merged (detector-step.ts). A retried, bisected or partially failed batch therefore applies each
 * record once; a failure before the chunk is written, or before it is merged, reports the batch's
 * first new record as failed, so Lambda delivers it again and the retry finds what was done.
 */
import { decodeRecord } from '../../core/codec.js';
import type { ClickEvent } from '../../core/event.js';
import { backoffMs } from '../../core/retry.js';
import { isRejection } from '../../core/row.js';
import { sleep } from '../../core/sleep.js';
import { detectorStep, listedShards, type StepContext } from './detector-step.js';
import { comparePosition, type Opened, openRecords, type Position, type UserRecord } from './records.js';
import { gzipJson, type ShardProgress } from './state.js';
import { type BatchResponse, failFrom, type KinesisEvent, shardOfEvent } from './types.js';

/** Gzip bytes a chunk may take (below DynamoDB's 400 KB item, with room for its other attributes). */
const CHUNK_BYTES = 350_000;
/** Detector steps tried before the invocation gives up and lets Lambda deliver the batch again. */
const MAX_STEPS = 50;

export interface DetectHooks {
  /** Called once the batch's chunk is written, before detection: a test makes the invocation fail there. */
  afterAppend?: () => void;
  /** Called once a detector step is committed, before its alerts go to stream 2. */
  afterCommit?: () => void;
}

export interface DetectResult extends BatchResponse {
  /** Records new to the shard (not applied before), valid or not. */
  fresh: number;
  deadLetters: number;
  steps: number;
}

const NONE: Position = { sequenceNumber: '0', subSequence: -1 };

export async function detectBatch(
  ctx: StepContext,
  event: KinesisEvent,
  hooks: DetectHooks = {},
): Promise<DetectResult> {
  const result: DetectResult = { batchItemFailures: [], fresh: 0, deadLetters: 0, steps: 0 };
  const first = event.Records[0];
  if (!first) return result;
  const shardId = shardOfEvent(first);
  const opened = openRecords(event.Records);
  let chunk: number;
  try {
    const applied = await append(ctx, shardId, opened, result);
    chunk = applied.chunk;
    hooks.afterAppend?.();
  } catch (err) {
    return failFrom(result, first.kinesis.sequenceNumber, 'detect batch', err);
  }
  try {
    const listed = await listedShards(ctx, first.eventSourceARN, shardId);
    for (let attempt = 0; ; attempt++) {
      const head = await ctx.state.head();
      if (chunk === 0 || (head?.merged[shardId] ?? 0) >= chunk) {
        // A step committed alerts and crashed before putting them (this retry may be its own):
        // a step puts them now, even when no new record comes to trigger one.
        if (head && !head.alertsPut) await detectorStep(ctx, head, { listed });
        break;
      }
      const step = await detectorStep(ctx, head, { afterCommit: hooks.afterCommit, listed });
      result.steps++;
      if ((step.head?.merged[shardId] ?? 0) >= chunk) break;
      if (attempt >= MAX_STEPS)
        throw new Error(`chunk ${chunk} of ${shardId} not merged after ${attempt} steps`);
      if (!step.committed) await sleep(backoffMs(attempt, { baseMs: 20, capMs: 500 }));
    }
  } catch (err) {
    // The records are applied (their chunk is written): the retry skips them and only detects.
    return failFrom(result, first.kinesis.sequenceNumber, 'detect batch', err);
  }
  return result;
}

/**
 * Writes the records after the shard's last applied position as its next chunk(s); returns the
 * shard's newest chunk number (0: nothing applied from it yet).
 */
async function append(
  ctx: StepContext,
  shardId: string,
  opened: Opened,
  result: DetectResult,
): Promise<ShardProgress> {
  const { records } = opened;
  const { state } = ctx;
  for (let attempt = 0; ; attempt++) {
    const now = ctx.now();
    const pointer = await state.shardProgress(shardId);
    let p: ShardProgress = pointer ?? { shardId, chunk: 0, last: NONE, heardAt: now };
    // Chunks written by a delivery that crashed before moving the pointer: they count as applied.
    for (const c of await state.chunksAfter(shardId, p.chunk))
      p = { shardId, chunk: c.n, last: c.last, heardAt: c.heardAt };
    const fresh = records.filter((r) => comparePosition(r, p.last) > 0);
    // Records that did not open (KPL checksum, protobuf): dead letters, applied with the chunk.
    const unopened = opened.bad.filter((b) => comparePosition(b, p.last) > 0);
    if (fresh.length === 0 && unopened.length === 0) {
      if (p.chunk !== (pointer?.chunk ?? 0)) await state.setProgress(pointer?.chunk, p);
      return p;
    }
    const rejects = unopened.map((b) => ({ shardId, position: b, reason: b.reason, raw: b.raw }));
    const parts = chunksOf(fresh, rejects, ctx.detect.timeField, newestPosition(fresh, unopened));
    await state.deadLetter(rejects, now);
    let won = true;
    for (const part of parts) {
      if (!(await state.putChunk(shardId, p.chunk + 1, part, now))) {
        won = false;
        break;
      }
      p = { shardId, chunk: p.chunk + 1, last: part.last, heardAt: now };
    }
    if (won) {
      result.fresh += fresh.length;
      result.deadLetters += rejects.length;
      await state.setProgress(pointer?.chunk, p);
      return p;
    }
    // Another delivery of this shard wrote that chunk first: start again from what it wrote.
    if (attempt >= MAX_STEPS)
      throw new Error(`shard ${shardId}: chunk ${p.chunk + 1} taken ${attempt} times`);
  }
}

/** Decodes records into chunks of at most CHUNK_BYTES gzip each; rejects go to `rejects`. */
function chunksOf(
  records: readonly UserRecord[],
  rejects: { shardId: string; position: Position; reason: string; raw: string }[],
  timeField: StepContext['detect']['timeField'],
  lastPosition: Position,
): { data: Buffer; newest: number; last: Position }[] {
  const events: ClickEvent[] = [];
  const at: number[] = [];
  records.forEach((r, i) => {
    const ev = decodeRecord(r.data);
    if (isRejection(ev)) {
      rejects.push({
        shardId: r.shardId,
        position: r,
        reason: ev.detail ? `${ev.reason}: ${ev.detail}` : ev.reason,
        raw: r.data.slice(0, 1024),
      });
      return;
    }
    events.push(ev);
    at.push(i);
  });
  const out: { data: Buffer; newest: number; last: Position }[] = [];
  const cut = (from: number, to: number, lastRecord: number | Position): void => {
    const slice = events.slice(from, to);
    const data = gzipJson(slice);
    if (data.length > CHUNK_BYTES && to - from > 1) {
      const mid = (from + to) >> 1;
      cut(from, mid, at[mid - 1]!);
      cut(mid, to, lastRecord);
      return;
    }
    let newest = -Infinity;
    // The detector's time field, as the processor's ShardClock takes it.
    for (const e of slice)
      newest = Math.max(newest, (timeField === 'event_time' ? e.event_time : e.txn_timestamp) ?? -Infinity);
    const r = typeof lastRecord === 'number' ? records[lastRecord]! : lastRecord;
    out.push({ data, newest, last: { sequenceNumber: r.sequenceNumber, subSequence: r.subSequence } });
  };
  cut(0, events.length, lastPosition);
  return out;
}

/**
 * The end of stream 1 (a stream being retired, or a test's bounded input): one final step releases
 * what waits for other shards and fires every open window, as the processor does at the end of its
 * input. Every event after it is late, so a live deployment never calls it.
 */
export async function drainDetector(ctx: StepContext): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const step = await detectorStep(ctx, await ctx.state.head(), { final: true });
    if (step.committed) return step.alerts;
    if (attempt >= MAX_STEPS) throw new Error(`the final detector step lost ${attempt} times`);
    await sleep(backoffMs(attempt, { baseMs: 20, capMs: 500 }));
  }
}

/** The later of the last record that opened and the last that did not. */
function newestPosition(fresh: readonly Position[], unopened: readonly Position[]): Position {
  let best: Position = NONE;
  for (const p of [fresh[fresh.length - 1], unopened[unopened.length - 1]])
    if (p && comparePosition(p, best) > 0) best = p;
  return best;
}
