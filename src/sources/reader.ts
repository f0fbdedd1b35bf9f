/**
 * The dataset reader: a file path (`.csv`, `.csv.gz`, `.zip`) or `-` for stdin in, batches of
 * validated events out, in constant memory. Rejected rows go to a dead-letter sink and are counted;
 * they never stop a run. Only inputs that cannot be read at all raise StorepulseError('INPUT').
 */
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import type { ClickEvent } from '../core/event.js';
import { StorepulseError } from '../core/errors.js';
import { CsvEventParser } from './csv.js';
import { ChunkDecoder } from './decode.js';
import { type OpenedInput, inputError, openInput, openStream } from './open.js';
import { DEFAULT_MAX_LINE_BYTES } from './options.js';
import { PARALLEL_MIN_BYTES, RANGE_BYTES, parseWorkerUrl, readParallel } from './parallel.js';
import type { ReadOptions, ReadStats } from './types.js';

export const DEFAULT_BATCH_SIZE = 4096;

export type EventBatches = AsyncIterable<ClickEvent[]> & { stats: ReadStats };

/** Reads a dataset file, or stdin for `-`. Iterate once; `stats` fills in as batches come out. */
export function readEvents(input: string, opts: ReadOptions = {}): EventBatches {
  const source = input === '-' ? 'stdin' : input.split(/[\\/]/).pop() || input;
  return batches(() => openInput(input), source, opts);
}

/** Same as readEvents over any byte stream (compression is detected); for tests and pipes. */
export function readEventsFrom(stream: Readable, name: string, opts: ReadOptions = {}): EventBatches {
  return batches(() => openStream(stream, name), name, opts);
}

function emptyStats(source: string): ReadStats {
  return {
    source,
    bytesRead: 0,
    lines: 0,
    blankLines: 0,
    rows: 0,
    valid: 0,
    rejected: 0,
    rejectedByReason: {},
  };
}

function batches(open: () => Promise<OpenedInput>, source: string, opts: ReadOptions): EventBatches {
  const stats = emptyStats(source);
  let iterated = false;
  return {
    stats,
    [Symbol.asyncIterator]() {
      if (iterated) throw new StorepulseError('INTERNAL', 'readEvents() results can be iterated only once');
      iterated = true;
      return run(open, stats, opts);
    },
  };
}

async function* run(
  open: () => Promise<OpenedInput>,
  stats: ReadStats,
  opts: ReadOptions,
): AsyncGenerator<ClickEvent[], void, undefined> {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
    throw new StorepulseError('USAGE', `maxLineBytes must be a positive whole number, got ${maxLineBytes}`);
  }
  const threads = opts.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new StorepulseError('USAGE', `threads must be a positive whole number, got ${threads}`);
  }
  const rangeBytes = opts.rangeBytes ?? RANGE_BYTES;
  if (!Number.isInteger(rangeBytes) || rangeBytes < 1) {
    throw new StorepulseError('USAGE', `rangeBytes must be a positive whole number, got ${rangeBytes}`);
  }
  const signal = opts.signal;
  signal?.throwIfAborted();
  const input = await open();
  stats.source = input.name;
  stats.format = input.format;
  stats.totalBytes = input.totalBytes;
  const sink = opts.deadLetter ?? null;
  const name = input.name;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;

  if (input.path !== undefined && input.totalBytes !== undefined) {
    const size = input.totalBytes;
    const parsers = threads ?? (size >= PARALLEL_MIN_BYTES && availableParallelism() >= 2 ? 2 : 1);
    const workerUrl = parsers >= 2 ? parseWorkerUrl() : null;
    if (parsers >= 2 && !workerUrl && threads !== undefined) {
      input.close();
      throw new StorepulseError('INTERNAL', 'the parse worker is not built (run npm run build)');
    }
    if (workerUrl) {
      input.close();
      yield* readParallel({
        path: input.path,
        size,
        name,
        stats,
        sink,
        maxLineBytes,
        batchSize,
        signal,
        onProgress: opts.onProgress,
        threads: parsers,
        rangeBytes,
        workerUrl,
        workersOnly: opts.workersOnly,
      });
      return;
    }
  }

  const onAbort = () => input.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  const parser = new CsvEventParser({
    source: name,
    maxLineBytes,
    batchSize,
    onReject: sink
      ? (line, raw, truncated, reason, detail) => {
          if (truncated) sink.write({ source: name, line, raw, truncated: true, reason, detail });
          else sink.write({ source: name, line, raw, reason, detail });
        }
      : () => {},
  });
  const decoder = new ChunkDecoder(parser);
  let consumed = 0;
  const sync = () => {
    stats.bytesRead = input.bytesRead ? input.bytesRead() : consumed;
    stats.lines = parser.lines;
    stats.blankLines = parser.blankLines;
    stats.rows = parser.rows;
    stats.valid = parser.valid;
    stats.rejected = parser.rejected;
    stats.rejectedByReason = parser.rejectedByReason;
    if (parser.rejected > 0 && sink?.path) stats.deadLetterPath = sink.path;
  };
  try {
    for await (const piece of input.stream as AsyncIterable<Buffer | string>) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      consumed += chunk.length;
      decoder.write(chunk);
      sync();
      opts.onProgress?.(stats);
      for (const b of parser.takeBatches()) yield b;
      if (signal?.aborted) break;
    }
    signal?.throwIfAborted();
    decoder.end();
    parser.end();
    sync();
    opts.onProgress?.(stats);
    for (const b of parser.takeBatches()) yield b;
  } catch (err) {
    signal?.throwIfAborted();
    throw inputError(name, input.format, err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    input.close();
  }
}
