/**
 * Alerts in SQLite, one row per alert in the reference DynamoDB item's shape: partition key
 * `userid#<id>#appserver#<name>`, sort key epoch seconds (of the window start, so a replay lands on the
 * same item), `num_actions_per_watermark`, plus the full storepulse alert.
 */
import Database from 'better-sqlite3';
import { type Alert, referencePartitionKey, type Severity } from '../../core/alert.js';
import { DETECT_DEFAULTS } from '../../core/rules/options.js';
import type { AlertCounts, AlertQuery, AlertStore } from '../types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  id TEXT PRIMARY KEY,
  ddb_partition_key TEXT NOT NULL,
  ddb_sort_key INTEGER NOT NULL,
  num_actions_per_watermark INTEGER NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  key_type TEXT NOT NULL,
  key TEXT NOT NULL,
  user_id INTEGER,
  window_start TEXT NOT NULL,
  window_end TEXT NOT NULL,
  score REAL NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  detected_event_time TEXT NOT NULL,
  detected_at TEXT NOT NULL,
  evidence TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_item ON alerts (ddb_partition_key, ddb_sort_key);
CREATE INDEX IF NOT EXISTS alerts_window ON alerts (window_start);
`;

interface AlertRow {
  id: string;
  rule: string;
  severity: Severity;
  key_type: Alert['key_type'];
  key: string;
  user_id: number | null;
  window_start: string;
  window_end: string;
  num_actions_per_watermark: number;
  score: number;
  first_seen: string;
  last_seen: string;
  detected_event_time: string;
  detected_at: string;
  evidence: string;
}

function fromRow(r: AlertRow): Alert {
  return {
    id: r.id,
    rule: r.rule,
    severity: r.severity,
    key_type: r.key_type,
    key: r.key,
    user_id: r.user_id,
    window_start: r.window_start,
    window_end: r.window_end,
    count: r.num_actions_per_watermark,
    score: r.score,
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    detected_event_time: r.detected_event_time,
    detected_at: r.detected_at,
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
  };
}

export class SqliteAlertStore implements AlertStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;

  constructor(
    file: string,
    private readonly appServer: string = DETECT_DEFAULTS.appServer,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(`INSERT OR IGNORE INTO alerts VALUES (
      @id, @ddb_partition_key, @ddb_sort_key, @num_actions_per_watermark, @rule, @severity, @key_type, @key,
      @user_id, @window_start, @window_end, @score, @first_seen, @last_seen, @detected_event_time,
      @detected_at, @evidence)`);
  }

  async put(alerts: readonly Alert[]): Promise<Alert[]> {
    const fresh: Alert[] = [];
    this.db.transaction(() => {
      for (const a of alerts) {
        const res = this.insert.run({
          ...a,
          ddb_partition_key: referencePartitionKey(a.user_id ?? a.key, this.appServer),
          ddb_sort_key: Math.floor(Date.parse(a.window_start) / 1000),
          num_actions_per_watermark: a.count,
          evidence: JSON.stringify(a.evidence),
        });
        if (res.changes > 0) fresh.push(a);
      }
    })();
    return fresh;
  }

  async list(q: AlertQuery = {}): Promise<Alert[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit ?? -1 };
    if (q.severity) {
      where.push('severity = @severity');
      params.severity = q.severity;
    }
    if (q.userId !== undefined) {
      where.push('user_id = @userId');
      params.userId = q.userId;
    }
    if (q.rule) {
      where.push('rule = @rule');
      params.rule = q.rule;
    }
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY window_start DESC, key LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as AlertRow[]).map(fromRow);
  }

  /** The stored item exactly as the reference Lambda would have written it to DynamoDB. */
  referenceItems(
    limit = -1,
  ): { ddb_partition_key: string; ddb_sort_key: number; num_actions_per_watermark: number }[] {
    return this.db
      .prepare(
        'SELECT ddb_partition_key, ddb_sort_key, num_actions_per_watermark FROM alerts ORDER BY ddb_sort_key LIMIT ?',
      )
      .all(limit) as { ddb_partition_key: string; ddb_sort_key: number; num_actions_per_watermark: number }[];
  }

  async counts(): Promise<AlertCounts> {
    const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0 };
    let total = 0;
    for (const r of this.db.prepare('SELECT severity, count(*) AS n FROM alerts GROUP BY severity').all() as {
      severity: Severity;
      n: number;
    }[]) {
      bySeverity[r.severity] = r.n;
      total += r.n;
    }
    const { users } = this.db.prepare('SELECT count(DISTINCT user_id) AS users FROM alerts').get() as {
      users: number;
    };
    return { total, bySeverity, users };
  }

  async alertedUsers(): Promise<number[]> {
    return this.db
      .prepare('SELECT DISTINCT user_id FROM alerts WHERE user_id IS NOT NULL ORDER BY user_id')
      .pluck()
      .all() as number[];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
