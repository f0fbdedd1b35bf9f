/**
 * Consumer checkpoints of one stream in the storepulse SQLite store, for streams that keep none
 * themselves (Kinesis: the KCL keeps them in a DynamoDB lease table; we keep them beside the alerts).
 * One row per (stream, consumer); a save replaces the row in one statement, so positions and state
 * always change together, and WAL lets readers (e.g. `storepulse streams`) look while a consumer saves.
 */
import Database from 'better-sqlite3';
import { StorepulseError } from '../../core/errors.js';
import type { Checkpoint, CheckpointStore } from '../types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  stream TEXT NOT NULL,
  consumer TEXT NOT NULL,
  positions TEXT NOT NULL,
  state TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (stream, consumer)
);
`;

interface CheckpointRow {
  positions: string;
  state: string | null;
  updated_at: number;
}

export class SqliteCheckpointStore implements CheckpointStore {
  private readonly db: Database.Database;
  private readonly selectOne: Database.Statement<[string, string], CheckpointRow>;
  private readonly upsert: Database.Statement;
  private readonly selectConsumers: Database.Statement<[string], string>;

  constructor(
    dbPath: string,
    readonly stream: string,
  ) {
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.selectOne = this.db.prepare(
      'SELECT positions, state, updated_at FROM checkpoints WHERE stream = ? AND consumer = ?',
    );
    this.upsert = this.db.prepare(`INSERT INTO checkpoints (stream, consumer, positions, state, updated_at)
      VALUES (@stream, @consumer, @positions, @state, @updated_at)
      ON CONFLICT (stream, consumer) DO UPDATE SET
        positions = excluded.positions, state = excluded.state, updated_at = excluded.updated_at`);
    this.selectConsumers = this.db
      .prepare<[string], string>('SELECT consumer FROM checkpoints WHERE stream = ? ORDER BY consumer')
      .pluck();
  }

  async load(consumer: string): Promise<Checkpoint | undefined> {
    const row = this.selectOne.get(this.stream, consumer);
    if (!row) return undefined;
    let positions: unknown;
    try {
      positions = JSON.parse(row.positions);
    } catch (err) {
      throw new StorepulseError(
        'STATE',
        `checkpoint of consumer "${consumer}" on stream "${this.stream}" has unreadable positions`,
        { cause: err },
      );
    }
    const checkpoint: Checkpoint = {
      positions: positions as Record<string, string>,
      updatedAt: row.updated_at,
    };
    if (row.state !== null) checkpoint.state = row.state;
    return checkpoint;
  }

  async save(consumer: string, checkpoint: Checkpoint): Promise<void> {
    const { positions, state, updatedAt } = checkpoint;
    for (const [shardId, position] of Object.entries(positions)) {
      if (typeof position !== 'string') {
        throw new StorepulseError('INTERNAL', `checkpoint position of ${shardId} is not a string`);
      }
    }
    this.upsert.run({
      stream: this.stream,
      consumer,
      positions: JSON.stringify(positions),
      state: state ?? null,
      updated_at: Math.round(updatedAt),
    });
  }

  async consumers(): Promise<string[]> {
    return this.selectConsumers.all(this.stream);
  }

  /** Synchronous, so it can be called from a cleanup path that must not fail again. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
