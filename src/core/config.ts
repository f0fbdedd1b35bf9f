/** The optional config file's schema and defaults. Validation only: loading is the CLI's job. */
import { z } from 'zod';
import { DEFAULT_RULES, ruleSetProblems, ruleSpecSchema } from './rules/spec.js';

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
    /** Run the reference rule (the settings above) beside the rules below. Off by default: it flags fast humans. */
    reference: z.boolean().default(false),
    /** storepulse's rules (core/rules/spec.ts); a list given here replaces the defaults. */
    rules: z.array(ruleSpecSchema).default(DEFAULT_RULES.map((r) => ruleSpecSchema.parse(r))),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const message of ruleSetProblems(d.rules))
      ctx.addIssue({ code: 'custom', path: ['rules'], message });
  });

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
    /**
     * How often a reader of an embedded stream that has caught up looks for new records (ms): the
     * floor of event-to-alert latency. 5 ms: p50 14–29 ms at 20k events/s against 25–37 ms at 10 ms,
     * for ~2 % more of a core while idle (bench/RESULTS.md).
     */
    pollMs: z.number().int().min(1).max(10_000).default(5),
    /** Records the processor handles between checkpoints, and the longest wall time between them. */
    checkpointRecords: z.number().int().positive().default(200_000),
    checkpointSeconds: z.number().positive().default(5),
  })
  .strict();

const severity = z.enum(['low', 'medium', 'high']);

/** The reference Lambda's job: store, metrics, notifications (docs/actions.md). */
const actionsSchema = z
  .object({
    store: z
      .object({
        /** sqlite: `alerts.sqlite` in the data folder; dynamodb: the reference table and key scheme. */
        backend: z.enum(['sqlite', 'dynamodb']).default('sqlite'),
        table: z.string().min(3).default('ddb-ecommerce-tab-1'),
        region: z.string().optional(),
        endpoint: z.url().optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /** Prometheus text format on http://host:port/metrics while the processor runs. */
        prometheus: z
          .object({
            host: z.string().default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(9464),
          })
          .strict()
          .optional(),
        /** CloudWatch Embedded Metric Format lines (`ecomm-user-high-volume-events`): a file, or `-` for stdout. */
        emf: z
          .object({ out: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    notify: z
      .object({
        /** One line per alert on stderr. */
        console: z
          .object({ minSeverity: severity.default('high') })
          .strict()
          .nullable()
          .default({ minSeverity: 'high' }),
        /** Slack-compatible JSON, signed with HMAC-SHA256 when a secret is set (or $STOREPULSE_WEBHOOK_SECRET). */
        webhook: z
          .object({
            url: z.url(),
            secret: z.string().min(1).optional(),
            minSeverity: severity.default('high'),
          })
          .strict()
          .optional(),
        /** Email over SMTP; the password may come from $STOREPULSE_SMTP_PASSWORD. */
        email: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(587),
            secure: z.boolean().default(false),
            user: z.string().optional(),
            password: z.string().optional(),
            from: z.string().min(3),
            to: z.array(z.string().min(3)).min(1),
            minSeverity: severity.default('high'),
          })
          .strict()
          .optional(),
        /** SNS, the reference's topic by default. */
        sns: z
          .object({
            topicArn: z.string().optional(),
            topicName: z.string().default('ecomm-user-high-severity-incidents'),
            region: z.string().optional(),
            endpoint: z.url().optional(),
            minSeverity: severity.default('high'),
          })
          .strict()
          .optional(),
        /** Retries from the durable outbox: backoff with full jitter between these, give up after maxAgeHours. */
        baseDelayMs: z.number().int().positive().default(1000),
        maxDelayMs: z.number().int().positive().default(300_000),
        maxAgeHours: z.number().positive().default(24),
        /** At the end of a run, keep delivering what is pending for up to this long. */
        drainSeconds: z.number().nonnegative().default(10),
      })
      .strict()
      .prefault({}),
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
    actions: actionsSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type DetectConfig = Config['detect'];
export type StreamsConfig = Config['streams'];
export type ActionsConfig = Config['actions'];

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
