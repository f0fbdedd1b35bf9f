/**
 * Options of the embedded log: their defaults and their one validator. The config file's `streams`
 * and `simulate` sections (core/config.ts) take their fields from here.
 */
import { z } from 'zod';
import { StorepulseError } from '../../core/errors.js';
import { DEFAULT_SHARDS } from '../types.js';

export interface EmbeddedStreamOptions {
  /** Folder of this stream, e.g. <dataDir>/streams/<name>. */
  dir: string;
  name: string;
  /** 'write' takes the single-writer lock; 'read' never writes records (it may write checkpoints). */
  mode: 'write' | 'read';
  /** Shards when the stream is created (write mode, stream missing). An existing stream keeps its count. */
  shards?: number;
  /** 'batch': fsync the shard files before putRecords resolves; 'interval': fsync every `fsyncIntervalMs` and on close; 'none'. */
  durability?: 'batch' | 'interval' | 'none';
  fsyncIntervalMs?: number;
  /** Segment roll size. */
  segmentBytes?: number;
  /**
   * Retention: delete whole oldest segments (never the active one) when a shard holds more than its
   * share of `retentionBytes` (the stream's total, split evenly over the shards), or when a
   * segment's newest record is older than `retentionMs`.
   */
  retentionBytes?: number;
  retentionMs?: number;
  /** Poll interval when a reader is caught up. */
  pollMs?: number;
  /** Where notices go (a recovered tail, a stale lock taken over). Default: stderr. */
  log?: (message: string) => void;
}

export type ResolvedOptions = Required<EmbeddedStreamOptions>;

/** Shard folders are looked for up to this many (meta.ts). */
export const MAX_SHARDS = 1024;

export const EMBEDDED_STREAM_DEFAULTS = {
  shards: DEFAULT_SHARDS,
  durability: 'batch',
  fsyncIntervalMs: 1000,
  segmentBytes: 64 * 1024 * 1024,
  retentionBytes: 10 * 1024 ** 3,
  retentionMs: 7 * 24 * 3_600_000,
  /**
   * The floor of event-to-alert latency. 5 ms: p50 14–29 ms at 20k events/s against 25–37 ms at
   * 10 ms, for ~2 % more of a core while idle (bench/RESULTS.md).
   */
  pollMs: 5,
} as const;

/** The tunable options, defaults applied: shared with the config file so both validate alike. */
export const embeddedStreamTunables = {
  shards: z.number().int().min(1).max(MAX_SHARDS).default(EMBEDDED_STREAM_DEFAULTS.shards),
  durability: z.enum(['batch', 'interval', 'none']).default(EMBEDDED_STREAM_DEFAULTS.durability),
  fsyncIntervalMs: z.number().int().positive().default(EMBEDDED_STREAM_DEFAULTS.fsyncIntervalMs),
  // Small segments are allowed here so that tests can roll and retire them with a few records.
  segmentBytes: z.number().int().min(1024).default(EMBEDDED_STREAM_DEFAULTS.segmentBytes),
  retentionBytes: z.number().int().positive().default(EMBEDDED_STREAM_DEFAULTS.retentionBytes),
  retentionMs: z.number().positive().default(EMBEDDED_STREAM_DEFAULTS.retentionMs),
  pollMs: z.number().int().min(1).max(10_000).default(EMBEDDED_STREAM_DEFAULTS.pollMs),
};

const required = 'required (a non-empty string)';

const embeddedStreamOptionsSchema = z.object({
  dir: z.string({ error: required }).min(1, required),
  name: z.string({ error: required }).min(1, required),
  mode: z.enum(['write', 'read'], { error: "must be 'write' or 'read'" }),
  ...embeddedStreamTunables,
  log: z.custom<(message: string) => void>((v) => typeof v === 'function', 'must be a function').optional(),
});

const stderrLog = (message: string): void => {
  process.stderr.write(`storepulse: ${message}\n`);
};

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || ['number', 'boolean', 'bigint'].includes(typeof v)) return String(v);
  return `a ${typeof v}`;
}

/** Library users and tests open a stream directly, so bad options get a USAGE error naming each one. */
export function resolveOptions(o: EmbeddedStreamOptions): ResolvedOptions {
  const r = embeddedStreamOptionsSchema.safeParse(o);
  if (!r.success) {
    const input: Record<string, unknown> = typeof o === 'object' && o !== null ? { ...o } : {};
    const stream = typeof input.name === 'string' && input.name !== '' ? ` ${input.name}` : '';
    const problems = r.error.issues.map((i) => {
      const key = i.path.map(String).join('.') || '(options)';
      const given = key in input && input[key] !== undefined ? ` = ${shown(input[key])}` : '';
      return `${key}${given}: ${i.message}`;
    });
    throw new StorepulseError('USAGE', `embedded stream${stream}: bad options: ${problems.join('; ')}`);
  }
  return { ...r.data, log: r.data.log ?? stderrLog };
}
