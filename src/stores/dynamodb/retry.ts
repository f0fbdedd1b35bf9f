/**
 * Retries for DynamoDB calls: the same policy as for Kinesis (full-jitter backoff, throttling and
 * transient errors only), with errors that name the table.
 */
import { StorepulseError } from '../../core/errors.js';
import {
  backoffMs,
  DEFAULT_MAX_RETRIES,
  errorCode,
  isRetriable,
  sleep,
} from '../../streams/kinesis/retry.js';

export { backoffMs, DEFAULT_MAX_RETRIES, errorCode, sleep };

export async function dynamoCall<T>(
  op: string,
  table: string,
  call: () => Promise<T>,
  maxRetries: number,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= maxRetries || !isRetriable(err)) throw dynamoError(op, table, err, attempt);
      await sleep(backoffMs(attempt));
    }
  }
}

/** A failed DynamoDB call as a StorepulseError: a missing table is STATE, the rest IO. */
export function dynamoError(op: string, table: string, err: unknown, retries = 0): StorepulseError {
  if (err instanceof StorepulseError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const tries = retries > 0 ? ` after ${retries} retries` : '';
  return new StorepulseError(
    code === 'ResourceNotFoundException' ? 'STATE' : 'IO',
    `${op} on DynamoDB table "${table}" failed${tries}: ${code}: ${message}`,
    { cause: err },
  );
}
