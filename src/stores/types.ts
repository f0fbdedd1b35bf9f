/**
 * The store contracts, beside their backends' folders: alerts (sqlite/, dynamodb/), the notification
 * outbox (sqlite/outbox-store.ts), stream consumer checkpoints (sqlite/checkpoint-store.ts for
 * Kinesis; the embedded log keeps its own in files, streams/embedded/checkpoints.ts) and the live
 * journey rollups (sqlite/rollup-store.ts; docs/journey.md). Conformance suites:
 * test/stores/conformance.test.ts (alerts), test/notify/outbox.test.ts,
 * test/streams/conformance.test.ts (checkpoints, through each stream backend) and
 * test/stores/rollup-store.test.ts (rollups).
 */
import type { Alert, KeyType, Severity } from '../core/alert.js';
import { StorepulseError } from '../core/errors.js';
import type { Grain, RollupStats, StoredBucket } from '../core/journey/rollups.js';
import { isoUtc, parseEventTime } from '../core/time.js';

export interface AlertQuery {
  limit?: number;
  severity?: Severity;
  userId?: number;
  rule?: string;
  /** Only alerts with detected_at >= this ISO-8601 instant, newest detection first (a live feed's poll). */
  detectedSince?: string;
  /** Only alerts of this key (with keyType), e.g. a session id. */
  keyType?: KeyType;
  key?: string;
}

/** What a person decided about alerts, kept in the store beside them. */
export interface AlertMute {
  keyType: KeyType;
  key: string;
  /** ISO-8601 */
  until: string;
  /** ISO-8601 */
  at: string;
  note?: string;
}

/** An alert as the store gives it back: the alert plus what people did with it. */
export interface StoredAlert extends Alert {
  /** ISO-8601 when a person acknowledged it, else null. */
  acknowledged_at: string | null;
}

export interface AlertCounts {
  total: number;
  bySeverity: Record<Severity, number>;
  users: number;
}

export interface AlertStore {
  /** Stores alerts idempotently by id; returns the ones that were new (a replay returns none). */
  put(alerts: readonly Alert[]): Promise<Alert[]>;
  /**
   * Newest window first (then key, rule, id); with `detectedSince`, newest `detected_at` first (then
   * id). Mutes do not hide alerts: the reader marks them.
   */
  list(query?: AlertQuery): Promise<StoredAlert[]>;
  counts(): Promise<AlertCounts>;
  /** Every user_id with at least one alert, ascending. */
  alertedUsers(): Promise<number[]>;
  /**
   * Marks alerts acknowledged at `at`; returns how many were found (unknown ids are ignored).
   * Idempotent: acknowledging again keeps the first time, and so does a put of the same alert.
   */
  acknowledge(ids: readonly string[], at: string): Promise<number>;
  /** Mutes a key until `until` (replacing an earlier mute of the same key); `until` in the past = unmute. */
  mute(mute: AlertMute): Promise<void>;
  /** Mutes in force at `now` (ISO-8601): `until` after `now`, ordered by key (then key type). */
  mutes(now: string): Promise<AlertMute[]>;
  close(): Promise<void>;
}

/**
 * An ISO-8601 instant given to an alert store, in the one form the stores keep and compare
 * (`Date#toISOString`, as every alert's own instants): instants are compared as text, in SQL and in
 * DynamoDB filters, and `…:00Z` sorts after `…:00.000Z` although it is the same instant.
 */
export function storeInstant(text: string, what: string): string {
  const ms = parseEventTime(text);
  if (Number.isNaN(ms)) {
    throw new StorepulseError(
      'USAGE',
      `${what} takes an ISO-8601 instant with a zone, got ${JSON.stringify(text)}`,
    );
  }
  return isoUtc(ms);
}

// ---- the notification outbox (notify/outbox.ts) ----

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

// ---- consumer checkpoints of a stream (streams/types.ts DurableStream.checkpoints) ----

export interface Checkpoint {
  /** shardId → sequence number of the last record fully processed, or SHARD_END. */
  positions: Record<string, string>;
  /** Opaque consumer state saved atomically with the positions (e.g. the processor's open windows). */
  state?: string;
  /** Epoch ms of the save. */
  updatedAt: number;
}

/** Consumer checkpoints of one stream. A save replaces the consumer's previous checkpoint atomically. */
export interface CheckpointStore {
  load(consumer: string): Promise<Checkpoint | undefined>;
  save(consumer: string, checkpoint: Checkpoint): Promise<void>;
  /** Consumers with a checkpoint, sorted. */
  consumers(): Promise<string[]>;
}

// ---- the live journey rollups (core/journey/rollups.ts) ----

/** What the rollup store says about the run that writes it. */
export interface RollupStatus {
  stats: RollupStats;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

export interface RollupStore {
  /**
   * Stores buckets whole, each replacing what is stored under its grain and start (so writing the
   * same bucket again, as a restarted run does, changes nothing), with the writer's stats, at once.
   */
  put(buckets: readonly StoredBucket[], stats: RollupStats, now: number): Promise<void>;
  /** The buckets of `grain` starting in [from, to), oldest first. */
  range(grain: Grain, from: number, to: number): Promise<StoredBucket[]>;
  /** Undefined until the first put. */
  status(): Promise<RollupStatus | undefined>;
  /** Deletes the buckets of `grain` starting before `before` (retention); returns how many. */
  prune(grain: Grain, before: number): Promise<number>;
  close(): Promise<void>;
}
