/**
 * The parallel reader for plain CSV files. The file is cut into byte ranges, each parsed on its own
 * into columns (ranges.ts, columns.ts): by worker threads (parse-worker.ts), and by this thread in
 * turn with them. This thread builds the events from the columns and emits the ranges in file
 * order, so that batches, stats and dead-letter records are exactly the sequential reader's.
 *
 * A range starts at the line start after its nominal offset. That guess is wrong when a quoted field
 * holds a line feed across the boundary; the range before it then does not end at a row boundary.
 * Such a range, and the ones after it until the parse is back at a range boundary between rows, are
 * reparsed here sequentially (the results parsed for them are dropped). The same happens for a range
 * after ranges that held no row at all (its first row could have been the header).
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ClickEvent } from '../core/event.js';
import { StorepulseError, type StorepulseErrorCode } from '../core/errors.js';
import type { RejectReason } from '../core/row.js';
import { EventCursor } from './columns.js';
import { CsvEventParser, type RejectHandler } from './csv.js';
import { ChunkDecoder } from './decode.js';
import type { DeadLetterSink } from './deadletter.js';
import { inputError } from './open.js';
import type { RangeFailure } from './parse-worker.js';
import {
  PROBE_BYTES,
  type RangeResult,
  type RangeSetup,
  type RangeTask,
  asBuffer,
  parseRange,
  rangePieces,
} from './ranges.js';
import type { ReadStats } from './types.js';

/** Plain files from this size up get a parse worker (on 2 or more CPUs) unless `threads` says otherwise. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;
/** Nominal bytes per range. */
export const RANGE_BYTES = 1024 * 1024;
/** Ranges a worker holds at a time (one parsing, others waiting), so that it never waits for this thread. */
const WORKER_QUEUE = 3;
/** Ranges parsed so far in this process, by whom: for tests and the benchmark. */
export const rangeCounts = { worker: 0, here: 0, reparsed: 0 };

/** The built worker next to this module, or (running from the TypeScript sources) the one in dist/. */
export function parseWorkerUrl(): URL | null {
  for (const rel of ['./parse-worker.js', '../../dist/src/sources/parse-worker.js']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) return url;
  }
  return null;
}

export interface ParallelRead {
  path: string;
  size: number;
  name: string;
  stats: ReadStats;
  sink: DeadLetterSink | null;
  maxLineBytes: number;
  batchSize: number;
  signal?: AbortSignal;
  onProgress?: (stats: ReadStats) => void;
  /** Parsing threads, this one included (>= 2). */
  threads: number;
  rangeBytes: number;
  workerUrl: URL;
  /** @internal See ReadOptions.workersOnly. */
  workersOnly?: boolean;
}

interface Slot {
  worker: Worker;
  online: boolean;
  /** Ranges sent and not answered yet. */
  pending: Set<number>;
  dead: boolean;
}

/** What a range comes back as when its worker died: this thread parses it instead. */
const LOST = 'lost';

/** Parse workers; results are taken by range number. */
class WorkerPool {
  readonly slots: Slot[] = [];
  private readonly done = new Map<number, RangeResult | Error | typeof LOST>();
  private waiting: {
    k: number;
    resolve: (r: RangeResult | typeof LOST) => void;
    reject: (e: Error) => void;
  } | null = null;
  private failure: Error | null = null;
  private closing = false;

  constructor(
    url: URL,
    setup: RangeSetup,
    count: number,
    toError: (f: RangeFailure) => Error,
    onFree: () => void,
  ) {
    for (let i = 0; i < count; i++) {
      // No inherited Node options: a script given with `node -e` would run in the worker too.
      const worker = new Worker(url, { workerData: setup, execArgv: [] });
      const slot: Slot = { worker, online: false, pending: new Set(), dead: false };
      this.slots.push(slot);
      worker.once('online', () => {
        slot.online = true;
        onFree();
      });
      worker.on('message', (m: RangeResult | RangeFailure) => {
        slot.pending.delete(m.k);
        if (slot.pending.size === 0) worker.unref();
        this.done.set(m.k, 'error' in m ? toError(m) : m);
        this.wake();
        onFree();
      });
      // A worker that cannot start or dies leaves its ranges to this thread: slower, same result.
      const lost = () => {
        if (this.closing || slot.dead) return;
        slot.dead = true;
        worker.unref();
        for (const k of slot.pending) this.done.set(k, LOST);
        slot.pending.clear();
        this.wake();
      };
      worker.on('error', lost);
      worker.on('exit', lost);
      // Referenced only while it has work, so that an abandoned read does not keep the process
      // alive. After the listeners: adding a 'message' listener references the worker again.
      worker.unref();
    }
  }

