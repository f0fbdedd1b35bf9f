import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parquetList } from '../../src/lake/compact.js';
import { openDuckDB, queryPlain } from '../../src/lake/duckdb.js';
import { CLEAN_TABLE, etlStatePath, runEtl } from '../../src/lake/etl.js';
import { listTableFiles } from '../../src/lake/layout.js';
import { applyRetention } from '../../src/lake/retention.js';
import type { LakeRecord } from '../../src/lake/schema.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';

const dirs: string[] = [];
function tempLake(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'storepulse-etl-'));
  dirs.push(d);
  return path.join(d, 'lake');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DAY = 86_400_000;
const BOT = 7;

async function write(lakeDir: string, recs: LakeRecord[]): Promise<void> {
  const w = await LakeWriter.open({ lakeDir, flushRows: 3 });
  await w.write(recs);
  await w.close();
}

/** Day 1: one event four times over (exact duplicates however delivered) and near-duplicates; day 2: empty fields. */
function sample(): LakeRecord[] {
  const a = ev(1, 0, { category_code: 'electronics.audio.headphone', brand: 'sony', user_session: null });
  return [
    { event: a },
    { event: a },
    { event: { ...a, txn_timestamp: a.event_time + 5 }, shard: 'shardId-000000000000', seq: '1' },
    { event: { ...a, txn_timestamp: a.event_time + 9 }, shard: 'shardId-000000000001', seq: '7' },
    { event: { ...a, price: 100.51 } },
    { event: { ...a, event_time: a.event_time + 1 } },
    { event: { ...a, user_session: 'other' } },
    { event: ev(BOT, 2000, { category_code: 'a.b.c.d.e', brand: '' }) },
    { event: ev(2, DAY, { category_code: null, brand: null }) },
    { event: ev(3, DAY + 1000, { category_code: 'kids' }) },
    { event: ev(BOT, DAY + 2000) },
  ];
}

async function cleanRows(lakeDir: string): Promise<Record<string, unknown>[]> {
  const db = await openDuckDB();
  try {
    const files = await listTableFiles(lakeDir, CLEAN_TABLE);
    const r = await queryPlain(
      db.connection,
      `SELECT * FROM read_parquet(${parquetList(files)}, hive_partitioning = true)
       ORDER BY event_time, price, user_session`,
    );
    return r.rows;
  } finally {
    db.close();
  }
}

const cleanFiles = async (lakeDir: string) =>
  (await listTableFiles(lakeDir, CLEAN_TABLE)).map((f) => `${f.partition}/${path.basename(f.path)}`);

