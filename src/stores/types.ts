/** The alert store contract. Backends: sqlite/ (embedded default); dynamodb/ comes with the AWS work. */
import type { Alert, Severity } from '../core/alert.js';

export interface AlertQuery {
  limit?: number;
  severity?: Severity;
  userId?: number;
  rule?: string;
}

export interface AlertCounts {
  total: number;
  bySeverity: Record<Severity, number>;
  users: number;
}

export interface AlertStore {
  /** Stores alerts idempotently by id; returns the ones that were new (a replay returns none). */
  put(alerts: readonly Alert[]): Promise<Alert[]>;
  /** Newest window first. */
  list(query?: AlertQuery): Promise<Alert[]>;
  counts(): Promise<AlertCounts>;
  /** Every user_id with at least one alert, ascending. */
  alertedUsers(): Promise<number[]>;
  close(): Promise<void>;
}
