/**
 * Record frames of the embedded log (docs/streams-embedded.md has the byte layout):
 *
 *   u32 payload length | u32 CRC-32 of the payload | payload:
 *   u64 sequence number | u64 arrival time (epoch ms) | u16 key bytes | u8 flags | u8 0 | key | data
 *
 * All integers little-endian. Hot paths: `encodeFrame` (once per record written) and
 * `FrameDecoder.decode` (once per record read) avoid per-record Buffer methods with argument
 * checks; checksums run in crc32.ts's memory, so frames are encoded there and read frames copied
 * there (one copy per chunk).
 */
import { StorepulseError } from '../../core/errors.js';
import { frameCrc } from './crc32.js';

export const FORMAT_VERSION = 1;
const HEADER_BYTES = 8;
/** Sequence number, arrival time, key length, flags. */
const FIXED_PAYLOAD_BYTES = 20;
const FRAME_OVERHEAD = HEADER_BYTES + FIXED_PAYLOAD_BYTES;
/** Kinesis's limits: keys of 1-256 characters; records of at most 10 MiB (we allow a little more). */
export const MAX_KEY_CHARS = 256;
export const MAX_DATA_BYTES = 16 * 1024 * 1024;
const MAX_PAYLOAD = FIXED_PAYLOAD_BYTES + 0xffff + MAX_DATA_BYTES;
const FLAG_ASCII = 1;
const TWO32 = 0x1_0000_0000;

/** Buffer's unchecked string codecs (on Buffer.prototype since Node 0.x, not in @types/node). */
interface RawBuffer extends Buffer {
  utf8Write(s: string, offset: number, length: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

const ZEROS = Array.from({ length: 21 }, (_, i) => '0'.repeat(20 - i));
const LOW4 = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));

/**
 * Fixed-width 20-digit sequence numbers. Runs once per record read or written, on consecutive
 * numbers of a shard: the first 16 digits are memoised (one formatter per shard, so that shards do
 * not evict each other's), the last 4 come from a table.
 */
export class SeqFormatter {
  private high = -1;
  private prefix = '';

  format(n: number): string {
    const high = Math.floor(n / 10_000);
    if (high !== this.high) {
      const h = String(high);
      this.prefix = ZEROS[h.length + 4]! + h;
      this.high = high;
    }
    return this.prefix + LOW4[n - high * 10_000]!;
  }
}

export function formatSeq(n: number): string {
  const s = String(n);
  return ZEROS[s.length]! + s;
}

