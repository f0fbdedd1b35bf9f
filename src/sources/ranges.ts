/**
 * A byte range of a plain CSV file, parsed on its own: what the parallel reader (parallel.ts) and
 * its parse workers do with the ranges they take. A range runs from the line start after its
 * nominal first byte (the byte after the first line feed at or after it; the file's first range
 * starts at 0) to where the next range starts. A line feed inside a quoted field can make that
 * start wrong; the result says whether the parse ended exactly at a row boundary (`atRowStart`),
 * and the reader reparses when it did not.
 */
import { readSync } from 'node:fs';
import { type RejectReason, eventTypeIn, isDigitsIn, parseIdIn, parsePriceIn } from '../core/row.js';
import { parseDatasetTimeIn } from '../core/time.js';
import { ColumnWriter, type EventColumns } from './columns.js';
import { CsvEventParser } from './csv.js';
import { ChunkDecoder } from './decode.js';

export interface RangeSetup {
  /** An open descriptor of the file (descriptors are per process: workers share the reader's). */
  fd: number;
  /** File size when the read started. */
  size: number;
  source: string;
  maxLineBytes: number;
}

/** Range `k`: nominal bytes [from, to). */
export interface RangeTask {
  k: number;
  from: number;
  to: number;
}

export interface RejectedRow {
  /** Physical line, counted from the range's first line (1). */
  line: number;
  raw: string;
  truncated: boolean;
  reason: RejectReason;
  detail: string;
}

/** What parsing a range found. */
export interface RangeResult {
  k: number;
  /** First byte parsed: a line start. */
  start: number;
  /** Byte after the last one parsed: the next range's start, or the file size. */
  end: number;
  lines: number;
  blankLines: number;
  valid: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  /** The parse ended at a row boundary (always true for the range that ends the file). */
  atRowStart: boolean;
  rejects: RejectedRow[];
  columns: EventColumns;
  /** The range's bytes, [start, end) (a Uint8Array once it crossed from a worker). */
  bytes: Uint8Array;
  /** The text pieces the range was parsed from; a worker leaves them out (see rangePieces). */
  pieces?: string[];
}

/** Scratch space for lineStartAt. */
export const PROBE_BYTES = 64 * 1024;

/** Bytes [from, to) of `fd`, in a buffer of their own (it can be transferred to another thread). */
function readBytes(fd: number, from: number, to: number): Buffer {
  const bytes = Buffer.from(new ArrayBuffer(to - from));
  for (let pos = 0; pos < bytes.length;) {
    const n = readSync(fd, bytes, pos, bytes.length - pos, from + pos);
    if (n === 0) throw new Error('the file got shorter while it was read');
    pos += n;
  }
  return bytes;
}

/**
 * The text pieces parseRange parsed `bytes` (a range) as: decoded the same way, so the same
 * strings, for the thread that builds the events of a range a worker parsed.
 */
export function rangePieces(bytes: Uint8Array, endsFile: boolean): string[] {
  const pieces: string[] = [];
  const decoder = new ChunkDecoder({ feed: (text) => pieces.push(text) });
  decoder.write(asBuffer(bytes));
  if (endsFile) decoder.end();
  return pieces;
}

/** A Buffer view of `bytes` (which lose their Buffer prototype when they cross between threads). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The position after the first line feed at or after `offset`, or `size` when there is none. */
export function lineStartAt(fd: number, offset: number, size: number, buf: Buffer): number {
  let pos = offset;
  let probe = 4096;
  while (pos < size) {
    const n = readSync(fd, buf, 0, Math.min(probe, buf.length, size - pos), pos);
    if (n === 0) break;
    const i = buf.subarray(0, n).indexOf(10);
    if (i !== -1) return pos + i + 1;
    pos += n;
    probe *= 2;
  }
  return size;
}

const CR = 13;

/**
 * Parses text into columns. A plain row (no quote, nine fields, each of them valid, within the line
 * limit, at a row boundary once the header question is settled) is read in place, without a string
 * or an object; every other line goes to the CsvEventParser, which decides it as the sequential
 * reader does, and its events are added as objects. The validation is core/row.ts's and
 * core/time.ts's, on offsets: a row passes here exactly when rowToEvent would accept it (a
 * stricter check only sends more rows to the parser), with the same values.
 */
class RangeParser {
  private readonly safeChars: number;
  private readonly cuts: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