  /** A worker that is up and holds fewer than WORKER_QUEUE ranges, if any. */
  free(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (
        s.online &&
        !s.dead &&
        s.pending.size < WORKER_QUEUE &&
        (!best || s.pending.size < best.pending.size)
      )
        best = s;
    }
    return best;
  }

  send(slot: Slot, task: RangeTask): void {
    if (slot.pending.size === 0) slot.worker.ref();
    slot.pending.add(task.k);
    slot.worker.postMessage(task);
  }

  /** Range k's result if it is here (throws the worker's error for it, or the failure). */
  poll(k: number): RangeResult | typeof LOST | undefined {
    if (this.failure) throw this.failure;
    const r = this.done.get(k);
    if (r === undefined) return undefined;
    this.done.delete(k);
    if (r instanceof Error) throw r;
    if (r !== LOST) rangeCounts.worker++;
    return r;
  }

  /** Range k's result, or LOST once no worker is left that could parse it. */
  take(k: number): Promise<RangeResult | typeof LOST> {
    return new Promise((resolve, reject) => {
      this.waiting = { k, resolve, reject };
      // Idle workers are unreferenced; the wait must keep the process alive even while range k has
      // not reached a worker yet (workersOnly, before they are online).
      for (const s of this.slots) if (!s.dead) s.worker.ref();
      this.wake();
    });
  }

  /** Stops every pending and later take(). */
  fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private wake(): void {
    const w = this.waiting;
    if (!w) return;
    // Once every worker is dead, a range that none was given (workersOnly waits for those) is lost too.
    if (this.failure === null && !this.done.has(w.k) && !this.slots.every((s) => s.dead)) return;
    this.waiting = null;
    for (const s of this.slots) if (!s.dead && s.pending.size === 0) s.worker.unref();
    try {
      w.resolve(this.poll(w.k) ?? LOST);
    } catch (err) {
      w.reject(err as Error);
    }
  }
}

function addReasons(
  into: Partial<Record<RejectReason, number>>,
  from: Partial<Record<RejectReason, number>>,
): void {
  for (const [reason, n] of Object.entries(from) as [RejectReason, number][]) {
    into[reason] = (into[reason] ?? 0) + n;
  }
}

