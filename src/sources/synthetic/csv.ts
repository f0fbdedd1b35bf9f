/**
 * Encodes rows straight into byte chunks: the hot path of `generateToFile`. Every piece of a row is
 * prepared bytes (product fields with the catalog, `user_id,user_session` with the session, the time
 * stamp once per second), copied with TypedArray.set, so no string is built per row.
 */
import { CSV_HEADER } from '../../core/event.js';
import { formatEventTime } from '../../core/time.js';
import type { Catalog } from './catalog.js';
import { type SimSession, TYPE_NAMES } from './session.js';

const COMMA = 44;
const NEWLINE = 10;
const TYPE_BYTES = TYPE_NAMES.map((t) => Buffer.from(`${t},`, 'latin1'));
/** Longest row we can produce, with room to spare: flush before a row could overflow. */
const ROW_MAX = 1024;

export class CsvEncoder {
  private chunk: Buffer;
  private off = 0;
  private second = -1;
  private stamp: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly catalog: Catalog,
    private readonly chunkSize = 1 << 20,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkSize);
    this.off = this.chunk.write(`${CSV_HEADER}\n`, 0, 'latin1');
  }

  /** Whether the chunk is full enough to hand over. */
  get full(): boolean {
    return this.off > this.chunkSize - ROW_MAX;
  }

  get size(): number {
    return this.off;
  }

  /** The bytes so far; the encoder starts a fresh chunk (the returned one is never touched again). */
  take(): Buffer {
    const out = this.chunk.subarray(0, this.off);
    this.chunk = Buffer.allocUnsafe(this.chunkSize);
    this.off = 0;
    return out;
  }

  row(time: number, type: number, product: number, s: SimSession, nullSession: boolean): void {
    const buf = this.chunk;
    let off = this.off;
    if (time !== this.second) {
      this.second = time;
      this.stamp = Buffer.from(`${formatEventTime(time)},`, 'latin1');
    }
    buf.set(this.stamp, off);
    off += this.stamp.length;
    const tb = TYPE_BYTES[type]!;
    buf.set(tb, off);
    off += tb.length;
    const frag = this.catalog.fragViews[product]!;
    buf.set(frag, off);
    off += frag.length;
    buf[off++] = COMMA;
    if (nullSession) {
      buf.set(s.tail.subarray(0, s.userBytes), off);
      off += s.userBytes;
    } else {
      buf.set(s.tail, off);
      off += s.tail.length;
    }
    buf[off++] = NEWLINE;
    this.off = off;
  }
}
