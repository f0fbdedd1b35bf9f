/**
 * Segment files: `<dir>/shards/<shardId>/<first sequence number, 20 digits>.seg`. A segment holds
 * consecutive sequence numbers from its name on, so the name of the segment after it is the
 * sequence number after its last record. Only the newest segment of a shard is ever appended to;
 * once a newer one exists, the older is final ("sealed").
 */
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ioError } from '../../core/errors.js';
import { FrameDecoder, formatSeq } from './format.js';

const SEGMENT_RE = /^(\d{20})\.seg$/;
/**
 * Readers read (and decode) this much at a time. Small enough that the records of a few shards'
 * batches in flight stay in V8's young generation: with 1-4 MiB chunks and four shards read at
 * once, garbage collection took half the read time (bench/RESULTS.md).
 */
export const READ_CHUNK = 256 * 1024;
/** Scans (recovery, positioning, stats) build no records and read bigger chunks. */
const SCAN_CHUNK = 4 * 1024 * 1024;

export interface SegmentRef {
  /** Sequence number of its first record (also its name). */
  first: number;
  file: string;
}

export function shardDir(streamDir: string, shardId: string): string {
  return path.join(streamDir, 'shards', shardId);
}

export function segmentFile(dir: string, first: number): string {
  return path.join(dir, `${formatSeq(first)}.seg`);
}

/** Segments of a shard folder, oldest first. A missing folder has none. */
export async function listSegments(dir: string): Promise<SegmentRef[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(`cannot list ${dir}`, err);
  }
  const out: SegmentRef[] = [];
  for (const name of names) {
    const m = SEGMENT_RE.exec(name);
    if (m) out.push({ first: Number(m[1]), file: path.join(dir, name) });
  }
  return out.sort((a, b) => a.first - b.first);
}

/** The segment that holds `seq`, or would: the last one starting at or before it (or the oldest). */
export function segmentFor(segments: readonly SegmentRef[], seq: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.first <= seq) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface ScanResult {
  /** Offset after the last valid frame. */
  end: number;
  /** Sequence number after the last valid frame. */
  nextSeq: number;
  /** File size when scanned. */
  size: number;
  /** Arrival time of the last valid frame, 0 when there is none. */
  lastArrival: number;
  /** Why the scan stopped before `size`: a frame cut short, or a bad one. */
  problem?: string;
}

/**
 * Walks a segment's frames from `from` (default: its start) to the end or the first bad frame.
 * `verify` checks every checksum (recovery); without it the scan only hops over lengths.
 */
export async function scanSegment(
  file: string,
  first: number,
  opts: { verify: boolean; from?: { offset: number; seq: number } },
): Promise<ScanResult> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw ioError(`cannot open ${file}`, err);
  });
  try {
    const size = (await fh.stat()).size;
    const dec = new FrameDecoder('', opts.from?.seq ?? first, 0, opts.verify);
    let buf = Buffer.allocUnsafeSlow(Math.min(SCAN_CHUNK, Math.max(size, 64)));
    let filePos = opts.from?.offset ?? 0;
    let lastArrival = 0;
    while (filePos < size) {
      const want = Math.min(buf.length, size - filePos);
      const { bytesRead } = await fh.read(buf, 0, want, filePos);
      if (bytesRead === 0) break;
      const used = dec.decode(buf, 0, bytesRead, null, Infinity);
      if (dec.lastArrival > 0) lastArrival = dec.lastArrival;
      filePos += used;
      if (dec.stop === 'corrupt') {
        return { end: filePos, nextSeq: dec.nextSeq, size, lastArrival, problem: dec.problem };
      }
      if (used === 0) {
        // A frame longer than the buffer: read it whole, or it is cut short by the end of the file.
        if (dec.need > 0 && filePos + dec.need <= size && dec.need > buf.length) {
          buf = Buffer.allocUnsafeSlow(dec.need);
          continue;
        }
        break;
      }
    }
    const problem = filePos < size ? `a frame cut short (${size - filePos} bytes)` : undefined;
    return { end: filePos, nextSeq: dec.nextSeq, size, lastArrival, ...(problem ? { problem } : {}) };
  } finally {
    await fh.close();
  }
}