/** Lets queued worker messages in. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function* readParallel(p: ParallelRead): AsyncGenerator<ClickEvent[], void, undefined> {
  const { stats, sink, name, size, signal, batchSize, rangeBytes } = p;
  const toError = (f: RangeFailure): Error =>
    f.error.storepulse
      ? new StorepulseError(f.error.code as StorepulseErrorCode, f.error.message)
      : inputError(name, 'csv', Object.assign(new Error(f.error.message), { code: f.error.code }));
  let fd: number;
  try {
    fd = openSync(p.path, 'r');
  } catch (err) {
    throw inputError(name, 'csv', err);
  }
  const setup: RangeSetup = { fd, size, source: name, maxLineBytes: p.maxLineBytes };
  const probe = Buffer.allocUnsafe(PROBE_BYTES);
  const count = Math.max(1, Math.ceil(size / rangeBytes));
  const task = (k: number): RangeTask => ({
    k,
    from: k * rangeBytes,
    to: Math.min(size, (k + 1) * rangeBytes),
  });
  // Ranges are handed out in order. A worker gets another while it holds fewer than WORKER_QUEUE.
  // This thread, which also builds every event, parses a range when none of the workers has the
  // one it must emit next, or when it would otherwise wait for a worker whose queue is full; it
  // keeps such columns until their turn. Nothing is handed out further than `window` past the last
  // range emitted, which bounds memory.
  const window = p.threads * WORKER_QUEUE + 2;
  let assigned = 0;
  let emitted = 0;
  const assign = () => {
    for (let s = pool.free(); s && assigned < count && assigned < emitted + window; s = pool.free()) {
      pool.send(s, task(assigned++));
    }
  };
  let pool: WorkerPool;
  try {
    pool = new WorkerPool(p.workerUrl, setup, p.threads - 1, toError, assign);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const here = new Map<number, RangeResult>();
  const parseHere = (k: number): RangeResult => {
    rangeCounts.here++;
    return parseRange(setup, task(k), probe).result;
  };
  const onAbort = () => pool.fail(signal!.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });

  let batch: ClickEvent[] = [];
  const rejectAt =
    (base: number): RejectHandler =>
    (line, raw, truncated, reason, detail) => {
      if (!sink) return;
      if (truncated) sink.write({ source: name, line: base + line, raw, truncated: true, reason, detail });
      else sink.write({ source: name, line: base + line, raw, reason, detail });
    };
  const headerSettled = () => stats.lines > stats.blankLines;

  // The sequential reparse, while one is running: its parser and the stats from before it.
  let seq: {
    parser: CsvEventParser;
    decoder: ChunkDecoder;
    before: Pick<ReadStats, 'lines' | 'blankLines' | 'valid' | 'rejected' | 'rejectedByReason'>;
  } | null = null;

  try {
    for (let k = 0; k < count; k++) {
      let r: RangeResult | typeof LOST | undefined = here.get(k);
      here.delete(k);
      r ??= pool.poll(k);
      while (r === undefined) {
        // Range k when no worker has it; the next range while every worker is busy and has a
        // range waiting (so this thread does not take ranges a worker would take in time). With
        // workersOnly it waits for the workers instead.
        if (k !== assigned) assign();
        if (
          !p.workersOnly &&
          assigned < count &&
          assigned < emitted + window &&
          (k === assigned || !pool.free())
        ) {
          const j = assigned++;
          const parsed = parseHere(j);
          // Let worker messages in: results, and workers that came up and want ranges.
          await turn();
          if (j === k) r = parsed;
          else {
            // Kept until its turn as a worker's result is: its text is decoded again then, so
            // that no text waits on the heap (it would outlive young collections).
            parsed.pieces = undefined;
            here.set(j, parsed);
            r = pool.poll(k);
          }
        } else {
          r = await pool.take(k);
        }
      }
      if (r === LOST) r = parseHere(k);
      const usable =
        seq === null &&
        (r.atRowStart || r.end === size) &&
        (k === 0 || r.lines === r.blankLines || headerSettled());
      let events: EventCursor | ClickEvent[][];
      if (usable) {
        const rejectedBefore = stats.rejected;
        if (r.rejects.length > 0) {
          const reject = rejectAt(stats.lines);
          for (const x of r.rejects) reject(x.line, x.raw, x.truncated, x.reason, x.detail);
        }
        stats.lines += r.lines;
        stats.blankLines += r.blankLines;
        stats.valid += r.valid;
        stats.rejected += r.rejected;
        stats.rows = stats.valid + stats.rejected;
        if (stats.rejected > rejectedBefore) addReasons(stats.rejectedByReason, r.rejectedByReason);
        events = new EventCursor(r.columns, r.pieces ?? rangePieces(r.bytes, r.end === size));
      } else {
        if (seq === null) {
          const parser = new CsvEventParser({
            source: name,
            maxLineBytes: p.maxLineBytes,
            batchSize,
            onReject: rejectAt(stats.lines),
            start: k === 0 ? 'file' : 'line',
            headerPending: !headerSettled(),
          });
          const { lines, blankLines, valid, rejected } = stats;
          const before = {
            lines,
            blankLines,
            valid,
            rejected,
            rejectedByReason: { ...stats.rejectedByReason },
          };
          seq = { parser, decoder: new ChunkDecoder(parser), before };
        }
        const { parser, decoder, before } = seq;
        rangeCounts.reparsed++;
        decoder.write(asBuffer(r.bytes));
        if (r.end === size) {
          decoder.end();
          parser.end();
        } else {
          parser.flushBatch();
        }
        events = parser.takeBatches();
        stats.lines = before.lines + parser.lines;
        stats.blankLines = before.blankLines + parser.blankLines;
        stats.valid = before.valid + parser.valid;
        stats.rejected = before.rejected + parser.rejected;
        stats.rows = stats.valid + stats.rejected;
        stats.rejectedByReason = { ...before.rejectedByReason };
        addReasons(stats.rejectedByReason, parser.rejectedByReason);
        if (r.end === size || parser.atRowStart) seq = null;
      }
      emitted = k + 1;
      assign();
      if (stats.rejected > 0 && sink?.path) stats.deadLetterPath = sink.path;
      stats.bytesRead = r.end;
      p.onProgress?.(stats);
      // Batches of exactly batchSize across ranges, as the sequential reader cuts them. Events from
      // columns are built one batch at a time, so that only one batch of new objects is alive.
      if (events instanceof EventCursor) {
        for (;;) {
          events.fill(batch, batchSize);
          if (batch.length < batchSize) break;
          yield batch;
          batch = [];
        }
      } else {
        for (const b of events) {
          for (const e of b) {
            batch.push(e);
            if (batch.length === batchSize) {
              yield batch;
              batch = [];
            }
          }
        }
      }
      if (r.end === size && batch.length > 0) {
        yield batch;
        batch = [];
      }
      if (signal?.aborted) break;
    }
    signal?.throwIfAborted();
  } catch (err) {
    signal?.throwIfAborted();
    throw inputError(name, 'csv', err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await pool.close();
    closeSync(fd);
  }
}
