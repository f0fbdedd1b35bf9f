/** The live journey rollups' options: the config file's `journey` section (core/config.ts). */
import { z } from 'zod';

const JOURNEY_DEFAULTS = {
  /** Google Analytics' session timeout: a session that has been quiet this long has ended. */
  sessionGapMinutes: 30,
  /** Products kept per measure in each stored hour (exact within it; minutes keep all; docs/journey.md). */
  topK: 1000,
  /** Minute buckets are kept this long behind the newest event time... */
  minuteRetentionHours: 48,
  /** ...hour buckets this long (two REES46 months fit). */
  hourRetentionDays: 90,
  /** Wall time between writes of the changed buckets to the store. */
  flushSeconds: 1,
} as const;

export const journeyOptionsSchema = z
  .object({
    /** Keep the rollups (`process --no-journey` turns them off for one run). */
    enabled: z.boolean().default(true),
    sessionGapMinutes: z.number().positive().default(JOURNEY_DEFAULTS.sessionGapMinutes),
    topK: z.number().int().min(1).max(10_000).default(JOURNEY_DEFAULTS.topK),
    // At least two hours: an hour is merged from its stored minutes once it is final.
    minuteRetentionHours: z.number().min(2).default(JOURNEY_DEFAULTS.minuteRetentionHours),
    hourRetentionDays: z.number().positive().default(JOURNEY_DEFAULTS.hourRetentionDays),
    flushSeconds: z.number().positive().default(JOURNEY_DEFAULTS.flushSeconds),
  })
  .strict();

export type JourneyConfig = z.infer<typeof journeyOptionsSchema>;
