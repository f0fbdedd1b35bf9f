import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { readGeneration } from '../../src/lake/commit.js';
import { compactLake, parquetList } from '../../src/lake/compact.js';
import { type DuckDB, openDuckDB, queryPlain } from '../../src/lake/duckdb.js';
import { type LakeFile, listLakeFiles } from '../../src/lake/layout.js';
import { EVENT_COLUMNS, type LakeRecord } from '../../src/lake/schema.js';
import { withSnapshot } from '../../src/lake/snapshot.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { storepulse } from '../helpers/cli.js';

const dirs: string[] = [];
const dbs: DuckDB[] = [];
function tempLake(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'storepulse-compact-'));
  dirs.push(d);
  return path.join(d, 'lake');
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DAY0 = Date.UTC(2019, 9, 1);

/**
 * `n` events over `days` days with empty fields and exact duplicates (every 50th event twice), in a
 * shuffled time order, or in time order (as a stream delivers them: sequence numbers follow time).
 */
function records(n: number, days: number, seed = 1, inTimeOrder = false): LakeRecord[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const events: ClickEvent[] = [];
  for (let i = 0; i < n; i++) {
    const event: ClickEvent = {
      event_time: DAY0 + Math.floor(rnd() * days * 86_400_000),
      event_type: (['view', 'cart', 'purchase'] as const)[i % 3]!,
      product_id: 1000 + (i % 97),
      category_id: '2053013555631882655',
      category_code: i % 5 === 0 ? null : 'electronics.audio.headphone',
      brand: i % 7 === 0 ? null : `brand${i % 11}`,
      price: (i % 1000) + 0.99,
      user_id: 500 + (i % 61),
      user_session: `s-${i % 200}`,
    };
    events.push(event);
    if (i % 50 === 0) events.push(event);
  }
  if (inTimeOrder) events.sort((a, b) => a.event_time - b.event_time);
  return events.map((event, i) => ({ event, shard: 'shardId-000000000000', seq: String(i) }));
}

/** A lake as `process` leaves it: many small files per partition. */
async function writeLake(lakeDir: string, recs: LakeRecord[], flushRows = 300): Promise<void> {
  const w = await LakeWriter.open({ lakeDir, flushRows });
  for (let i = 0; i < recs.length; i += 250) await w.write(recs.slice(i, i + 250));
  await w.close();
}

async function db(): Promise<DuckDB> {
  const d = await openDuckDB();
  dbs.push(d);
  return d;
}

const source = (files: readonly LakeFile[]) =>
  `read_parquet(${parquetList(files)}, hive_partitioning = true)`;

