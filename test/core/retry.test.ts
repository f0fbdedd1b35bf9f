/**
 * The one retry policy: full-jitter backoff, and the loop that goes by the error's retryable flag.
 * Backoff waits are kept to a millisecond or two through options; no timing is asserted.
 */
import { describe, expect, it } from 'vitest';
import { StorepulseError } from '../../src/core/errors.js';
import { backoffMs, RETRY_DEFAULTS, withRetry } from '../../src/core/retry.js';

const FAST = { baseMs: 1, capMs: 2 };
const retryable = (message = 'busy') => new StorepulseError('IO', message, { retryable: true });

/** A call that fails with `failures` in turn, then answers 'done'; counts its calls. */
function flaky(...failures: unknown[]) {
  const call = async (): Promise<string> => {
    call.calls++;
    if (failures.length > 0) throw failures.shift();
    return 'done';
  };
  call.calls = 0;
  return call;
}

describe('backoffMs', () => {
  it('is full jitter below min(cap, base × 2^retries), in whole milliseconds', () => {
    const opts = (random: number) => ({ baseMs: 1000, capMs: 300_000, random: () => random });
    expect(backoffMs(0, opts(0.999))).toBe(999);
    expect(backoffMs(2, opts(0.5))).toBe(2000);
    expect(backoffMs(39, opts(0.5))).toBe(150_000);
    expect(backoffMs(4999, opts(0.999))).toBe(299_700);
    expect(backoffMs(1, opts(0))).toBe(0);
  });

  it('defaults to 100 ms doubling up to 5 s', () => {
    expect(RETRY_DEFAULTS).toEqual({ baseMs: 100, capMs: 5000, maxRetries: 8 });
    expect(backoffMs(0, { random: () => 0.5 })).toBe(50);
    expect(backoffMs(5, { random: () => 0.5 })).toBe(1600);
    expect(backoffMs(6, { random: () => 0.5 })).toBe(2500);
    for (let retry = 0; retry < 20; retry++) {
      const ms = backoffMs(retry);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(5000, 100 * 2 ** retry));
    }
  });
});

describe('withRetry', () => {
  it('retries what the error marks retryable, until it succeeds', async () => {
    const call = flaky(retryable(), retryable());
    expect(await withRetry(call, { ...FAST, maxRetries: 2 })).toBe('done');
    expect(call.calls).toBe(3);
  });

  it('gives up after maxRetries and throws the last error', async () => {
    const last = retryable('still busy');
    const call = flaky(retryable(), retryable(), last);
    await expect(withRetry(call, { ...FAST, maxRetries: 2 })).rejects.toBe(last);
    expect(call.calls).toBe(3);
  });

  it('does not retry an error without the flag, nor one that is not a StorepulseError', async () => {
    for (const failure of [new StorepulseError('IO', 'refused'), new Error('bug'), 'a string']) {
      const call = flaky(failure);
      await expect(withRetry(call, { ...FAST, maxRetries: 5 })).rejects.toBe(failure);
      expect(call.calls).toBe(1);
    }
  });

  it('decides on what `describe` makes of a failure, and tells it the retries made', async () => {
    const seen: number[] = [];
    const describe = (failure: unknown, retries: number) => {
      seen.push(retries);
      const message = `${(failure as Error).message} after ${retries} retries`;
      return new StorepulseError('IO', message, { retryable: (failure as Error).message === 'throttled' });
    };
    const call = flaky(new Error('throttled'), new Error('throttled'), new Error('throttled'));
    await expect(withRetry(call, { ...FAST, maxRetries: 2, describe })).rejects.toThrow(
      'throttled after 2 retries',
    );
    expect(seen).toEqual([0, 1, 2]);

    seen.length = 0;
    const refused = flaky(new Error('throttled'), new Error('denied'));
    await expect(withRetry(refused, { ...FAST, maxRetries: 8, describe })).rejects.toThrow(
      'denied after 1 retries',
    );
    expect(refused.calls).toBe(2);
  });

  it('stops at once when the signal aborts, also during a wait', async () => {
    const stop = new AbortController();
    stop.abort();
    const call = flaky(retryable(), retryable());
    await expect(withRetry(call, { ...FAST, signal: stop.signal })).rejects.toBeInstanceOf(StorepulseError);
    expect(call.calls).toBe(1);

    const later = new AbortController();
    const slow = flaky(retryable(), retryable());
    const started = Date.now();
    setTimeout(() => later.abort(), 20);
    await expect(
      withRetry(slow, { baseMs: 60_000, capMs: 60_000, random: () => 0.99, signal: later.signal }),
    ).rejects.toBeInstanceOf(StorepulseError);
    expect(slow.calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
