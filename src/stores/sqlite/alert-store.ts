/**
 * Alerts in SQLite, one row per alert in the reference DynamoDB item's shape: partition key
 * `userid#<id>#appserver#<name>`, sort key epoch seconds (of the window start, so a replay lands on the
 * same item), `num_actions_per_watermark`, plus the full storepulse alert, its acknowledgement, and
 * the mutes people set beside them (table `mutes`).
 */
import Database from 'better-sqlite3';
import { type Alert, referencePartitionKey, type Severity } from '../../core/alert.js';
import { DETECT_DEFAULTS } from '../../core/rules/options.js';
import {
  type AlertCounts,
  type AlertMute,
  type AlertQuery,
  type AlertStore,
  storeInstant,
  type StoredAlert,
} from '../types.js';

// Files written by earlier versions lack acknowledged_at: the constructor adds it after this (see
// migrate), so no index here may name it.
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
  evidence TEXT NOT NULL,
  acknowledged_at TEXT
);
CREATE INDEX IF NOT EXISTS alerts_item ON alerts (ddb_partition_key, ddb_sort_key);
CREATE INDEX IF NOT EXISTS alerts_window ON alerts (window_start);
-- A live feed's poll: detected_at >= ? in this very order.
CREATE INDEX IF NOT EXISTS alerts_detected ON alerts (detected_at DESC, id);
CREATE TABLE IF NOT EXISTS mutes (
  key_type TEXT NOT NULL,
  key TEXT NOT NULL,
  until TEXT NOT NULL,
  at TEXT NOT NULL,
  note TEXT,
  PRIMARY KEY (key_type, key)
);
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
  acknowledged_at: string | null;
}

interface MuteRow {
  key_type: AlertMute['keyType'];
  key: string;
  until: string;
  at: string;
  note: string | null;
}

function fromRow(r: AlertRow): StoredAlert {
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
    acknowledged_at: r.acknowledged_at,
  };
}

/**
 * Adds what earlier versions' files lack. The check again inside a write transaction, so that two
 * processes opening the same old file do not both add the column; a current file takes no write lock.
 */
function migrate(db: Database.Database): void {
  const hasAck = (): boolean =>
    (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('alerts') as string[]).includes(
      'acknowledged_at',
    );
  if (hasAck()) return;
  db.transaction(() => {
    if (!hasAck()) db.exec('ALTER TABLE alerts ADD COLUMN acknowledged_at TEXT');
  }).immediate();
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
    migrate(this.db);
    // Columns named, so that the statement holds for new and migrated files whatever their column order.
    // OR IGNORE: a replay leaves the stored row, acknowledgement included, as it is.
    this.insert = this.db.prepare(`INSERT OR IGNORE INTO alerts (
      id, ddb_partition_key, ddb_sort_key, num_actions_per_watermark, rule, severity, key_type, key,
      user_id, window_start, window_end, score, first_seen, last_seen, detected_event_time, detected_at,
      evidence) VALUES (
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

  async list(q: AlertQuery = {}): Promise<StoredAlert[]> {
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
    if (q.keyType) {
      where.push('key_type = @keyType');
      params.keyType = q.keyType;
    }
    if (q.key !== undefined) {
      where.push('key = @key');
      params.key = q.key;
    }
    if (q.detectedSince !== undefined) {
      where.push('detected_at >= @detectedSince');
      params.detectedSince = storeInstant(q.detectedSince, 'detectedSince');
    }
    // Both orders total, as the DynamoDB store's, so that a limit cuts both backends alike.
    const order = q.detectedSince !== undefined ? 'detected_at DESC, id' : 'window_start DESC, key, rule, id';
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${order} LIMIT @limit`;
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

  async acknowledge(ids: readonly string[], at: string): Promise<number> {
    const when = storeInstant(at, 'acknowledge: at');
    if (ids.length === 0) return 0;
    // changes counts every row found, also those acknowledged before (whose first time is kept).
    return this.db
      .prepare(
        `UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, @at)
         WHERE id IN (SELECT value FROM json_each(@ids))`,
      )
      .run({ at: when, ids: JSON.stringify([...new Set(ids)]) }).changes;
  }

  async mute(m: AlertMute): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO mutes (key_type, key, until, at, note) VALUES (@keyType, @key, @until, @at, @note)
         ON CONFLICT (key_type, key) DO UPDATE SET until = excluded.until, at = excluded.at, note = excluded.note`,
      )
      .run({
        keyType: m.keyType,
        key: m.key,
        until: storeInstant(m.until, 'mute: until'),
        at: storeInstant(m.at, 'mute: at'),
        note: m.note ?? null,
      });
  }

  async mutes(now: string): Promise<AlertMute[]> {
    const rows = this.db
      .prepare('SELECT * FROM mutes WHERE until > ? ORDER BY key, key_type')
      .all(storeInstant(now, 'mutes: now')) as MuteRow[];
    return rows.map((r) => ({
      keyType: r.key_type,
      key: r.key,
      until: r.until,
      at: r.at,
      ...(r.note === null ? {} : { note: r.note }),
    }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
