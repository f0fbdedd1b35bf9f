/**
 * The outbox's retry options (outbox.ts) and how long a run drains it at its end: the config file's
 * `actions.notify` delays (core/config.ts composes them).
 */
import { z } from 'zod';

const HOUR_MS = 3_600_000;

export const OUTBOX_DEFAULTS = {
  /** First backoff ceiling. */
  baseDelayMs: 1000,
  /** Backoff ceiling: an endpoint down for long is tried every few minutes. */
  maxDelayMs: 300_000,
  /** An entry not delivered this long after its first enqueue is dead. */
  maxAgeMs: 24 * HOUR_MS,
  /**
   * How long the CLI's end of run keeps delivering what is pending (close({ drainMs })). close()'s
   * own default stays 0, so that a library caller who gives none is not held up.
   */
  runDrainMs: 10_000,
} as const;

/** The config file's `actions.notify` delays, in the units a person writes them. */
export const outboxConfigFields = {
  /** Backoff with full jitter between baseDelayMs and maxDelayMs; give up after maxAgeHours. */
  baseDelayMs: z.number().int().positive().default(OUTBOX_DEFAULTS.baseDelayMs),
  maxDelayMs: z.number().int().positive().default(OUTBOX_DEFAULTS.maxDelayMs),
  maxAgeHours: z
    .number()
    .positive()
    .default(OUTBOX_DEFAULTS.maxAgeMs / HOUR_MS),
  /** At the end of a run, keep delivering what is pending for up to this long. */
  drainSeconds: z
    .number()
    .nonnegative()
    .default(OUTBOX_DEFAULTS.runDrainMs / 1000),
};
