/**
 * Retries for Kinesis calls: exponential backoff with full jitter (sleep a random time up to
 * base * 2^attempt, capped), as AWS recommends for throttled clients. The SDK's own retries are turned
 * off on clients that openKinesisStream creates, so `maxRetries` is the one limit in force.
 */

import { StorepulseError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';

// Re-exported for the Kinesis and DynamoDB modules that take it from here with the rest of retrying.
export { sleep };

/** Whole-call errors that mean "too fast, slow down". */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/** Server-side or network hiccups worth another try. */
const TRANSIENT = new Set([
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** Per-record PutRecords error codes that a retry can fix (any other code fails the put at once). */
export const RETRIABLE_ENTRY_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'KMSThrottlingException',
  'ServiceUnavailable',
]);

export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 5_000;
export const DEFAULT_MAX_RETRIES = 8;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** The AWS error name or Node error code of an error, for messages and classification. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as ErrorLike;
    if (typeof e.code === 'string' && e.code) return e.code;
    if (typeof e.name === 'string' && e.name && e.name !== 'Error') return e.name;
  }
  return 'Error';
}

export function isThrottling(err: unknown): boolean {
  return THROTTLING.has(errorCode(err)) || (err as ErrorLike | undefined)?.$metadata?.httpStatusCode === 429;
}

export function isTransient(err: unknown): boolean {
  const e = err as ErrorLike | undefined;
  if (TRANSIENT.has(errorCode(err))) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  // Node wraps socket errors: the code may sit on the cause.
  return e?.cause !== undefined && e.cause !== err && TRANSIENT.has(errorCode(e.cause));
}

export function isRetriable(err: unknown): boolean {
  return isThrottling(err) || isTransient(err);
}

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)). */
export function backoffMs(attempt: number, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}

/**
 * Runs `call` until it succeeds, retrying throttling and transient errors with backoff up to
 * `maxRetries` times. Other errors, and the last one, are thrown as a StorepulseError naming the
 * operation, the stream and the AWS error code (an abort is thrown as it is).
 */
export async function withRetry<T>(
  op: string,
  stream: string,
  call: () => Promise<T>,
  maxRetries: number,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (signal?.aborted) throw err;
      if (attempt >= maxRetries || !isRetriable(err)) throw kinesisError(op, stream, err, attempt);
      await sleep(backoffMs(attempt), signal);
    }
  }
}

/** A failed Kinesis call as a StorepulseError: a missing stream or shard is INPUT, the rest IO. */
export function kinesisError(op: string, stream: string, err: unknown, retries = 0): StorepulseError {
  if (err instanceof StorepulseError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const tries = retries > 0 ? ` after ${retries} retries` : '';
  return new StorepulseError(
    code === 'ResourceNotFoundException' ? 'INPUT' : 'IO',
    `${op} on Kinesis stream "${stream}" failed${tries}: ${code}: ${message}`,
    { cause: err },
  );
}
