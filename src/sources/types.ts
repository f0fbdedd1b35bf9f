/**
 * What a dataset read takes and reports (reader.ts, and parallel.ts for the worker-thread path),
 * apart from the reader so that both import it without importing each other.
 */
import type { RejectReason } from '../core/row.js';
import type { DeadLetterSink } from './deadletter.js';
import type { InputFormat } from './open.js';

export interface ReadStats {
  /** Base name of the input, `stdin`, or `archive.zip:entry.csv` once the input is open. */
  source: string;
  /** Input bytes read so far, before decompression (progress against totalBytes). */
  bytesRead: number;
  /** File size, or the zip entry's compressed size; undefined for stdin. */
  totalBytes?: number;
  /** Physical lines, header and blank lines included. */
  lines: number;
  blankLines: number;
  /** Records after the header: valid + rejected. */
  rows: number;
  valid: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  /** The dead-letter file, when this read rejected at least one row into a file sink. */
  deadLetterPath?: string;
  /** Detected from the first bytes of the input. */
  format?: InputFormat;
}

export interface ReadOptions {
  /** Longest accepted row in bytes (default 64 KiB, config `maxLineBytes`). */
  maxLineBytes?: number;
  /** Where rejected rows go; the caller owns it and closes it. None: rejects are only counted. */
  deadLetter?: DeadLetterSink | null;
  /** Events per yielded batch, default 4096 (the last batch may be shorter). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each input chunk with the live stats object (do not keep a copy of it). */
  onProgress?: (stats: ReadStats) => void;
  /**
   * Threads that parse a plain (uncompressed) CSV file: 1 is this thread alone; n >= 2 adds n - 1
   * worker threads, which parse byte ranges of the file while this thread parses others and builds
   * the events of theirs (the same events, batches, stats and rejects). Default: 2 for a file of at
   * least 32 MiB on a machine with 2 or more CPUs, else 1. Two threads do about a third more work
   * than one: faster with a CPU to spare, slower when other programs keep every CPU busy. Stdin,
   * gzip and zip are always parsed on this thread alone.
   */
  threads?: number;
  /** With worker threads: nominal bytes per parse task (default 1 MiB); small values are for tests. */
  rangeBytes?: number;
  /**
   * @internal For tests. With worker threads, this thread parses no range itself (only those of a
   * worker that died) and waits for the workers instead, so that which thread parsed each range does
   * not depend on how fast the workers start or on the machine's load.
   */
  workersOnly?: boolean;
}
