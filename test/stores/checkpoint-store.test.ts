import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteCheckpointStore } from '../../src/stores/sqlite/checkpoint-store.js';
import { SHARD_END, shardIdOf } from '../../src/streams/types.js';

describe('SQLite checkpoint store', () => {
  let dir: string;
  let file: string;
  const open: SqliteCheckpointStore[] = [];
  const store = (stream: string): SqliteCheckpointStore => {
    const s = new SqliteCheckpointStore(file, stream);
    open.push(s);
    return s;
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sp-checkpoints-'));
    file = path.join(dir, 'store.sqlite');
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('saves, loads and replaces a checkpoint, state included', async () => {
    const s = store('clicks');
    expect(await s.load('process')).toBeUndefined();
    await s.save('process', {
      positions: { [shardIdOf(0)]: '4960001' },
      state: '{"windows":[]}',
      updatedAt: 1000,
    });
    expect(await s.load('process')).toEqual({
      positions: { [shardIdOf(0)]: '4960001' },
      state: '{"windows":[]}',
      updatedAt: 1000,
    });
    await s.save('process', {
      positions: {
        [shardIdOf(0)]: SHARD_END,
        [shardIdOf(2)]: '49600000000000000000000000000000000000000000000000000017',
      },
      updatedAt: 2000,
    });
    // A save replaces the whole checkpoint: the old state does not linger.
    expect(await s.load('process')).toEqual({
      positions: {
        [shardIdOf(0)]: SHARD_END,
        [shardIdOf(2)]: '49600000000000000000000000000000000000000000000000000017',
      },
      updatedAt: 2000,
    });
  });

  it('lists the consumers of its own stream, sorted', async () => {
    const clicks = store('clicks');
    const alerts = store('alerts');
    await clicks.save('simulate:/data/2019-Oct.csv', { positions: {}, updatedAt: 1 });
    await clicks.save('lake', { positions: {}, updatedAt: 1 });
    await clicks.save('process', { positions: {}, updatedAt: 1 });
    await alerts.save('notify', { positions: { [shardIdOf(0)]: '1' }, updatedAt: 1 });
    expect(await clicks.consumers()).toEqual(['lake', 'process', 'simulate:/data/2019-Oct.csv']);
    expect(await alerts.consumers()).toEqual(['notify']);
    expect(await alerts.load('process')).toBeUndefined();
  });

  it('keeps checkpoints across reopening, in one row per consumer in WAL mode', async () => {
    const first = store('clicks');
    await first.save('process', { positions: { [shardIdOf(1)]: '77' }, state: 'café ✓', updatedAt: 5 });
    first.close();
    first.close(); // twice is fine

    const again = store('clicks');
    expect(await again.load('process')).toEqual({
      positions: { [shardIdOf(1)]: '77' },
      state: 'café ✓',
      updatedAt: 5,
    });
    await again.save('process', { positions: { [shardIdOf(1)]: '78' }, updatedAt: 6 });

    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(
        db.prepare('SELECT stream, consumer, positions, state, updated_at FROM checkpoints').all(),
      ).toEqual([
        {
          stream: 'clicks',
          consumer: 'process',
          positions: `{"${shardIdOf(1)}":"78"}`,
          state: null,
          updated_at: 6,
        },
      ]);
    } finally {
      db.close();
    }
  });

  it('sees what another connection saved (two processes on one store)', async () => {
    const writer = store('clicks');
    const reader = store('clicks');
    await writer.save('process', { positions: { [shardIdOf(0)]: '9' }, updatedAt: 9 });
    expect((await reader.load('process'))?.positions).toEqual({ [shardIdOf(0)]: '9' });
  });
});
