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

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2 };

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

/** One line per alert, shared by the text backends (console, SMTP subject/body, SNS). */
export function alertSummary(a: Alert): string {
  return (
    `[${a.severity.toUpperCase()}] ${a.rule}: ${a.key_type} ${a.key} made ${a.count} actions in ` +
    `${a.window_start} .. ${a.window_end} (score ${a.score.toFixed(1)})`
  );
}

/** A few evidence items as `key: value` strings, each cut to a readable length. */
export function evidenceItems(a: Alert, max = 5): string[] {
  return Object.entries(a.evidence)
    .slice(0, max)
    .map(([k, v]) => {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}: ${text.length > 200 ? `${text.slice(0, 199)}…` : text}`;
    });
}

/** The plain-text body of an alert (SMTP, SNS): every field, one per line. */
export function alertText(a: Alert, delivery: string): string {
  const lines = [
    alertSummary(a),
    '',
    `rule: ${a.rule}`,
    `severity: ${a.severity}`,
    `key: ${a.key_type} ${a.key}`,
  ];
  if (a.user_id !== null) lines.push(`user_id: ${a.user_id}`);
  lines.push(
    `count (num_actions_per_watermark): ${a.count}`,
    `window: ${a.window_start} .. ${a.window_end}`,
    `score: ${a.score.toFixed(2)}`,
    `first_seen: ${a.first_seen}`,
    `last_seen: ${a.last_seen}`,
    `detected_event_time: ${a.detected_event_time}`,
    `detected_at: ${a.detected_at}`,
  );
  const evidence = evidenceItems(a);
  if (evidence.length > 0) lines.push('evidence:', ...evidence.map((e) => `  ${e}`));
  lines.push('', `alert id: ${a.id}`, `delivery id: ${delivery}`);
  return `${lines.join('\n')}\n`;
}

// ---- the durable outbox's store contract (SQLite: src/stores/sqlite/outbox-store.ts) ----

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

export interface OutboxEntry {
  /** Enqueue order: a notifier's entries are delivered in this order. */
  seq: number;
  notifier: string;
  deliveryId: string;
  alert: Alert;
  status: OutboxStatus;
  /** Sends tried. */
  attempts: number;
  /** Failed sends that were scheduled again. */
  retries: number;
  /** Epoch ms of the first enqueue. */
  enqueuedAt: number;
  /** Epoch ms before which no attempt is made. */
  nextAt: number;
  lastError: string | null;
  /** Epoch ms it was delivered or given up. */
  doneAt: number | null;
}

export interface OutboxCounts {
  pending: number;
  delivered: number;
  dead: number;
  /** Failed attempts that were scheduled again. */
  retries: number;
  /** Age in ms of the oldest pending entry, null when none is pending. */
  oldestPendingAgeMs: number | null;
}

export interface OutboxStats extends OutboxCounts {
  byNotifier: Record<string, OutboxCounts>;
}

export interface OutboxQuery {
  /** Default: pending and dead (everything not delivered). */
  status?: OutboxStatus | readonly OutboxStatus[];
  notifier?: string;
  limit?: number;
}

export interface OutboxStore {
  /** Adds entries idempotently by (alert id, notifier); durable when it resolves. Returns how many were new. */
  add(entries: readonly { alert: Alert; notifier: string }[], now: number): Promise<number>;
  /** The notifier's oldest pending entry. */
  head(notifier: string): Promise<OutboxEntry | undefined>;
  markDelivered(seq: number, now: number): Promise<void>;
  /** A failed attempt, to be tried again at `nextAt`. */
  reschedule(seq: number, nextAt: number, error: string): Promise<void>;
  /** Given up: kept with the error; `attempted` says whether this was after a send. */
  markDead(seq: number, now: number, error: string, attempted: boolean): Promise<void>;
  list(query?: OutboxQuery): Promise<OutboxEntry[]>;
  stats(now: number): Promise<OutboxStats>;
  close(): Promise<void>;
}
