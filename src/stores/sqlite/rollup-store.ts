/**
 * The journey rollups in SQLite (`journey.sqlite` in the data folder): one row per bucket, its
 * figures as JSON, and one status row. WAL mode, so `storepulse live` reads while the processor
 * writes. Hours, written once and kept 90 days, are deflated (about a quarter of the size); minutes,
 * written again while they change and kept two days, are not, which halves the cost of a flush.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import type { Grain, RollupStats, StoredBucket } from '../../core/journey/rollups.js';
import type { RollupStatus, RollupStore } from '../types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS buckets (
  grain TEXT NOT NULL,
  start INTEGER NOT NULL,
  final INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (grain, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS status (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  stats TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

interface BucketRow {
  grain: Grain;
  start: number;
  final: number;
  data: Buffer;
}

function encode(b: StoredBucket): Buffer {
  const json = Buffer.from(JSON.stringify(b.data));
  return b.grain === 'hour' ? deflateRawSync(json, { level: 1 }) : json;
}

export class SqliteRollupStore implements RollupStore {
  private readonly db: Database.Database;
  private writes: { upsert: Database.Statement; setStatus: Database.Statement } | undefined;

  /** `readonly`: for readers (`storepulse live`), which must not create the file. */
  constructor(file: string, options: { readonly?: boolean } = {}) {
    const readonly = options.readonly ?? false;
    this.db = new Database(file, { readonly, fileMustExist: readonly });
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    }
  }

  async put(buckets: readonly StoredBucket[], stats: RollupStats, now: number): Promise<void> {
    // Prepared on the first write, once: a read-only store has no tables to prepare them against.
    const { upsert, setStatus } = (this.writes ??= {
      upsert: this.db.prepare('INSERT OR REPLACE INTO buckets VALUES (@grain, @start, @final, @data)'),
      setStatus: this.db.prepare('INSERT OR REPLACE INTO status VALUES (1, @stats, @updatedAt)'),
    });
    this.db.transaction(() => {
      for (const b of buckets) {
        upsert.run({
          grain: b.grain,
          start: b.start,
          final: b.final ? 1 : 0,
          data: encode(b),
        });
      }
      setStatus.run({ stats: JSON.stringify(stats), updatedAt: now });
    })();
  }

  async range(grain: Grain, from: number, to: number): Promise<StoredBucket[]> {
    const rows = this.db
      .prepare('SELECT * FROM buckets WHERE grain = ? AND start >= ? AND start < ? ORDER BY start')
      .all(grain, from, to) as BucketRow[];
    return rows.map((r) => ({
      grain: r.grain,
      start: r.start,
      final: r.final === 1,
      data: JSON.parse(
        (r.grain === 'hour' ? inflateRawSync(r.data) : r.data).toString('utf8'),
      ) as StoredBucket['data'],
    }));
  }

  async status(): Promise<RollupStatus | undefined> {
    const row = this.db.prepare('SELECT stats, updated_at FROM status WHERE id = 1').get() as
      { stats: string; updated_at: number } | undefined;
    return row && { stats: JSON.parse(row.stats) as RollupStats, updatedAt: row.updated_at };
  }

  async prune(grain: Grain, before: number): Promise<number> {
    return this.db.prepare('DELETE FROM buckets WHERE grain = ? AND start < ?').run(grain, before).changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
