/**
 * The notification outbox in SQLite (`outbox.sqlite` in the data folder): one row per (alert,
 * notifier), in enqueue order. Its own file, so the dispatcher's updates never wait on the alert
 * store's writer.
 *
 * WAL with synchronous=FULL: an enqueue is fsynced when its transaction commits, so "durable when it
 * resolves" holds across a power loss too, not just a process crash (NORMAL in WAL mode may lose the
 * last commits to a power loss). That matters because the processor's stream checkpoint, written
 * later, is fsynced: a lost enqueue behind a durable checkpoint would be an alert never sent. The cost
 * is one fsync per enqueued batch and per delivery mark, small next to a network send.
 */
import Database from 'better-sqlite3';
import type { Alert } from '../../core/alert.js';
import { deliveryId } from '../../notify/types.js';
import {
  type OutboxCounts,
  type OutboxEntry,
  type OutboxQuery,
  type OutboxStats,
  type OutboxStatus,
  type OutboxStore,
} from '../types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL,
  notifier TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  alert TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL DEFAULT 0,
  enqueued_at INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  last_error TEXT,
  done_at INTEGER,
  UNIQUE (alert_id, notifier)
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (notifier, status, seq);
`;

interface OutboxRow {
  seq: number;
  notifier: string;
  delivery_id: string;
  alert: string;
  status: OutboxStatus;
  attempts: number;
  retries: number;
  enqueued_at: number;
  next_at: number;
  last_error: string | null;
  done_at: number | null;
}

function fromRow(r: OutboxRow): OutboxEntry {
  return {
    seq: r.seq,
    notifier: r.notifier,
    deliveryId: r.delivery_id,
    alert: JSON.parse(r.alert) as Alert,
    status: r.status,
    attempts: r.attempts,
    retries: r.retries,
    enqueuedAt: r.enqueued_at,
    nextAt: r.next_at,
    lastError: r.last_error,
    doneAt: r.done_at,
  };
}

const EMPTY: OutboxCounts = { pending: 0, delivered: 0, dead: 0, retries: 0, oldestPendingAgeMs: null };

export class SqliteOutboxStore implements OutboxStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly selectHead: Database.Statement<[string], OutboxRow>;
  private readonly delivered: Database.Statement;
  private readonly failed: Database.Statement;
  private readonly dead: Database.Statement;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(`INSERT OR IGNORE INTO outbox
      (alert_id, notifier, delivery_id, alert, status, enqueued_at, next_at)
      VALUES (@alertId, @notifier, @deliveryId, @alert, 'pending', @now, @now)`);
    this.selectHead = this.db.prepare(
      `SELECT * FROM outbox WHERE notifier = ? AND status = 'pending' ORDER BY seq LIMIT 1`,
    );
    this.delivered = this.db.prepare(
      `UPDATE outbox SET status = 'delivered', attempts = attempts + 1, done_at = @now, last_error = NULL
       WHERE seq = @seq AND status = 'pending'`,
    );
    this.failed = this.db.prepare(
      `UPDATE outbox SET attempts = attempts + 1, retries = retries + 1, next_at = @nextAt, last_error = @error
       WHERE seq = @seq AND status = 'pending'`,
    );
    this.dead = this.db.prepare(
      `UPDATE outbox SET status = 'dead', attempts = attempts + @attempted, done_at = @now, last_error = @error
       WHERE seq = @seq AND status = 'pending'`,
    );
  }

  async add(entries: readonly { alert: Alert; notifier: string }[], now: number): Promise<number> {
    let added = 0;
    this.db.transaction(() => {
      for (const { alert, notifier } of entries) {
        added += this.insert.run({
          alertId: alert.id,
          notifier,
          deliveryId: deliveryId(alert.id, notifier),
          alert: JSON.stringify(alert),
          now,
        }).changes;
      }
    })();
    return added;
  }

  async head(notifier: string): Promise<OutboxEntry | undefined> {
    const row = this.selectHead.get(notifier);
    return row && fromRow(row);
  }

  async markDelivered(seq: number, now: number): Promise<void> {
    this.delivered.run({ seq, now });
  }

  async reschedule(seq: number, nextAt: number, error: string): Promise<void> {
    this.failed.run({ seq, nextAt: Math.round(nextAt), error });
  }

  async markDead(seq: number, now: number, error: string, attempted: boolean): Promise<void> {
    this.dead.run({ seq, now, error, attempted: attempted ? 1 : 0 });
  }

  async list(q: OutboxQuery = {}): Promise<OutboxEntry[]> {
    const statuses = q.status === undefined ? ['pending', 'dead'] : [q.status].flat();
    const where = [`status IN (${statuses.map(() => '?').join(', ')})`];
    const params: unknown[] = [...statuses];
    if (q.notifier !== undefined) {
      where.push('notifier = ?');
      params.push(q.notifier);
    }
    params.push(q.limit ?? -1);
    const rows = this.db
      .prepare(`SELECT * FROM outbox WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`)
      .all(...params) as OutboxRow[];
    return rows.map(fromRow);
  }

  async stats(now: number): Promise<OutboxStats> {
    const rows = this.db
      .prepare(
        `SELECT notifier, status, count(*) AS n, sum(retries) AS retries, min(enqueued_at) AS oldest
         FROM outbox GROUP BY notifier, status`,
      )
      .all() as { notifier: string; status: OutboxStatus; n: number; retries: number; oldest: number }[];
    const total: OutboxCounts = { ...EMPTY };
    const byNotifier: Record<string, OutboxCounts> = {};
    for (const r of rows) {
      const mine = (byNotifier[r.notifier] ??= { ...EMPTY });
      for (const c of [total, mine]) {
        c[r.status] += r.n;
        c.retries += r.retries;
        if (r.status === 'pending') {
          const age = Math.max(0, now - r.oldest);
          c.oldestPendingAgeMs = Math.max(c.oldestPendingAgeMs ?? 0, age);
        }
      }
    }
    return { ...total, byNotifier };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