/** The number of a 20-digit (or shorter) sequence number; NaN when it is not one of ours. */
export function parseSeq(s: string): number {
  if (!/^\d{1,20}$/.test(s)) return NaN;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : NaN;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/** A u64 split once (per batch, for the arrival time) rather than once per frame. */
export interface U64 {
  lo: number;
  hi: number;
}

export function u64(n: number): U64 {
  return { lo: n % TWO32, hi: Math.floor(n / TWO32) };
}

export interface KeyBytes {
  bytes: Uint8Array;
  /** The key's whole 4-byte words, little-endian: encodeFrame copies a key a word at a time. */
  words: Uint32Array;
  ascii: boolean;
}

export function keyBytes(key: string): KeyBytes {
  const bytes = new Uint8Array(Buffer.from(key, 'utf8'));
  const words = new Uint32Array(bytes.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = u32(bytes, i * 4);
  return { bytes, words, ascii: bytes.length === key.length };
}

/** A DataView over the buffer encodeFrame last wrote to (crc32.ts's memory: it changes rarely). */
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let viewOf: Buffer | null = null;

/** Room a frame may need: UTF-8 takes at most 3 bytes per UTF-16 unit. */
export function frameBound(keyBytes: number, dataChars: number): number {
  return FRAME_OVERHEAD + keyBytes + 3 * dataChars;
}

/**
 * Writes one frame at `o` of `b` (crc32.ts's scratch memory, at offset 0 of it), which has room for
 * `frameBound` bytes there, and returns the offset after the frame.
 */
export function encodeFrame(
  b: Buffer,
  o: number,
  seq: number,
  arrival: U64,
  key: KeyBytes,
  data: string,
): number {
  const raw = b as RawBuffer;
  if (b !== viewOf) {
    view = new DataView(b.buffer, b.byteOffset, b.length);
    viewOf = b;
  }
  const dv = view;
  const k = key.bytes.length;
  const ko = o + FRAME_OVERHEAD;
  // The data first: how many bytes it takes is known once written (one call, no byteLength).
  const dataBytes = raw.utf8Write(data, ko + k, 3 * data.length);
  if (dataBytes > MAX_DATA_BYTES) {
    throw new StorepulseError('USAGE', `a record of ${dataBytes} bytes, over the limit of ${MAX_DATA_BYTES}`);
  }
  const payload = FIXED_PAYLOAD_BYTES + k + dataBytes;
  // ASCII exactly when each character took one byte.
  const ascii = key.ascii && dataBytes === data.length;
  // Header and key go in as whole little-endian words (DataView), not byte by byte.
  dv.setUint32(o, payload, true);
  if (seq < TWO32) {
    dv.setUint32(o + 8, seq, true);
    dv.setUint32(o + 12, 0, true);
  } else {
    dv.setUint32(o + 8, seq % TWO32, true);
    dv.setUint32(o + 12, Math.floor(seq / TWO32), true);
  }
  dv.setUint32(o + 16, arrival.lo, true);
  dv.setUint32(o + 20, arrival.hi, true);
  dv.setUint32(o + 24, k | ((ascii ? FLAG_ASCII : 0) << 16), true);
  const words = key.words;
  const whole = words.length;
  for (let i = 0; i < whole; i++) dv.setUint32(ko + i * 4, words[i]!, true);
  const kb = key.bytes;
  for (let i = whole * 4; i < k; i++) b[ko + i] = kb[i]!;
  dv.setUint32(o + 4, frameCrc.of(o + HEADER_BYTES, payload), true);
  return o + HEADER_BYTES + payload;
}

export interface DecodedRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: string;
  arrivalTime: number;
}

/**
 * Why `decode` stopped: `more` (needs bytes beyond `end`: a frame not yet complete, or the end),
 * `limit` (got `limit` records), `corrupt` (bad length, checksum or sequence number at `pos`).
 */
export type DecodeStop = 'more' | 'limit' | 'corrupt';

/**
 * ASCII frames are cut out of one latin1 string per span of this many bytes instead of decoded one
 * by one: a substring costs a small fraction of a decode, and far less garbage. A kept record pins
 * its span (as the CSV reader's text pieces do), so spans stay small.
 */
const TEXT_SPAN = 64 * 1024;

/** Decodes frames of one segment. Tracks the expected sequence number across calls. */
export class FrameDecoder {
  stop: DecodeStop = 'more';
  problem = '';
  /** Bytes the frame at `pos` needs in all, when `stop` is `more` and its header was read. */
  need = 0;
  /** Arrival time of the last frame passed (decoded or skipped), 0 before any. */
  lastArrival = 0;
  private readonly seqs = new SeqFormatter();

  /**
   * @param nextSeq sequence number the next frame must carry (a segment starts at its name)
   * @param minSeq frames below it are passed over without building records (positioning)
   * @param verify check checksums (readers and recovery do; positioning hops need not)
   */
  constructor(
    readonly shardId: string,
    public nextSeq: number,
    public minSeq = 0,
    public verify = true,
  ) {}

  /** Decodes frames in buf[pos, end) into `out` (up to `limit` in all); returns where it stopped. */
  decode(buf: Buffer, pos: number, end: number, out: DecodedRecord[] | null, limit: number): number {
    const b = buf as RawBuffer;
    this.need = 0;
    // Checksums are computed over a copy in crc32.ts's memory: one copy per call, not per frame.
    const base = pos;
    let copied = false;
    let text = '';
    let textStart = 0;
    let textEnd = 0;
    while (true) {
      if (out !== null && out.length >= limit) {
        this.stop = 'limit';
        return pos;
      }
      if (end - pos < HEADER_BYTES) {
        this.stop = 'more';
        return pos;
      }
      const payload = u32(b, pos);
      if (payload < FIXED_PAYLOAD_BYTES || payload > MAX_PAYLOAD) {
        return this.corrupt(pos, `bad frame length ${payload}`);
      }
      if (end - pos < HEADER_BYTES + payload) {
        this.need = HEADER_BYTES + payload;
        this.stop = 'more';
        return pos;
      }
      const p = pos + HEADER_BYTES;
      const seq = u32(b, p) + u32(b, p + 4) * TWO32;
      const k = b[p + 16]! | (b[p + 17]! << 8);
      if (k > payload - FIXED_PAYLOAD_BYTES) return this.corrupt(pos, `bad key length ${k}`);
      const skip = seq < this.minSeq;
      if ((this.verify && !skip) || seq !== this.nextSeq) {
        if (!copied) {
          buf.copy(frameCrc.scratch(end - base), 0, base, end);
          copied = true;
        }
        if (frameCrc.of(p - base, payload) !== u32(b, pos + 4)) return this.corrupt(pos, 'checksum mismatch');
        if (seq !== this.nextSeq) {
          return this.corrupt(pos, `sequence number ${seq} where ${this.nextSeq} was expected`);
        }
      }
      const arrival = u32(b, p + 8) + u32(b, p + 12) * TWO32;
      this.nextSeq = seq + 1;
      this.lastArrival = arrival;
      pos = p + payload;
      if (skip || out === null) continue;
      const s = p + FIXED_PAYLOAD_BYTES;
      let key: string;
      let data: string;
      if (b[p + 18] === FLAG_ASCII) {
        if (pos > textEnd) {
          textStart = s;
          textEnd = Math.min(end, Math.max(pos, s + TEXT_SPAN));
          text = b.latin1Slice(textStart, textEnd);
        }
        key = text.slice(s - textStart, s - textStart + k);
        data = text.slice(s - textStart + k, pos - textStart);
      } else {
        key = b.utf8Slice(s, s + k);
        data = b.utf8Slice(s + k, pos);
      }
      out.push({
        shardId: this.shardId,
        sequenceNumber: this.seqs.format(seq),
        partitionKey: key,
        data,
        arrivalTime: arrival,
      });
    }
  }

  private corrupt(pos: number, problem: string): number {
    this.stop = 'corrupt';
    this.problem = problem;
    return pos;
  }
}
