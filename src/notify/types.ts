/**
 * The notifier contract: tell people about alerts. Backends, each a folder with a `notifier.ts`:
 * console/, webhook/, smtp/, sns/. The outbox (outbox.ts) stands in front of them and retries.
 *
 * A notifier delivers what it is given now, once, and says by its error whether trying again later
 * makes sense; it never retries by itself (the outbox owns retries, backoff and giving up). Each
 * delivery carries the delivery id `<alert id>:<notifier name>`, stable across retries, restarts and
 * replays, so a receiver can drop repeats.
 */
import type { Alert, Severity } from '../core/alert.js';
import { StorepulseError } from '../core/errors.js';

export interface NotifyOptions {
  /** Aborts a send in flight (the outbox aborts at the end of close()'s drain); an abort is retryable. */
  signal?: AbortSignal;
}

export interface Notifier {
  /** Unique among the notifiers of a run: part of every delivery id. */
  readonly name: string;
  /** Lowest severity this notifier is sent (default 'high': "high severity notifies by default"). */
  readonly minSeverity?: Severity;
  /**
   * Delivers the alerts (one, or a small batch). Resolves once the receiver accepted them; otherwise
   * throws, preferably a NotifyError that says whether a retry makes sense.
   */
  notify(alerts: readonly Alert[], opts?: NotifyOptions): Promise<void>;
  close(): Promise<void>;
}

/** `<alert id>:<notifier name>`: the same for every attempt to send this alert through this notifier. */
export function deliveryId(alertId: string, notifier: string): string {
  return `${alertId}:${notifier}`;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2 };

export const DEFAULT_MIN_SEVERITY: Severity = 'high';

export function notifies(n: Pick<Notifier, 'minSeverity'>, a: Pick<Alert, 'severity'>): boolean {
  return SEVERITY_RANK[a.severity] >= SEVERITY_RANK[n.minSeverity ?? DEFAULT_MIN_SEVERITY];
}

/**
 * A failed delivery. `retryable`: the receiver may take it later (network error, timeout, HTTP 5xx or
 * 429, SMTP 4xx, AWS throttling or server fault); otherwise the same request will fail again (other
 * HTTP 4xx, SMTP 5xx, a missing topic), and the outbox gives up on it at once.
 */
export class NotifyError extends StorepulseError {
  readonly notifier: string;
  /** HTTP status, SMTP reply code or AWS status, when there was one. */
  readonly status: number | undefined;
  /** The receiver asked to wait this long (HTTP Retry-After): a floor for the next attempt. */
  readonly retryAfterMs: number | undefined;

  constructor(
    notifier: string,
    message: string,
    opts: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super('IO', `${notifier}: ${message}`, { cause: opts.cause, retryable: opts.retryable });
    this.name = 'NotifyError';
    this.notifier = notifier;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/**
 * Whether a failed delivery is worth another try: the error's own flag (StorepulseError.retryable,
 * which NotifyError sets). Errors without one (a bug, a driver error nobody classified) count as
 * retryable: the outbox's max age still bounds them, and an alert is not dropped on a guess.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof StorepulseError ? err.retryable : true;
}

/** HTTP status → retryable: 408, 425, 429 and 5xx are; every other status that is not 2xx is not. */
export function retryableHttpStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** `Retry-After` as milliseconds (seconds or an HTTP date), capped at an hour; undefined if absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 3_600_000) : undefined;
}
