/** Shard statistics from the files alone (readers): segment names and sizes, and a tail scan. */
import { stat } from 'node:fs/promises';
import type { ShardStats } from '../types.js';
import { formatSeq } from './format.js';
import { listSegments, scanSegment, shardDir } from './segment.js';

/** Where the last scan of a shard's newest segment ended, so the next scan goes on from there. */
export interface TailMark {
  first: number;
  end: number;
  nextSeq: number;
}

export async function diskStats(
  streamDir: string,
  shardIds: readonly string[],
  marks: Map<string, TailMark> = new Map(),
): Promise<ShardStats[]> {
  const out: ShardStats[] = [];
  for (const shardId of shardIds) {
    const segments = await listSegments(shardDir(streamDir, shardId));
    let bytes = 0;
    const held: { first: number; file: string; size: number }[] = [];
    for (const s of segments) {
      const size = await stat(s.file).then(
        (st) => st.size,
        () => -1, // deleted by retention since the listing
      );
      if (size < 0) continue;
      bytes += size;
      held.push({ ...s, size });
    }
    const last = held[held.length - 1];
    if (!last) {
      out.push({ shardId, closed: false, records: 0, bytes: 0 });
      continue;
    }
    const mark = marks.get(shardId);
    // (A recovering writer may have cut the tail since the mark was taken.)
    const from =
      mark && mark.first === last.first && mark.end <= last.size
        ? { offset: mark.end, seq: mark.nextSeq }
        : undefined;
    const scan = await scanSegment(last.file, last.first, { verify: false, ...(from ? { from } : {}) });
    marks.set(shardId, { first: last.first, end: scan.end, nextSeq: scan.nextSeq });
    const oldest = held[0]!.first;
    const records = scan.nextSeq - oldest;
    out.push({
      shardId,
      closed: false,
      records,
      bytes,
      ...(records > 0
        ? { oldestSequenceNumber: formatSeq(oldest), newestSequenceNumber: formatSeq(scan.nextSeq - 1) }
        : {}),
    });
  }
  return out;
}
