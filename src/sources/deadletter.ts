/**
 * Dead-letter output: every rejected row becomes one NDJSON line. The file is created lazily on the
 * first record, so a clean run leaves no file behind. Writes are buffered and flushed synchronously,
 * which keeps memory bounded even when every row of a wrong file is rejected.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';
import type { RejectReason } from '../core/row.js';

/** Longest `raw` text kept in a dead-letter record (UTF-16 units); longer rows get `truncated: true`. */
export const DEAD_LETTER_RAW_CAP = 4096;

export interface DeadLetterRecord {
  /** File name (base name) or stream name the row came from. */
  source: string;
  /** 1-based physical line where the row starts (for stream sources: the record's position). */
  line: number;
  /** The row text, at most DEAD_LETTER_RAW_CAP characters. */
  raw: string;
  /** Present (and true) when `raw` was cut at DEAD_LETTER_RAW_CAP. */
  truncated?: true;
  reason: RejectReason;
  detail: string;
}

export interface DeadLetterSink {
  /** Where records go; set even before the first write (the file itself may not exist yet). */
  readonly path?: string;
  /** Records written so far. */
  readonly count: number;
  write(rec: DeadLetterRecord): void;
  /** Flushes and releases the file. Idempotent. */
  close(): Promise<void>;
}

/** Cuts `raw` to the cap without splitting a surrogate pair. */
export function capRaw(raw: string, cap = DEAD_LETTER_RAW_CAP): { raw: string; truncated: boolean } {
  if (raw.length <= cap) return { raw, truncated: false };
  let end = cap;
  const c = raw.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return { raw: raw.slice(0, end), truncated: true };
}

/** `<dataDir>/deadletter/<basename>.<timestamp>.ndjson`; the timestamp sorts and is safe in file names. */
export function defaultDeadLetterPath(dataDir: string, source: string, now = new Date()): string {
  const base = source === '-' ? 'stdin' : path.basename(source);
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return path.join(dataDir, 'deadletter', `${base}.${stamp}.ndjson`);
}

const FLUSH_AT = 64 * 1024;

/** An NDJSON dead-letter file at `file`, created (with its folder) on the first record. */
export function createDeadLetterFile(file: string): DeadLetterSink {
  let fd: number | undefined;
  let buffered: string[] = [];
  let bufferedLen = 0;
  let count = 0;
  let closed = false;

  const flush = (): void => {
    if (buffered.length === 0) return;
    const text = buffered.join('');
    buffered = [];
    bufferedLen = 0;
    try {
      if (fd === undefined) {
        mkdirSync(path.dirname(file), { recursive: true });
        fd = openSync(file, 'a');
      }
      writeSync(fd, text);
    } catch (err) {
      throw ioError(`cannot write dead-letter file ${file}`, err);
    }
  };

  return {
    path: file,
    get count() {
      return count;
    },
    write(rec) {
      if (closed) throw new StorepulseError('INTERNAL', `dead-letter file ${file} written after close`);
      const { raw, truncated } = capRaw(rec.raw);
      const out: DeadLetterRecord = {
        source: rec.source,
        line: rec.line,
        raw,
        reason: rec.reason,
        detail: rec.detail,
      };
      if (truncated || rec.truncated) out.truncated = true;
      const line = `${JSON.stringify(out)}\n`;
      buffered.push(line);
      bufferedLen += line.length;
      count++;
      if (bufferedLen >= FLUSH_AT) flush();
    },
    async close() {
      if (closed) return;
      flush();
      closed = true;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** A sink that keeps records in memory: for tests and for callers that want the rejects themselves. */
export function createMemoryDeadLetter(): DeadLetterSink & { records: DeadLetterRecord[] } {
  const records: DeadLetterRecord[] = [];
  return {
    records,
    get count() {
      return records.length;
    },
    write(rec) {
      const { raw, truncated } = capRaw(rec.raw);
      const out: DeadLetterRecord = { ...rec, raw };
      if (truncated) out.truncated = true;
      records.push(out);
    },
    async close() {},
  };
}
