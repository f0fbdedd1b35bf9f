/**
 * Detection's options: the config file's `detect` section (core/config.ts), with the reference
 * rule's settings beside storepulse's rule set (spec.ts).
 */
import { z } from 'zod';
import { DEFAULT_RULES, ruleSetProblems, ruleSpecSchema } from './spec.js';

export const TIME_FIELDS = ['event_time', 'txn_timestamp'] as const;
export type TimeField = (typeof TIME_FIELDS)[number];

export const DETECT_DEFAULTS = {
  /** Event time, so that a replay at any speed gives the same alerts. */
  timeField: 'event_time',
  /** The reference's Flink SQL: `count(*) > 5` per user_id per 10 s tumbling window, watermark 10 s. */
  windowSeconds: 10,
  threshold: 5,
  /** The reference Lambda notifies when the count is > 10. */
  highThreshold: 10,
  watermarkSeconds: 10,
  /** The `<name>` of the reference table's key `userid#<id>#appserver#<name>`. */
  appServer: 'storepulse',
  /** The reference rule flags fast humans, so it runs only when asked for. */
  reference: false,
} as const;

export const detectOptionsSchema = z
  .object({
    timeField: z.enum(TIME_FIELDS).default(DETECT_DEFAULTS.timeField),
    windowSeconds: z.number().int().positive().default(DETECT_DEFAULTS.windowSeconds),
    /** count > threshold raises an alert. */
    threshold: z.number().int().nonnegative().default(DETECT_DEFAULTS.threshold),
    /** count > highThreshold is high severity and notifies. */
    highThreshold: z.number().int().nonnegative().default(DETECT_DEFAULTS.highThreshold),
    /** How far behind the newest event time a window may still receive events. */
    watermarkSeconds: z.number().nonnegative().default(DETECT_DEFAULTS.watermarkSeconds),
    appServer: z.string().min(1).default(DETECT_DEFAULTS.appServer),
    /** Run the reference rule (the settings above) beside the rules below. */
    reference: z.boolean().default(DETECT_DEFAULTS.reference),
    /** storepulse's rules (spec.ts); a list given here replaces the defaults. */
    rules: z.array(ruleSpecSchema).default(DEFAULT_RULES.map((r) => ruleSpecSchema.parse(r))),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const message of ruleSetProblems(d.rules))
      ctx.addIssue({ code: 'custom', path: ['rules'], message });
  });

export type DetectOptions = z.infer<typeof detectOptionsSchema>;
