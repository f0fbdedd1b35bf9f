/** The optional config file's schema and defaults. Validation only: loading is the CLI's job. */
import { z } from 'zod';

export const TIME_FIELDS = ['event_time', 'txn_timestamp'] as const;
export type TimeField = (typeof TIME_FIELDS)[number];

const detectSchema = z
  .object({
    timeField: z.enum(TIME_FIELDS).default('event_time'),
    windowSeconds: z.number().int().positive().default(10),
    /** count > threshold raises an alert (the reference's `count(*) > 5`). */
    threshold: z.number().int().nonnegative().default(5),
    /** count > highThreshold is high severity and notifies (the reference Lambda's `> 10`). */
    highThreshold: z.number().int().nonnegative().default(10),
    /** how far behind the newest event time a window may still receive events. */
    watermarkSeconds: z.number().nonnegative().default(10),
    appServer: z.string().min(1).default('storepulse'),
  })
  .strict();

const simulateSchema = z
  .object({
    shards: z.number().int().min(1).max(1024).default(4),
    partitionKey: z.enum(['category_id', 'user_id', 'user_session', 'product_id']).default('category_id'),
  })
  .strict();

/** The embedded log (streams/embedded/; docs/streams-embedded.md). */
const streamsSchema = z
  .object({
    /** batch: fsync before a put is acknowledged; interval: every fsyncIntervalMs; none: the OS decides. */
    durability: z.enum(['batch', 'interval', 'none']).default('batch'),
    fsyncIntervalMs: z.number().int().positive().default(1000),
    segmentBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(64 * 1024 * 1024),
    /** Oldest segments go once a stream holds more than this many bytes, or after retentionHours. */
    retentionBytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 ** 3),
    retentionHours: z
      .number()
      .positive()
      .default(7 * 24),
    /** Records the processor handles between checkpoints, and the longest wall time between them. */
    checkpointRecords: z.number().int().positive().default(200_000),
    checkpointSeconds: z.number().positive().default(5),
  })
  .strict();

export const configSchema = z
  .object({
    dataDir: z.string().min(1).optional(),
    maxLineBytes: z
      .number()
      .int()
      .min(256)
      .default(64 * 1024),
    detect: detectSchema.default(detectSchema.parse({})),
    simulate: simulateSchema.default(simulateSchema.parse({})),
    streams: streamsSchema.default(streamsSchema.parse({})),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type DetectConfig = Config['detect'];
export type StreamsConfig = Config['streams'];

export const DEFAULT_CONFIG: Config = configSchema.parse({});

/** Validates a parsed config object; returns the config or a list of readable problems. */
export function validateConfig(
  input: unknown,
): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const r = configSchema.safeParse(input ?? {});
  if (r.success) return { ok: true, config: r.data };
  return {
    ok: false,
    problems: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
  };
}
