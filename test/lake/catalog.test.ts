import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLake, lakeRowCount } from '../../src/lake/catalog.js';
import { listLakeFiles } from '../../src/lake/layout.js';
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
