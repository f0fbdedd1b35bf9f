/**
 * The one retry policy: exponential backoff with full jitter (what AWS recommends to clients that
 * share a throttled service: waits spread out instead of retrying in step), and one loop that tries
 * again only when the error says so (StorepulseError.retryable). Whoever understands a failure sets
 * that flag — aws/sdk.ts for AWS calls, the notifiers for deliveries — so the loop keeps no list of
 * error names and one backend's rules never leak into another's.
 */
import { StorepulseError } from './errors.js';
import { sleep } from './sleep.js';

export const RETRY_DEFAULTS = {
  /** Ceiling of the wait before the first retry. */
  baseMs: 100,
  /** No wait is longer than this. */
  capMs: 5_000,
  /** Retries after the first try. */
  maxRetries: 8,
} as const;

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** In [0, 1): the jitter. */
  random?: () => number;
}

/**
 * Full jitter: a uniformly random whole number of milliseconds below min(cap, base × 2^retry), where
 * `retry` counts the retries already made (0 before the first retry, so its wait is below `base`).
 */
export function backoffMs(retry: number, opts: BackoffOptions = {}): number {
  const { baseMs = RETRY_DEFAULTS.baseMs, capMs = RETRY_DEFAULTS.capMs, random = Math.random } = opts;
  // Bounded so that an outbox entry failing for a day (thousands of attempts) still gets a number.
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(retry, 52)));
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first try (default 8; 0 tries once). */
  maxRetries?: number;
  /** Ends the retrying: the failure at hand is thrown at once, also in the middle of a wait. */
  signal?: AbortSignal;
  /**
   * Turns a failure into the error to throw, given how many retries were made before it (for its
   * message). Its `retryable` flag decides whether there is another try. Default: the failure as it
   * is, so that only a StorepulseError marked retryable is retried.
   */
  describe?: (failure: unknown, retries: number) => unknown;
}

/** Runs `call` until it succeeds, or until a failure that is not retryable or is one too many. */
export async function withRetry<T>(call: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const { maxRetries = RETRY_DEFAULTS.maxRetries, signal, describe } = opts;
  for (let retries = 0; ; retries++) {
    try {
      return await call();
    } catch (failure) {
      const err = describe ? describe(failure, retries) : failure;
      const again = err instanceof StorepulseError && err.retryable && retries < maxRetries;
      if (!again || signal?.aborted) throw err;
      await sleep(backoffMs(retries, opts), signal);
      if (signal?.aborted) throw err;
    }
  }
}
