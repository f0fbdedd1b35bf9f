/**
 * Reading one shard: position, then decode frames from big chunks of the segment files, follow the
 * segments as the writer rolls them, poll when caught up. A reader never writes.
 *
 * Tail rules: in the newest segment, bytes that are not (yet) a whole valid frame are a write in
 * progress or a torn tail that the next writer will cut off, so the reader waits for them. In a
 * segment that has a successor, and at the tail of a sealed stream, they are corruption: an error
 * naming the file and offset.
 */
import { existsSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, ioError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import type { ReadShardOptions, ShardRead, StartPosition, StreamRecord } from '../types.js';
import { FrameDecoder, parseSeq } from './format.js';
import { listSegments, READ_CHUNK, scanSegment, segmentFile, segmentFor } from './segment.js';

/** What the embedded log adds to a shard read. */
export interface EmbeddedShardRead extends ShardRead {
  /**
   * Set on the first batch after records were passed over because retention had deleted them
   * before they were read (Kinesis starts at the oldest record held, too): how many.
   */
  skippedRecords?: number;
}

export interface ShardReaderContext {
  streamName: string;
  shardDir: string;
  shardId: string;
  sealedFile: string;
  pollMs: number;
  /** Aborted when the stream object is closed. */
  closed: AbortSignal;
}

const DEFAULT_READ_LIMIT = 10_000;
/** While caught up, an empty batch at most this often, so that consumers can tell the shard is live. */
const HEARTBEAT_MS = 1000;

function badPosition(what: string): StorepulseError {
  return new StorepulseError('USAGE', `bad start position: ${what}`);
}

export async function* readShardFiles(
  ctx: ShardReaderContext,
  from: StartPosition,
  opts: ReadShardOptions = {},
): AsyncGenerator<EmbeddedShardRead> {
  const limit = opts.limit ?? DEFAULT_READ_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw badPosition(`limit must be a positive integer`);
  const stopped = () => opts.signal?.aborted === true || ctx.closed.aborted;
  const dir = ctx.shardDir;

  let segments = await listSegments(dir);
  if (segments.length === 0) {
    throw new StorepulseError(
      'STATE',
      `stream ${ctx.streamName}: shard ${ctx.shardId} has no segments in ${dir}`,
    );
  }
  let minSeq = 0;
  let pendingSkipped = 0;
  let seg = segments[0]!;
  let startOffset = 0;
  let startSeq = seg.first;
  if (from.type === 'latest') {
    seg = segments[segments.length - 1]!;
    const scan = await scanSegment(seg.file, seg.first, { verify: false });
    startOffset = scan.end;
    startSeq = scan.nextSeq;
  } else if (from.type === 'at' || from.type === 'after') {
    const target = parseSeq(from.sequenceNumber);
    if (Number.isNaN(target)) throw badPosition(`${from.type} ${JSON.stringify(from.sequenceNumber)}`);
    minSeq = from.type === 'at' ? target : target + 1;
    if (minSeq < seg.first) pendingSkipped = Math.max(0, seg.first - Math.max(minSeq, 1));
    else seg = segments[segmentFor(segments, minSeq)]!;
    startSeq = seg.first;
  } else if (from.type !== 'oldest') {
    throw badPosition(JSON.stringify(from));
  }

  const dec = new FrameDecoder(ctx.shardId, startSeq, minSeq, true);
  let file = seg.file;
  let fileFirst = seg.first;
  let fh: FileHandle | undefined;
  let buf = Buffer.allocUnsafeSlow(READ_CHUNK);
  let wStart = 0;
  let wEnd = 0;
  let filePos = startOffset;
  let lastReadShort = false;
  let sealedSeen = false;
  let lastBeat = 0;

  /**
   * Opens the segment that starts at `first` at `offset` (where record `seq` begins), or the oldest
   * one held when retention has deleted it.
   */
  const openSegment = async (first: number, offset: number, seq = first): Promise<void> => {
    await fh?.close();
    fh = undefined;
    while (true) {
      file = segmentFile(dir, first);
      fileFirst = first;
      try {
        fh = await open(file, 'r');
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot open ${file}`, err);
      }
      segments = await listSegments(dir);
      const oldest = segments.find((s) => s.first > first) ?? segments[segments.length - 1];
      if (!oldest || oldest.first <= first) throw ioError(`cannot open ${file}`, new Error('deleted'));
      pendingSkipped += Math.max(0, oldest.first - Math.max(seq, minSeq));
      first = seq = oldest.first;
      offset = 0;
    }
    dec.nextSeq = seq;
    filePos = offset;
    wStart = wEnd = 0;
  };

  const readMore = async (): Promise<number> => {
    if (wStart > 0) {
      buf.copy(buf, 0, wStart, wEnd);
      wEnd -= wStart;
      wStart = 0;
    }
    if (dec.need > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(dec.need);
      buf.copy(bigger, 0, 0, wEnd);
      buf = bigger;
    }
    const want = buf.length - wEnd;
    const { bytesRead } = await fh!.read(buf, wEnd, want, filePos);
    filePos += bytesRead;
    wEnd += bytesRead;
    lastReadShort = bytesRead < want;
    return bytesRead;
  };

  const corrupt = (offset: number, problem: string, where: string) =>
    new StorepulseError(
      'STATE',
      `stream ${ctx.streamName}: corrupt record in ${file} at offset ${offset} (${where}): ${problem}`,
    );

  try {
    await openSegment(seg.first, startOffset, startSeq);
    while (!stopped()) {
      const records: StreamRecord[] = [];
      wStart = dec.decode(buf, wStart, wEnd, records, limit);
      if (records.length > 0) {
        sealedSeen = false;
        const atTip = wStart === wEnd && lastReadShort;
        const read: EmbeddedShardRead = {
          records,
          millisBehindLatest: atTip ? 0 : Math.max(0, Date.now() - dec.lastArrival),
        };
        if (pendingSkipped > 0) read.skippedRecords = pendingSkipped;
        pendingSkipped = 0;
        yield read;
        continue;
      }
      if (dec.stop !== 'corrupt' && (await readMore()) > 0) {
        sealedSeen = false;
        continue;
      }
      // Nothing more in this segment for now.
      const frameOffset = filePos - (wEnd - wStart);
      const problem =
        dec.stop === 'corrupt'
          ? dec.problem
          : wEnd > wStart
            ? `a frame cut short (${wEnd - wStart} bytes)`
            : '';
      // (An empty segment is the newest: the one after it would have its own name.)
      if (dec.nextSeq !== fileFirst && existsSync(segmentFile(dir, dec.nextSeq))) {
        // Reread once: the writer may have appended here just before it created the next segment.
        if (dec.stop !== 'corrupt' && (await readMore()) > 0) continue;
        if (problem) throw corrupt(frameOffset, problem, 'a segment with a successor');
        await openSegment(dec.nextSeq, 0);
        continue;
      }
      if (!existsSync(file)) {
        // Retention deleted this segment and the next while we read: go on at the oldest held.
        await openSegment(dec.nextSeq, 0);
        continue;
      }
      if (problem && (await listSegments(dir)).some((seg) => seg.first > fileFirst)) {
        throw corrupt(frameOffset, problem, 'a segment with a successor');
      }
      if (opts.untilCaughtUp) return;
      if (sealedSeen) {
        if (problem) throw corrupt(frameOffset, problem, 'the tail of a sealed stream');
        return;
      }
      // Read the tail afresh next time: a recovering writer may have cut it off and rewritten it.
      filePos = frameOffset;
      wStart = wEnd = 0;
      dec.stop = 'more';
      // Sealed: one more pass reads whatever was written before the seal, then the read ends.
      sealedSeen = existsSync(ctx.sealedFile);
      if (sealedSeen) continue;
      if (Date.now() - lastBeat >= HEARTBEAT_MS) {
        lastBeat = Date.now();
        const beat: EmbeddedShardRead = { records: [], millisBehindLatest: 0 };
        if (pendingSkipped > 0) beat.skippedRecords = pendingSkipped;
        pendingSkipped = 0;
        yield beat;
        if (stopped()) return;
      }
      await sleep(ctx.pollMs, opts.signal, ctx.closed);
    }
  } finally {
    await fh?.close();
  }
}

export function sealedMarker(streamDir: string): string {
  return path.join(streamDir, 'sealed');
}
