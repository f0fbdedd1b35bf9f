/**
 * The optional config file's schema, composed of each component's options schema and defaults (the
 * `options.ts` beside its code), so a setting has one default and one validator. Validation only:
 * loading is the CLI's job.
 */
import { z } from 'zod';
import { prometheusOptionsSchema } from '../metrics/prometheus/options.js';
import { outboxConfigFields } from '../notify/outbox-options.js';
import { DEFAULT_SNS_TOPIC } from '../notify/sns/options.js';
import { DEFAULT_MIN_SEVERITY } from '../notify/types.js';
import { checkpointConfigFields, simulateOptionsSchema } from '../pipeline/options.js';
import { readerConfigFields } from '../sources/options.js';
import { DEFAULT_DYNAMODB_TABLE } from '../stores/dynamodb/options.js';
import { EMBEDDED_STREAM_DEFAULTS, embeddedStreamTunables } from '../streams/embedded/options.js';
import { journeyOptionsSchema } from './journey/options.js';
import { dashboardOptionsSchema } from '../web/options.js';
import { lakeOptionsSchema } from '../lake/storage/options.js';
import { detectOptionsSchema } from './rules/options.js';

export { TIME_FIELDS, type TimeField } from './rules/options.js';

const HOUR_MS = 3_600_000;

/** The embedded log (streams/embedded/; docs/streams-embedded.md) and the processor's checkpoints. */
const streamsSchema = z
  .object({
    durability: embeddedStreamTunables.durability,
    fsyncIntervalMs: embeddedStreamTunables.fsyncIntervalMs,
    // A config file sets up real runs: a floor well above the library's keeps a typo from making a
    // file per batch.
    segmentBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(EMBEDDED_STREAM_DEFAULTS.segmentBytes),
    /** Oldest segments go once a stream holds more than this many bytes, or after retentionHours. */
    retentionBytes: embeddedStreamTunables.retentionBytes,
    retentionHours: z
      .number()
      .positive()
      .default(EMBEDDED_STREAM_DEFAULTS.retentionMs / HOUR_MS),
    pollMs: embeddedStreamTunables.pollMs,
    ...checkpointConfigFields,
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
        table: z.string().min(3).default(DEFAULT_DYNAMODB_TABLE),
        region: z.string().optional(),
        endpoint: z.url().optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /** Prometheus text format on http://host:port/metrics while the processor runs. */
        prometheus: prometheusOptionsSchema.optional(),
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
          .object({ minSeverity: severity.default(DEFAULT_MIN_SEVERITY) })
          .strict()
          .nullable()
          .default({ minSeverity: DEFAULT_MIN_SEVERITY }),
        /** Slack-compatible JSON, signed with HMAC-SHA256 when a secret is set (or $STOREPULSE_WEBHOOK_SECRET). */
        webhook: z
          .object({
            url: z.url(),
            secret: z.string().min(1).optional(),
            minSeverity: severity.default(DEFAULT_MIN_SEVERITY),
          })
          .strict()
          .optional(),
        /** Email over SMTP; the password may come from $STOREPULSE_SMTP_PASSWORD. */
        email: z
          .object({
            host: z.string().min(1),
            /** Absent: the notifier's default, 587, or 465 when `secure`. */
            port: z.number().int().min(1).max(65535).optional(),
            secure: z.boolean().default(false),
            user: z.string().optional(),
            password: z.string().optional(),
            from: z.string().min(3),
            to: z.array(z.string().min(3)).min(1),
            minSeverity: severity.default(DEFAULT_MIN_SEVERITY),
          })
          .strict()
          .optional(),
        /** SNS, the reference's topic by default. */
        sns: z
          .object({
            topicArn: z.string().optional(),
            topicName: z.string().default(DEFAULT_SNS_TOPIC),
            region: z.string().optional(),
            endpoint: z.url().optional(),
            minSeverity: severity.default(DEFAULT_MIN_SEVERITY),
          })
          .strict()
          .optional(),
        /** Retries from the durable outbox, and the drain at the end of a run. */
        ...outboxConfigFields,
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const configSchema = z
  .object({
    dataDir: z.string().min(1).optional(),
    ...readerConfigFields,
    detect: detectOptionsSchema.default(detectOptionsSchema.parse({})),
    simulate: simulateOptionsSchema.default(simulateOptionsSchema.parse({})),
    streams: streamsSchema.default(streamsSchema.parse({})),
    actions: actionsSchema.prefault({}),
    journey: journeyOptionsSchema.default(journeyOptionsSchema.parse({})),
    dashboard: dashboardOptionsSchema.default(dashboardOptionsSchema.parse({})),
    /** Where the lake is (lake/storage/options.ts; docs/lake-s3.md); absent: `<dataDir>/lake`. */
    lake: lakeOptionsSchema.optional(),
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
