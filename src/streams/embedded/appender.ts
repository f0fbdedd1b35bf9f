/**
 * The writer's side of one shard: recovery of the newest segment, appends (one write call per
 * batch), segment rolls, coalesced fsyncs and retention.
 */
import { closeSync, fdatasync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, stat, truncate, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { StorepulseError, ioError } from '../../core/errors.js';
import { fsyncDir } from '../../fs/files.js';
import { formatSeq } from './format.js';
import { listSegments, scanSegment, segmentFile } from './segment.js';

const fdatasyncAsync = promisify(fdatasync);

interface SegmentState {
  first: number;
  file: string;
  size: number;
  /** Last write, epoch ms: the arrival time of its newest record, near enough. */
  mtimeMs: number;
}

export interface TailRecovery {
  shardId: string;
  file: string;
  /** Where the dropped bytes began. */
  offset: number;
  droppedBytes: number;
  reason: string;
}

/** fsync of a file closed earlier; one deleted since (retention) needs none. */
async function syncByName(file: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export class ShardAppender {
  private fd = -1;
  /** Segments rolled since the last sync: their file descriptor, or (durability 'none') only their name. */
  private retired: { fd: number; file: string }[] = [];
  private dirty = false;
  private dirDirty = false;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** Set when a failed write could not be undone: the shard takes no more appends. */
  private broken: Error | null = null;

  private constructor(
    readonly shardId: string,
    readonly dir: string,
    private readonly segments: SegmentState[],
    public nextSeq: number,
    private readonly durable: boolean,
  ) {}

  /** Opens the shard for appending; truncates a torn or corrupt tail of its newest segment. */
  static async open(
    dir: string,
    shardId: string,
    durable: boolean,
  ): Promise<{ appender: ShardAppender; recovery?: TailRecovery }> {
    await mkdir(dir, { recursive: true });
    const refs = await listSegments(dir);
    const segments: SegmentState[] = [];
    for (const r of refs) {
      const s = await stat(r.file);
      segments.push({ first: r.first, file: r.file, size: s.size, mtimeMs: s.mtimeMs });
    }
    let recovery: TailRecovery | undefined;
    let nextSeq = 1;
    let created = false;
    if (segments.length === 0) {
      const file = segmentFile(dir, 1);
      closeSync(openSync(file, 'a'));
      segments.push({ first: 1, file, size: 0, mtimeMs: Date.now() });
      created = true;
    } else {
      const active = segments[segments.length - 1]!;
      const scan = await scanSegment(active.file, active.first, { verify: true });
      nextSeq = scan.nextSeq;
      if (scan.end < scan.size) {
        await truncate(active.file, scan.end).catch((err: unknown) => {
          throw ioError(`cannot truncate ${active.file}`, err);
        });
        recovery = {
          shardId,
          file: active.file,
          offset: scan.end,
          droppedBytes: scan.size - scan.end,
          reason: scan.problem ?? 'unknown',
        };
        active.size = scan.end;
      }
    }
    const appender = new ShardAppender(shardId, dir, segments, nextSeq, durable);
    appender.fd = openSync(segments[segments.length - 1]!.file, 'a');
    if (recovery && durable) await fdatasyncAsync(appender.fd);
    if (created) await fsyncDir(dir);
    return { appender, ...(recovery ? { recovery } : {}) };
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get oldestSeq(): number {
    return this.segments[0]!.first;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /** Appends buf[start, start + length): `count` whole frames numbered from `nextSeq` on. */
  append(buf: Buffer, start: number, length: number, count: number, segmentBytes: number, now: number): void {
    if (this.broken) {
      throw new StorepulseError('IO', `shard ${this.shardId} failed earlier: ${this.broken.message}`, {
        cause: this.broken,
      });
    }
    let active = this.segments[this.segments.length - 1]!;
    if (active.size > 0 && active.size + length > segmentBytes) active = this.roll(now);
    let done = 0;
    try {
      while (done < length) done += writeSync(this.fd, buf, start + done, length - done);
    } catch (err) {
      // A half-written batch would be a corrupt frame in the middle of the log: cut it off.
      try {
        ftruncateSync(this.fd, active.size);
      } catch (e) {
        this.broken = e as Error;
      }
      throw ioError(`cannot append to ${active.file}`, err);
    }
    active.size += length;
    active.mtimeMs = now;
    this.nextSeq += count;
    this.dirty = true;
  }

  /** Starts the segment named after the next sequence number; the old one is final from now on. */
  private roll(now: number): SegmentState {
    const file = segmentFile(this.dir, this.nextSeq);
    const fd = openSync(file, 'a');
    this.retired.push({ fd: this.fd, file: this.segments[this.segments.length - 1]!.file });
    this.fd = fd;
    const seg = { first: this.nextSeq, file, size: 0, mtimeMs: now };
    this.segments.push(seg);
    this.dirty = true;
    this.dirDirty = true;
    if (!this.durable && !this.inFlight) this.closeRetired();
    return seg;
  }

  /** Closes rolled segments now ('none' keeps no descriptors open); close() still fsyncs them by name. */
  private closeRetired(): void {
    for (const r of this.retired) {
      if (r.fd >= 0) closeSync(r.fd);
      r.fd = -1;
    }
  }

  /**
   * Makes every append so far durable. Calls while one sync runs share the next one, so that many
   * concurrent puts cost two fsyncs, not one each.
   */
  sync(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.runSync().finally(() => {
        this.inFlight = null;
      });
      return this.inFlight;
    }
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.sync();
      });
    return this.queued;
  }

  private async runSync(): Promise<void> {
    if (!this.dirty && !this.dirDirty && this.retired.length === 0) return;
    this.dirty = false;
    const dirDirty = this.dirDirty;
    this.dirDirty = false;
    try {
      // One at a time, each dropped from the list once synced: a failure leaves the rest for later.
      while (this.retired.length > 0) {
        const r = this.retired[0]!;
        if (r.fd >= 0) {
          await fdatasyncAsync(r.fd);
          closeSync(r.fd);
          r.fd = -1;
        } else {
          await syncByName(r.file);
        }
        this.retired.shift();
      }
      // Taken after the loop: a roll meanwhile retires the descriptor, and the next sync closes it.
      await fdatasyncAsync(this.fd);
      if (dirDirty) await fsyncDir(this.dir);
    } catch (err) {
      this.dirty = true;
      this.dirDirty ||= dirDirty;
      throw ioError(`cannot fsync shard ${this.shardId} in ${this.dir}`, err);
    }
  }

  /**
   * Deletes whole oldest segments, never the active one: while the shard holds more than
   * `maxBytes`, or while the oldest segment's last write is older than `maxAgeMs`.
   * Returns the number of records deleted.
   */
  async applyRetention(maxBytes: number, maxAgeMs: number, now: number): Promise<number> {
    let total = this.bytes;
    let deleted = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      if (total <= maxBytes && oldest.mtimeMs >= now - maxAgeMs) break;
      try {
        await unlink(oldest.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          throw ioError(`cannot delete ${oldest.file}`, err);
      }
      this.segments.shift();
      total -= oldest.size;
      deleted += this.segments[0]!.first - oldest.first;
    }
    if (deleted > 0) this.dirDirty = true;
    return deleted;
  }

  /** Records, bytes and sequence range held, from memory. */
  stats(): { records: number; bytes: number; oldest?: string; newest?: string } {
    const records = this.nextSeq - this.oldestSeq;
    return {
      records,
      bytes: this.bytes,
      ...(records > 0 ? { oldest: formatSeq(this.oldestSeq), newest: formatSeq(this.nextSeq - 1) } : {}),
    };
  }

  /** Syncs (whatever the durability) and closes the files. */
  async close(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    await this.queued?.catch(() => undefined);
    try {
      this.dirty = true;
      await this.sync();
    } finally {
      this.closeRetired();
      this.retired = [];
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = -1;
    }
  }
}