/** Copies the lake's rows (with their partition) into a table of `d`. */
async function snapshotRows(d: DuckDB, table: string, lakeDir: string): Promise<number> {
  await d.connection.run(
    `CREATE OR REPLACE TABLE ${table} AS SELECT * FROM ${source(await listLakeFiles(lakeDir))}`,
  );
  return Number((await queryPlain(d.connection, `SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
}

/** Rows in one table and not the other, counted with multiplicity, both ways. */
async function multisetDifference(d: DuckDB, a: string, b: string): Promise<number> {
  const r = await queryPlain(
    d.connection,
    `SELECT (SELECT count(*) FROM (FROM ${a} EXCEPT ALL FROM ${b})) + (SELECT count(*) FROM (FROM ${b} EXCEPT ALL FROM ${a})) AS n`,
  );
  return Number(r.rows[0]!.n);
}

const filesPerPartition = async (lakeDir: string) => {
  const out: Record<string, number> = {};
  for (const f of await listLakeFiles(lakeDir)) out[f.partition] = (out[f.partition] ?? 0) + 1;
  return out;
};

describe('lake compact', () => {
  it('merges each partition into one file sorted by event_time, zstd, with the rows kept exactly', async () => {
    const lakeDir = tempLake();
    await writeLake(lakeDir, records(6000, 3));
    const before = await filesPerPartition(lakeDir);
    expect(Object.values(before).every((n) => n > 5)).toBe(true);
    const d = await db();
    const rows = await snapshotRows(d, 'before_rows', lakeDir);

    const s = await compactLake(lakeDir);
    expect(s.compacted.map((p) => [p.partition, p.filesBefore, p.filesAfter])).toEqual(
      Object.entries(before).map(([p, n]) => [p, n, 1]),
    );
    expect(s.compacted.reduce((n, p) => n + p.rows, 0)).toBe(rows);
    expect(await filesPerPartition(lakeDir)).toEqual({ '2019-10-01': 1, '2019-10-02': 1, '2019-10-03': 1 });
    await snapshotRows(d, 'after_rows', lakeDir);
    expect(await multisetDifference(d, 'before_rows', 'after_rows')).toBe(0);

    const files = await listLakeFiles(lakeDir);
    const unsorted = await queryPlain(
      d.connection,
      `SELECT count(*) AS n FROM (
         SELECT event_time < lag(event_time) OVER (PARTITION BY filename ORDER BY file_row_number) AS back
         FROM read_parquet(${parquetList(files)}, filename = true, file_row_number = true))
       WHERE back`,
    );
    expect(unsorted.rows[0]!.n).toBe(0);
    const codecs = await queryPlain(
      d.connection,
      `SELECT DISTINCT compression FROM parquet_metadata(${parquetList(files)})`,
    );
    expect(codecs.rows).toEqual([{ compression: 'ZSTD' }]);
    // The same columns as the writer's files: the partition column stays in the folder names.
    const columns = await queryPlain(
      d.connection,
      `SELECT DISTINCT name FROM parquet_schema(${parquetList(files)}) WHERE name <> 'duckdb_schema' ORDER BY name`,
    );
    expect(columns.rows.map((r) => r.name)).toEqual(EVENT_COLUMNS.map((c) => c.name).sort());
    expect(await readGeneration(lakeDir)).toBe(6);

    const again = await compactLake(lakeDir);
    expect(again.compacted).toEqual([]);
    expect(again.alreadyCompact).toEqual(['2019-10-01', '2019-10-02', '2019-10-03']);
  });

  it('splits a partition larger than the target into sorted files with no time overlap', async () => {
    const lakeDir = tempLake();
    await writeLake(lakeDir, records(30_000, 1, 1, true), 5000);
    const d = await db();
    await snapshotRows(d, 'before_rows', lakeDir);
    const bytes = (await listLakeFiles(lakeDir)).reduce((n, f) => n + f.bytes, 0);
    const s = await compactLake(lakeDir, { targetBytes: Math.ceil(bytes / 3) });
    expect(s.compacted[0]!.filesAfter).toBe(3);
    await snapshotRows(d, 'after_rows', lakeDir);
    expect(await multisetDifference(d, 'before_rows', 'after_rows')).toBe(0);
    const ranges = await queryPlain(
      d.connection,
      `SELECT min(event_time) AS lo, max(event_time) AS hi, count(*) AS n FROM read_parquet(${parquetList(
        await listLakeFiles(lakeDir),
      )}, filename = true) GROUP BY filename ORDER BY lo`,
    );
    for (let i = 1; i < ranges.rows.length; i++) {
      expect(String(ranges.rows[i]!.lo) >= String(ranges.rows[i - 1]!.hi)).toBe(true);
    }
    // Split at event_time quantiles: a third of the rows each.
    for (const r of ranges.rows) expect(Math.abs(Number(r.n) - 30_600 / 3)).toBeLessThan(10);
  });

  it('compacts only the partitions named, and refuses one the table does not have', async () => {
    const lakeDir = tempLake();
    await writeLake(lakeDir, records(3000, 2));
    const s = await compactLake(lakeDir, { partitions: ['2019-10-02'] });
    expect(s.compacted.map((p) => p.partition)).toEqual(['2019-10-02']);
    expect((await filesPerPartition(lakeDir))['2019-10-01']).toBeGreaterThan(1);
    await expect(compactLake(lakeDir, { partitions: ['2019-10-09'] })).rejects.toMatchObject({
      code: 'USAGE',
      message: 'table events has no partition 2019-10-09',
    });
  });

  it('a reader counting through withSnapshot never sees a wrong count while compaction runs', async () => {
    const lakeDir = tempLake();
    await writeLake(lakeDir, records(12_000, 4), 400);
    const d = await db();
    const total = await snapshotRows(d, 'all_rows', lakeDir);
    const count = () =>
      withSnapshot(
        lakeDir,
        () => listLakeFiles(lakeDir),
        async (files) => {
          const r = await queryPlain(d.connection, `SELECT count(*) AS n FROM ${source(files)}`);
          return Number(r.rows[0]!.n);
        },
      );
    let done = false;
    const counts: number[] = [];
    const reader = (async () => {
      while (!done) counts.push(await count());
    })();
    const s = await compactLake(lakeDir);
    const duringCompaction = counts.length;
    done = true;
    await reader;
    expect(s.compacted).toHaveLength(4);
    // The reader ran beside the compaction (how often depends on the machine's load: at least once),
    // and every count it saw was the whole lake.
    expect(duringCompaction).toBeGreaterThan(0);
    expect(counts.filter((n) => n !== total)).toEqual([]);
    expect(await count()).toBe(total);
  });

  it('keeps the rows a live writer adds meanwhile: it replaces only the files it listed', async () => {
    const lakeDir = tempLake();
    const first = records(8000, 2, 1);
    const more = records(4000, 2, 2);
    await writeLake(lakeDir, first);
    const d = await db();
    await snapshotRows(d, 'old_rows', lakeDir);
    const w = await LakeWriter.open({ lakeDir, flushRows: 300 });
    const compaction = compactLake(lakeDir);
    for (let i = 0; i < more.length; i += 250) {
      await w.write(more.slice(i, i + 250));
      await w.flush();
    }
    await compaction;
    await w.close();
    await snapshotRows(d, 'after_rows', lakeDir);
    await d.connection.run(`CREATE TABLE new_rows AS FROM after_rows EXCEPT ALL FROM old_rows`);
    const added = await queryPlain(d.connection, `SELECT count(*) AS n FROM new_rows`);
    expect(Number(added.rows[0]!.n)).toBe(more.length);
    expect(Number((await queryPlain(d.connection, `SELECT count(*) AS n FROM after_rows`)).rows[0]!.n)).toBe(
      first.length + more.length,
    );
  });

  it('finishes a compaction a crash cut short, on the next run', async () => {
    const dataDir = path.dirname(tempLake());
    const lakeDir = path.join(dataDir, 'lake');
    await writeLake(lakeDir, records(3000, 1));
    const d = await db();
    const rows = await snapshotRows(d, 'before_rows', lakeDir);
    const files = (await listLakeFiles(lakeDir)).length;
    // Killed after the new file appeared and before the first old one was deleted.
    const crashed = storepulse(['-q', '--data-dir', dataDir, 'lake', 'compact'], {
      env: { STOREPULSE_FAILPOINTS: 'lake.mid-replace=1' },
    });
    expect(crashed.code).toBeNull();
    expect((await listLakeFiles(lakeDir)).length).toBe(files + 1);
    expect((await readGeneration(lakeDir)) % 2).toBe(1);
    await expect(
      withSnapshot(
        lakeDir,
        () => listLakeFiles(lakeDir),
        async (f) => f,
      ),
    ).rejects.toMatchObject({
      code: 'STATE',
    });
    const s = await compactLake(lakeDir);
    expect(s.compacted).toEqual([]);
    expect((await listLakeFiles(lakeDir)).length).toBe(1);
    await snapshotRows(d, 'after_rows', lakeDir);
    expect(await multisetDifference(d, 'before_rows', 'after_rows')).toBe(0);
    expect(rows).toBe(3060);
  });
});
