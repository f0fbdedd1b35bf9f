/**
 * The RollupStore contract (stores/types.ts), one suite for every backend (SQLite for now; DynamoDB
 * comes with the AWS work): whole-bucket replacement, ranges, status, retention, read-only readers.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Bucket, type RollupStats, type StoredBucket } from '../../src/core/journey/rollups.js';
import { SqliteRollupStore } from '../../src/stores/sqlite/rollup-store.js';
import type { RollupStore } from '../../src/stores/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sp-rollup-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STATS: RollupStats = {
  events: 3,
  flaggedEvents: 1,
  tooLate: 0,
  sessionsTooLate: 0,
  flaggedUsers: 1,
  flaggedSessions: 0,
  openSessions: 2,
  newest: 180_000,
};

function bucket(grain: 'minute' | 'hour', start: number, users: number[], final = false): StoredBucket {
  const b = new Bucket(grain, start);
  for (const u of users) b.human.users.addNumber(u);
  return { grain, start, final, data: b.toJSON(100) };
}

const usersOf = (b: StoredBucket) => Bucket.fromJSON(b.grain, b.start, b.data).human.users.count();

const backends: [string, () => RollupStore][] = [
  ['sqlite', () => new SqliteRollupStore(path.join(mkdtempSync(path.join(dir, 's-')), 'journey.sqlite'))],
];

describe.each(backends)('RollupStore: %s', (_name, open) => {
  it('replaces a bucket whole, keeps grains apart and returns a range oldest first', async () => {
    const s = open();
    try {
      expect(await s.status()).toBeUndefined();
      await s.put(
        [bucket('minute', 120_000, [1]), bucket('minute', 60_000, [1, 2]), bucket('hour', 0, [1, 2, 3])],
        STATS,
        10,
      );
      // Written again (a restarted run): the new whole replaces the old one.
      await s.put([bucket('minute', 60_000, [1, 2, 4], true)], { ...STATS, events: 4 }, 20);
      const minutes = await s.range('minute', 0, 180_000);
      expect(minutes.map((b) => [b.start, b.final, usersOf(b)])).toEqual([
        [60_000, true, 3],
        [120_000, false, 1],
      ]);
      expect((await s.range('minute', 60_001, 120_000)).length).toBe(0);
      expect((await s.range('hour', 0, 1)).map(usersOf)).toEqual([3]);
      expect(await s.status()).toEqual({ stats: { ...STATS, events: 4 }, updatedAt: 20 });
      expect(await s.prune('minute', 120_000)).toBe(1);
      expect((await s.range('minute', 0, 1e15)).map((b) => b.start)).toEqual([120_000]);
      expect((await s.range('hour', 0, 1e15)).length).toBe(1);
    } finally {
      await s.close();
    }
  });
});

describe('SqliteRollupStore', () => {
  it('opens read-only beside a writer, and never creates the file', async () => {
    const file = path.join(dir, 'ro', 'journey.sqlite');
    expect(() => new SqliteRollupStore(file, { readonly: true })).toThrow();
    expect(existsSync(file)).toBe(false);
    mkdirSync(path.dirname(file));
    const writer = new SqliteRollupStore(file);
    await writer.put([bucket('minute', 0, [7])], STATS, 1);
    const reader = new SqliteRollupStore(file, { readonly: true });
    expect((await reader.range('minute', 0, 60_000)).map(usersOf)).toEqual([1]);
    await writer.put([bucket('minute', 0, [7, 8])], STATS, 2);
    expect((await reader.range('minute', 0, 60_000)).map(usersOf)).toEqual([2]);
    await reader.close();
    await writer.close();
  });
});