  constructor(
    private readonly parser: CsvEventParser,
    private readonly writer: ColumnWriter,
    maxLineBytes: number,
  ) {
    // Rows with at most this many UTF-16 units cannot exceed the byte limit (3 bytes per unit at most).
    this.safeChars = Math.floor(maxLineBytes / 3);
  }

  feed(text: string): void {
    this.writer.piece(text);
    const p = this.parser;
    const len = text.length;
    let pos = 0;
    // A cursor to the next quote at or after `pos`: the text is searched for quotes once.
    let quote = -1;
    while (pos < len) {
      const nl = text.indexOf('\n', pos);
      const next = nl === -1 ? len : nl + 1;
      if (nl !== -1 && p.atRowStart && p.headerSettled) {
        let end = nl;
        if (end > pos && text.charCodeAt(end - 1) === CR) end--;
        if (quote < pos) {
          quote = text.indexOf('"', pos);
          if (quote === -1) quote = len;
        }
        if (quote > nl && end > pos && end - pos <= this.safeChars && this.plainRow(text, pos, end)) {
          pos = next;
          continue;
        }
      }
      p.feed(pos === 0 && next === len ? text : text.slice(pos, next));
      p.flushBatch();
      for (const b of p.takeBatches()) this.writer.addEvents(b);
      pos = next;
    }
  }

  /** Adds the row `text[pos, end)` when it is plain and valid; false leaves it to the parser. */
  private plainRow(text: string, pos: number, end: number): boolean {
    const c = this.cuts;
    let from = pos;
    for (let k = 0; k < 8; k++) {
      const i = text.indexOf(',', from);
      if (i === -1 || i >= end) return false;
      c[k] = i;
      from = i + 1;
    }
    const more = text.indexOf(',', from);
    if (more !== -1 && more < end) return false;
    const time = parseDatasetTimeIn(text, pos, c[0]!);
    if (Number.isNaN(time)) return false;
    const type = eventTypeIn(text, c[0]! + 1, c[1]!);
    if (type < 0) return false;
    const product = parseIdIn(text, c[1]! + 1, c[2]!);
    if (product < 0) return false;
    if (!isDigitsIn(text, c[2]! + 1, c[3]!, 20)) return false;
    const price = parsePriceIn(text, c[5]! + 1, c[6]!);
    if (Number.isNaN(price)) return false;
    const user = parseIdIn(text, c[6]! + 1, c[7]!);
    if (user < 0) return false;
    this.parser.countValidRow();
    this.writer.add(time, type, product, price, user, c[2]! + 1, c[3]!, c[4]!, c[5]!, c[7]! + 1, end);
    return true;
  }
}

/** Parses range `task` on its own (see the file comment); `probe` is scratch space for lineStartAt. */
export function parseRange(
  setup: RangeSetup,
  task: RangeTask,
  probe: Buffer,
): { result: RangeResult; transfer: ArrayBuffer[] } {
  const { fd, size } = setup;
  const start = task.k === 0 ? 0 : lineStartAt(fd, task.from, size, probe);
  const end = task.to >= size ? size : lineStartAt(fd, task.to, size, probe);
  const rejects: RejectedRow[] = [];
  const parser = new CsvEventParser({
    source: setup.source,
    maxLineBytes: setup.maxLineBytes,
    batchSize: 4096,
    onReject: (line, raw, truncated, reason, detail) =>
      rejects.push({ line, raw, truncated, reason, detail }),
    start: task.k === 0 ? 'file' : 'line',
  });
  // Rows are rarely shorter than 64 bytes; the columns grow when they are.
  const writer = new ColumnWriter(Math.ceil((end - start) / 64));
  const decoder = new ChunkDecoder(new RangeParser(parser, writer, setup.maxLineBytes));
  const bytes = readBytes(fd, start, end);
  decoder.write(bytes);
  if (end === size) {
    decoder.end();
    parser.end();
  } else {
    parser.flushBatch();
  }
  for (const b of parser.takeBatches()) writer.addEvents(b);
  const { columns, transfer } = writer.finish();
  transfer.push(bytes.buffer as ArrayBuffer);
  return {
    result: {
      k: task.k,
      start,
      end,
      lines: parser.lines,
      blankLines: parser.blankLines,
      valid: parser.valid,
      rejected: parser.rejected,
      rejectedByReason: parser.rejectedByReason,
      atRowStart: parser.atRowStart,
      rejects,
      columns,
      bytes,
      pieces: writer.pieces,
    },
    transfer,
  };
}
