/** Options of the embedded log, their defaults and their validation. */
import { StorepulseError } from '../../core/errors.js';

export interface EmbeddedStreamOptions {
  /** Folder of this stream, e.g. <dataDir>/streams/<name>. */
  dir: string;
  name: string;
  /** 'write' takes the single-writer lock; 'read' never writes records (it may write checkpoints). */
  mode: 'write' | 'read';
  /** Shards when the stream is created (write mode, stream missing). Default 4. An existing stream keeps its count. */
  shards?: number;
  /** 'batch': fsync the shard files before putRecords resolves (default); 'interval': fsync every `fsyncIntervalMs` (default 1000) and on close; 'none'. */
  durability?: 'batch' | 'interval' | 'none';
  fsyncIntervalMs?: number;
  /** Segment roll size, default 64 MiB. */
  segmentBytes?: number;
  /**
   * Retention: delete whole oldest segments (never the active one) when a shard holds more than its
   * share of `retentionBytes` (the stream's total, split evenly over the shards), or when a
   * segment's newest record is older than `retentionMs`. Defaults: 10 GiB, 7 days.
   */
  retentionBytes?: number;
  retentionMs?: number;
  /** Poll interval when a reader is caught up, default 50 ms. */
  pollMs?: number;
  /** Where notices go (a recovered tail, a stale lock taken over). Default: stderr. */
  log?: (message: string) => void;
}

export type ResolvedOptions = Required<EmbeddedStreamOptions>;

export const DEFAULTS = {
  shards: 4,
  durability: 'batch',
  fsyncIntervalMs: 1000,
  segmentBytes: 64 * 1024 * 1024,
  retentionBytes: 10 * 1024 ** 3,
  retentionMs: 7 * 24 * 3600_000,
  pollMs: 50,
} as const;

/** Shard folders are looked for up to this many (meta.ts). */
export const MAX_SHARDS = 1024;

function positive(name: string, v: number | undefined, fallback: number, min = 1, max = Infinity): number {
  if (v === undefined) return fallback;
  const integer = name !== 'retentionMs';
  if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
    throw new StorepulseError(
      'USAGE',
      `embedded stream option ${name}: ${String(v)} is not ${integer ? 'an integer' : 'a number'} in ${min}..${max}`,
    );
  }
  return v;
}

export function resolveOptions(o: EmbeddedStreamOptions): ResolvedOptions {
  if (typeof o.dir !== 'string' || o.dir === '')
    throw new StorepulseError('USAGE', 'embedded stream: dir is required');
  if (typeof o.name !== 'string' || o.name === '')
    throw new StorepulseError('USAGE', 'embedded stream: name is required');
  if (o.mode !== 'write' && o.mode !== 'read') {
    throw new StorepulseError('USAGE', `embedded stream ${o.name}: mode must be 'write' or 'read'`);
  }
  const durability = o.durability ?? DEFAULTS.durability;
  if (!['batch', 'interval', 'none'].includes(durability)) {
    throw new StorepulseError(
      'USAGE',
      `embedded stream ${o.name}: durability must be batch, interval or none`,
    );
  }
  return {
    dir: o.dir,
    name: o.name,
    mode: o.mode,
    shards: positive('shards', o.shards, DEFAULTS.shards, 1, MAX_SHARDS),
    durability,
    fsyncIntervalMs: positive('fsyncIntervalMs', o.fsyncIntervalMs, DEFAULTS.fsyncIntervalMs),
    segmentBytes: positive('segmentBytes', o.segmentBytes, DEFAULTS.segmentBytes, 1024),
    retentionBytes: positive('retentionBytes', o.retentionBytes, DEFAULTS.retentionBytes),
    retentionMs: positive('retentionMs', o.retentionMs, DEFAULTS.retentionMs),
    pollMs: positive('pollMs', o.pollMs, DEFAULTS.pollMs),
    log: o.log ?? ((message) => process.stderr.write(`storepulse: ${message}\n`)),
  };
}
