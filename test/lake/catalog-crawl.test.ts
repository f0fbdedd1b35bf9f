import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  crawlLake,
  needsAttention,
  pendingDecisions,
  readRegistration,
  registrationPath,
} from '../../src/lake/crawl.js';
import { openDuckDB, queryPlain, sqlString } from '../../src/lake/duckdb.js';
import { listLakeFiles } from '../../src/lake/layout.js';
import { EVENT_COLUMNS } from '../../src/lake/schema.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-crawl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DAY = 86_400_000;

async function writeEvents(lakeDir: string, day: number, n: number): Promise<void> {
  const w = await LakeWriter.open({ lakeDir });
  await w.write(Array.from({ length: n }, (_, i) => ({ event: ev(i, day * DAY + i * 1000) })));
  await w.close();
}

async function sql(text: string): Promise<Record<string, unknown>[]> {
  const db = await openDuckDB();
  try {
    return (await queryPlain(db.connection, text)).rows;
  } finally {
    db.close();
  }
}

describe('crawlLake on the events table', () => {
  const lakeDir = path.join(root, 'events', 'lake');

  it('registers every partition on the first crawl, against the declared schema', async () => {
    await writeEvents(lakeDir, 0, 3);
    await writeEvents(lakeDir, 1, 5);
    const [r] = await crawlLake(lakeDir, { now: () => new Date('2026-01-02T03:04:05Z') });
    expect(r!.firstCrawl).toBe(true);
    expect(r!.partitions.added.map((p) => [p.value, p.rows, p.files])).toEqual([
      ['2019-10-01', 3, 1],
      ['2019-10-02', 5, 1],
    ]);
    expect(r!.drift).toEqual([]);
    expect(needsAttention(r!)).toBe(false);
    const reg = await readRegistration(lakeDir, 'events');
    expect(reg).toEqual(r!.registration);
    expect(reg!.crawledAt).toBe('2026-01-02T03:04:05.000Z');
    expect(reg!.partitionKeys).toEqual([{ name: 'event_date', type: 'DATE' }]);
    expect(reg!.columns).toEqual(EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })));
    const files = await listLakeFiles(lakeDir);
    expect(reg!.partitions.reduce((n, p) => n + p.bytes, 0)).toBe(
      files.reduce((n, f) => n + statSync(f.path).size, 0),
    );
  });

  it('reports nothing new on a second crawl, then new and changed partitions', async () => {
    const [same] = await crawlLake(lakeDir);
    expect(same!.firstCrawl).toBe(false);
    expect(same!.partitions).toEqual({ added: [], changed: [], stale: [], unchanged: 2 });

    await writeEvents(lakeDir, 1, 2); // a second file in day two
    await writeEvents(lakeDir, 2, 4); // day three
    const [r] = await crawlLake(lakeDir);
    expect(r!.partitions.added.map((p) => p.value)).toEqual(['2019-10-03']);
    expect(r!.partitions.changed.map((c) => [c.value, c.before.files, c.after.files, c.after.rows])).toEqual([
      ['2019-10-02', 1, 2, 7],
    ]);
    expect(r!.partitions.unchanged).toBe(1);
    expect(r!.rows).toBe(14);
  });

  it('reads nothing but footers: a file whose data pages are destroyed crawls the same', async () => {
    const file = (await listLakeFiles(lakeDir))[0]!.path;
    const original = readFileSync(file);
    const footerLength = original.readUInt32LE(original.length - 8);
    const broken = Buffer.from(original);
    broken.fill(0xa5, 4, original.length - 8 - footerLength); // everything between the magic and the footer
    writeFileSync(file, broken);
    try {
      await expect(sql(`SELECT sum(user_id) FROM read_parquet(${sqlString(file)})`)).rejects.toThrow();
      const [r] = await crawlLake(lakeDir, { dryRun: true });
      expect(r!.partitions.unchanged).toBe(3);
      expect(r!.drift).toEqual([]);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('reports drift per file, keeps the registered schema, and accepts it with updateSchema', async () => {
    const day = path.join(lakeDir, 'events', 'event_date=2019-10-02');
    const drifted = path.join(day, 'part-zz-drift.parquet');
    const first = (await listLakeFiles(lakeDir))[0]!.path;
    await sql(`COPY (SELECT * EXCLUDE (price, stream_seq), price::DOUBLE AS price, 'x' AS coupon
      FROM read_parquet(${sqlString(first)}, hive_partitioning = false)) TO ${sqlString(drifted)} (FORMAT parquet)`);

    const [r] = await crawlLake(lakeDir);
    expect(r!.drift).toEqual([
      {
        file: drifted,
        partition: '2019-10-02',
        added: [{ name: 'coupon', type: 'VARCHAR' }],
        removed: [{ name: 'stream_seq', type: 'VARCHAR' }],
        changed: [{ name: 'price', registered: 'DECIMAL(12,2)', found: 'DOUBLE' }],
      },
    ]);
    expect(r!.schemaUpdated).toBe(false);
    expect(pendingDecisions(r!)).toEqual({ drift: true, stale: false });
    expect(needsAttention(r!)).toBe(true);
    // The partition is registered with its new file all the same; the schema is not touched.
    expect(r!.partitions.changed.map((c) => [c.value, c.after.files])).toEqual([['2019-10-02', 3]]);
    expect((await readRegistration(lakeDir, 'events'))!.columns.map((c) => c.name)).not.toContain('coupon');

    const [u] = await crawlLake(lakeDir, { updateSchema: true });
    expect(u!.schemaUpdated).toBe(true);
    expect(pendingDecisions(u!)).toEqual({ drift: false, stale: false });
    expect(needsAttention(u!)).toBe(false);
    const columns = (await readRegistration(lakeDir, 'events'))!.columns;
    // Every column any file has; where a file's type differs from the registered one, that type.
    expect(columns.map((c) => c.name)).toEqual([...EVENT_COLUMNS.map((c) => c.name), 'coupon']);
    expect(columns.find((c) => c.name === 'price')!.type).toBe('DOUBLE');

    rmSync(drifted);
    const [back] = await crawlLake(lakeDir);
    expect(back!.drift).toHaveLength(4); // now every other file lacks `coupon` and has DECIMAL prices
    await crawlLake(lakeDir, { updateSchema: true });
    expect((await readRegistration(lakeDir, 'events'))!.columns).toEqual(
      EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    );
  });

  it('keeps a removed partition registered as stale until dropStale; a dry run writes nothing', async () => {
    rmSync(path.join(lakeDir, 'events', 'event_date=2019-10-01'), { recursive: true });
    const before = readFileSync(registrationPath(lakeDir, 'events'), 'utf8');
    const [dry] = await crawlLake(lakeDir, { dryRun: true, dropStale: true });
    expect(dry!.written).toBe(false);
    expect(readFileSync(registrationPath(lakeDir, 'events'), 'utf8')).toBe(before);

    const [r] = await crawlLake(lakeDir);
    expect(r!.partitions.stale.map((p) => p.value)).toEqual(['2019-10-01']);
    expect(pendingDecisions(r!)).toEqual({ drift: false, stale: true });
    expect(needsAttention(r!)).toBe(true);
    expect((await readRegistration(lakeDir, 'events'))!.partitions.map((p) => p.value)).toEqual([
      '2019-10-01',
      '2019-10-02',
      '2019-10-03',
    ]);
    const [d] = await crawlLake(lakeDir, { dropStale: true });
    expect(d!.staleDropped).toBe(true);
    expect(needsAttention(d!)).toBe(false);
    expect((await readRegistration(lakeDir, 'events'))!.partitions.map((p) => p.value)).toEqual([
      '2019-10-02',
      '2019-10-03',
    ]);
  });

  it('refuses a registration that is not one, naming the file', async () => {
    const file = registrationPath(lakeDir, 'events');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{"version": 1, "tab');
    await expect(crawlLake(lakeDir)).rejects.toMatchObject({
      code: 'STATE',
      message: expect.stringContaining(file),
    });
    writeFileSync(file, '{"version": 1, "table": "clean", "columns": [], "partitions": []}');
    await expect(crawlLake(lakeDir)).rejects.toThrow(/not a catalog registration of events/);
    writeFileSync(file, good);
  });
});

describe('crawlLake on other tables', () => {
  const lakeDir = path.join(root, 'generic', 'lake');

  it('registers what the files have, nested columns included, and infers the partition key type', async () => {
    mkdirSync(lakeDir, { recursive: true });
    await sql(`COPY (SELECT i AS id, ['a', 'b'] AS levels, {'l1': 'x', 'n': i} AS info, i % 3 AS shard
      FROM range(9) t(i)) TO ${sqlString(path.join(lakeDir, 'clean'))} (FORMAT parquet, PARTITION_BY (shard))`);
    const results = await crawlLake(lakeDir);
    expect(results.map((r) => r.table)).toEqual(['events', 'clean']);
    expect(results[0]!.files).toBe(0); // the events table, still empty
    const reg = results[1]!.registration;
    expect(reg.partitionKeys).toEqual([{ name: 'shard', type: 'BIGINT' }]);
    const described = await sql(
      `DESCRIBE SELECT * FROM read_parquet(${sqlString(path.join(lakeDir, 'clean', 'shard=0', '*.parquet'))}, hive_partitioning = false)`,
    );
    expect(reg.columns).toEqual(described.map((r) => ({ name: r.column_name, type: r.column_type })));
    expect(reg.columns.map((c) => c.type)).toEqual(['BIGINT', 'VARCHAR[]', 'STRUCT(l1 VARCHAR, n BIGINT)']);
    expect(reg.partitions.map((p) => [p.value, p.rows])).toEqual([
      ['0', 3],
      ['1', 3],
      ['2', 3],
    ]);
    expect(existsSync(registrationPath(lakeDir, 'clean'))).toBe(true);
  });

  it('crawls only the table asked for', async () => {
    mkdirSync(path.join(lakeDir, 'clean', 'shard=9'));
    const results = await crawlLake(lakeDir, { table: 'clean', dryRun: true });
    expect(results.map((r) => r.table)).toEqual(['clean']);
    await expect(crawlLake(lakeDir, { table: 'dirty' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
