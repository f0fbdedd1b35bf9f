import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorepulseError } from '../../src/core/errors.js';
import { describeLake, lakeRowCount } from '../../src/lake/catalog.js';
import { openDuckDB } from '../../src/lake/duckdb.js';
import { listLakeFiles, listTableFiles, listTables, tableDir } from '../../src/lake/layout.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-catalog-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DAY = 86_400_000;

describe('describeLake', () => {
  it('describes an empty (even missing) lake with the declared schema', async () => {
    const d = await describeLake(path.join(root, 'missing', 'lake'));
    expect(d.tables.map((t) => t.name)).toEqual(['events']);
    const t = d.tables[0]!;
    expect(t).toMatchObject({
      format: 'parquet',
      partitionKeys: ['event_date'],
      partitions: [],
      rows: 0,
      files: 0,
    });
    expect(t.columns.map((c) => c.name)).toContain('category_id');
    expect(t.columns.find((c) => c.name === 'event_date')).toEqual({
      name: 'event_date',
      type: 'DATE',
      partitionKey: true,
    });
    expect(d.totalBytes).toBe(0);
    expect(await lakeRowCount(path.join(root, 'missing', 'lake'))).toBe(0);
  });

  it('lists partitions with row, file and byte counts, and the schema DuckDB reads', async () => {
    const lakeDir = path.join(root, 'two-days', 'lake');
    // Day one: 3 events in one flush; day two: 5 events over two flushes (two files).
    const w = await LakeWriter.open({ lakeDir, flushRows: 4 });
    await w.write([0, 1, 2].map((i) => ({ event: ev(i, i * 1000) })));
    await w.write([0, 1, 2, 3, 4].map((i) => ({ event: ev(10 + i, DAY + i * 1000) })));
    await w.close();

    const d = await describeLake(lakeDir);
    const t = d.tables[0]!;
    expect(t.partitions.map((p) => [p.value, p.rows, p.files])).toEqual([
      ['2019-10-01', 3, 1],
      ['2019-10-02', 5, 2],
    ]);
    expect(t.rows).toBe(8);
    expect(t.files).toBe(3);
    const files = await listLakeFiles(lakeDir);
    const bytes = files.reduce((n, f) => n + statSync(f.path).size, 0);
    expect(t.bytes).toBe(bytes);
    expect(d.totalBytes).toBe(bytes);
    expect(t.partitions[1]!.path).toBe(path.join(lakeDir, 'events', 'event_date=2019-10-02'));
    const types = Object.fromEntries(t.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      event_time: 'TIMESTAMP',
      category_id: 'VARCHAR',
      price: 'DECIMAL(12,2)',
      stream_seq: 'VARCHAR',
      event_date: 'DATE',
    });
    expect(t.columns.filter((c) => c.partitionKey).map((c) => c.name)).toEqual(['event_date']);
    expect(await lakeRowCount(lakeDir)).toBe(8);
  });
});

/** Writes a `clean` table the way an ETL would: DuckDB's COPY into Hive partition folders. */
async function writeCleanTable(lakeDir: string): Promise<void> {
  const db = await openDuckDB();
  try {
    await db.connection.run(`COPY (
      SELECT TIMESTAMP '2019-10-01 10:00:00' + INTERVAL (i) HOUR AS event_time, i::BIGINT AS user_id,
        ['electronics', 'smartphone'] AS category_levels,
        CAST(TIMESTAMP '2019-10-01 10:00:00' + INTERVAL (i) HOUR AS DATE) AS event_date
      FROM range(30) t(i)
    ) TO '${path.join(lakeDir, 'clean')}' (FORMAT parquet, PARTITION_BY (event_date))`);
  } finally {
    db.close();
  }
}

describe('a lake with more than the events table', () => {
  const lakeDir = path.join(root, 'tables', 'lake');

  it('lists every folder holding key=value partitions as a table, and skips the rest', async () => {
    const w = await LakeWriter.open({ lakeDir });
    await w.write([0, 1].map((i) => ({ event: ev(i, i * 1000) })));
    await w.close();
    await writeCleanTable(lakeDir);
    mkdirSync(path.join(lakeDir, 'notes', 'drafts'), { recursive: true }); // no partition folders
    mkdirSync(path.join(lakeDir, '.hidden', 'x=1'), { recursive: true });
    mkdirSync(path.join(lakeDir, '_catalog'), { recursive: true });
    writeFileSync(path.join(lakeDir, 'clean', 'event_date=2019-10-01', '.part.parquet.tmp'), 'x');
    writeFileSync(path.join(lakeDir, 'clean', 'event_date=2019-10-01', '_SUCCESS.parquet'), 'x');

    expect(await listTables(lakeDir)).toEqual(['clean', 'events']);
    const clean = await listTableFiles(lakeDir, 'clean');
    expect(clean.map((f) => [f.key, f.partition])).toEqual([
      ['event_date', '2019-10-01'],
      ['event_date', '2019-10-02'],
    ]);
    expect(await listTableFiles(lakeDir, 'events')).toEqual(await listLakeFiles(lakeDir));

    const d = await describeLake(lakeDir);
    expect(d.tables.map((t) => t.name)).toEqual(['events', 'clean']);
    const t = d.tables[1]!;
    expect(t).toMatchObject({ partitionKeys: ['event_date'], rows: 30, files: 2 });
    expect(t.partitions.map((p) => [p.value, p.rows])).toEqual([
      ['2019-10-01', 14],
      ['2019-10-02', 16],
    ]);
    expect(t.columns).toEqual([
      { name: 'event_time', type: 'TIMESTAMP', partitionKey: false },
      { name: 'user_id', type: 'BIGINT', partitionKey: false },
      { name: 'category_levels', type: 'VARCHAR[]', partitionKey: false },
      { name: 'event_date', type: 'DATE', partitionKey: true },
    ]);
    expect(d.totalBytes).toBe(d.tables[0]!.bytes + t.bytes);
    expect((await describeLake(lakeDir, { table: 'clean' })).tables.map((x) => x.name)).toEqual(['clean']);
  });

  it('refuses a table that is not there, and names that are not a table folder', async () => {
    await expect(describeLake(lakeDir, { table: 'nope' })).rejects.toMatchObject({ code: 'USAGE' });
    for (const bad of ['_catalog', '.hidden', '../lake', 'a/b', '']) {
      expect(() => tableDir(lakeDir, bad)).toThrow(StorepulseError);
    }
  });

  it('refuses a table whose folders use two partition keys', async () => {
    mkdirSync(path.join(lakeDir, 'clean', 'day=2019-10-03'));
    const src = (await listTableFiles(lakeDir, 'clean'))[0]!.path;
    writeFileSync(path.join(lakeDir, 'clean', 'day=2019-10-03', 'a.parquet'), readFileSync(src));
    await expect(describeLake(lakeDir, { table: 'clean' })).rejects.toThrow(/mixes partition folders/);
    rmSync(path.join(lakeDir, 'clean', 'day=2019-10-03'), { recursive: true });
  });
});
