/**
 * The pipeline's options that the config file sets (core/config.ts composes them): how often the
 * processor checkpoints, and how the simulator keys and shards what it sends.
 */
import { z } from 'zod';
import { embeddedStreamTunables } from '../streams/embedded/options.js';

/** The processor's checkpoint cadence, whichever comes first (processor.ts `CheckpointOptions`). */
export const CHECKPOINT_DEFAULTS = {
  /** Bounds what a crash makes the next run read again. */
  everyRecords: 200_000,
  /** Bounds how stale the lake and the consumer position are while traffic is slow. */
  everyMs: 5000,
} as const;

/** The config file's `streams.checkpointRecords` and `streams.checkpointSeconds`. */
export const checkpointConfigFields = {
  checkpointRecords: z.number().int().positive().default(CHECKPOINT_DEFAULTS.everyRecords),
  checkpointSeconds: z
    .number()
    .positive()
    .default(CHECKPOINT_DEFAULTS.everyMs / 1000),
};

export const PARTITION_KEY_FIELDS = ['category_id', 'user_id', 'user_session', 'product_id'] as const;

export const SIMULATE_DEFAULTS = {
  /** The reference simulator's key: Kinesis stream 1 is sharded by category. */
  partitionKey: 'category_id',
} as const;

/** The config file's `simulate` section. */
export const simulateOptionsSchema = z
  .object({
    /** Shards of a stream the simulator creates: the embedded log's count and bounds. */
    shards: embeddedStreamTunables.shards,
    partitionKey: z.enum(PARTITION_KEY_FIELDS).default(SIMULATE_DEFAULTS.partitionKey),
  })
  .strict();