describe('etl', () => {
  it('builds the clean table: exact duplicates removed, categories split, empty flags, bots marked', async () => {
    const lakeDir = tempLake();
    await write(lakeDir, sample());
    const s = await runEtl(lakeDir, { flaggedUsers: [BOT, 999] });
    expect(s.rebuilt.map((p) => [p.partition, p.sourceRows, p.rows, p.duplicates, p.botRows])).toEqual([
      ['2019-10-01', 8, 5, 3, 1],
      ['2019-10-02', 3, 3, 0, 1],
    ]);
    const rows = await cleanRows(lakeDir);
    const pick = (r: Record<string, unknown>) => [
      r.user_id,
      r.price,
      r.user_session,
      r.category_l1,
      r.category_l2,
      r.category_l3,
      r.category_rest,
      r.brand_empty,
      r.category_empty,
      r.is_bot,
      r.event_date,
    ];
    expect(rows.map(pick)).toEqual([
      // The four copies of one event (two with delivery columns) are one row; the near-duplicates stay.
      [1, 100.5, 'other', 'electronics', 'audio', 'headphone', null, false, false, false, '2019-10-01'],
      [1, 100.5, null, 'electronics', 'audio', 'headphone', null, false, false, false, '2019-10-01'],
      [1, 100.51, null, 'electronics', 'audio', 'headphone', null, false, false, false, '2019-10-01'],
      [1, 100.5, null, 'electronics', 'audio', 'headphone', null, false, false, false, '2019-10-01'],
      [BOT, 100.5, `s-${BOT}`, 'a', 'b', 'c', 'd.e', true, false, true, '2019-10-01'],
      [2, 100.5, 's-2', null, null, null, null, true, true, false, '2019-10-02'],
      [3, 100.5, 's-3', 'kids', null, null, null, false, false, false, '2019-10-02'],
      [BOT, 100.5, `s-${BOT}`, 'electronics', 'smartphone', null, null, false, false, true, '2019-10-02'],
    ]);
    expect(existsSync(etlStatePath(lakeDir))).toBe(true);
  });

  it('writes the documented schema (docs/etl.md)', async () => {
    const lakeDir = tempLake();
    await write(lakeDir, sample());
    await runEtl(lakeDir, { flaggedUsers: [] });
    const db = await openDuckDB();
    try {
      const files = await listTableFiles(lakeDir, CLEAN_TABLE);
      const r = await queryPlain(
        db.connection,
        `DESCRIBE SELECT * FROM read_parquet(${parquetList(files)}, hive_partitioning = true)`,
      );
      expect(r.rows.map((c) => `${String(c.column_name)} ${String(c.column_type)}`)).toEqual([
        'event_time TIMESTAMP',
        'event_type VARCHAR',
        'product_id BIGINT',
        'category_id VARCHAR',
        'category_code VARCHAR',
        'category_l1 VARCHAR',
        'category_l2 VARCHAR',
        'category_l3 VARCHAR',
        'category_rest VARCHAR',
        'brand VARCHAR',
        'price DECIMAL(12,2)',
        'user_id BIGINT',
        'user_session VARCHAR',
        'brand_empty BOOLEAN',
        'category_empty BOOLEAN',
        'is_bot BOOLEAN',
        'event_date DATE',
      ]);
    } finally {
      db.close();
    }
  });

  it('rebuilds only the partitions whose source files or flagged users changed', async () => {
    const lakeDir = tempLake();
    await write(lakeDir, sample());
    await runEtl(lakeDir, { flaggedUsers: [BOT] });
    const first = await cleanFiles(lakeDir);

    const rerun = await runEtl(lakeDir, { flaggedUsers: [BOT] });
    expect(rerun).toEqual({ rebuilt: [], unchanged: ['2019-10-01', '2019-10-02'], orphans: [] });
    expect(await cleanFiles(lakeDir)).toEqual(first);

    await write(lakeDir, [{ event: ev(4, DAY + 3000) }]);
    const added = await runEtl(lakeDir, { flaggedUsers: [BOT] });
    expect(added.rebuilt.map((p) => [p.partition, p.rows])).toEqual([['2019-10-02', 4]]);
    expect(added.unchanged).toEqual(['2019-10-01']);
    const second = await cleanFiles(lakeDir);
    expect(second.filter((f) => f.startsWith('2019-10-01'))).toEqual(
      first.filter((f) => f.startsWith('2019-10-01')),
    );
    expect(second.filter((f) => f.startsWith('2019-10-02'))).toHaveLength(1);

    const unflagged = await runEtl(lakeDir, { flaggedUsers: [] });
    expect(unflagged.rebuilt.map((p) => [p.partition, p.botRows])).toEqual([
      ['2019-10-01', 0],
      ['2019-10-02', 0],
    ]);
    expect((await runEtl(lakeDir, { flaggedUsers: [], full: true })).rebuilt).toHaveLength(2);

    // A clean partition removed by hand (retention on the clean table) is built again.
    await applyRetention(lakeDir, { table: CLEAN_TABLE, before: '2019-10-02' });
    const restored = await runEtl(lakeDir, { flaggedUsers: [] });
    expect(restored.rebuilt.map((p) => p.partition)).toEqual(['2019-10-01']);

    // A source partition removed by retention: its clean partition stays, reported.
    await applyRetention(lakeDir, { before: '2019-10-02' });
    const orphaned = await runEtl(lakeDir, { flaggedUsers: [] });
    expect(orphaned).toEqual({ rebuilt: [], unchanged: ['2019-10-02'], orphans: ['2019-10-01'] });
    expect((await cleanRows(lakeDir)).length).toBe(9);
  });

  it('refuses a lake with no events', async () => {
    const lakeDir = tempLake();
    await expect(runEtl(lakeDir, { flaggedUsers: [] })).rejects.toMatchObject({ code: 'STATE' });
  });
});
