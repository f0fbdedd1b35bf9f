import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { StorepulseError } from '../../src/core/errors.js';
import { openDuckDB, queryPlain } from '../../src/lake/duckdb.js';
import { eventsSource } from '../../src/lake/catalog.js';
import { eventsGlob, listLakeFiles } from '../../src/lake/layout.js';
import { LakeWriter, lakeRowCount, readLakeProgress } from '../../src/lake/writer.js';
import type { LakeRecord } from '../../src/lake/schema.js';

const dirs: string[] = [];
function tempLake(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'storepulse-lake-'));
  dirs.push(d);
  return path.join(d, 'lake');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BIG_CATEGORY = '2053013555631882655'; // above 2^53: must survive as text
const at = (iso: string) => Date.parse(iso);

function event(over: Partial<ClickEvent>): ClickEvent {
  return {
    event_time: at('2019-10-01T10:00:00.000Z'),
    event_type: 'view',
    product_id: 44600062,
    category_id: BIG_CATEGORY,
    category_code: 'electronics.smartphone',
    brand: 'shiseido',
    price: 35.79,
    user_id: 541312140,
    user_session: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
    ...over,
  };
}

/** Ten events over three days, with every optional field both set and empty somewhere. */
const RECORDS: LakeRecord[] = [
  { event: event({ event_time: at('2019-10-01T00:00:00.000Z') }) },
  { event: event({ event_time: at('2019-10-01T23:59:59.999Z'), category_code: null, brand: null }) },
  {
    event: event({
      event_time: at('2019-10-01T12:34:56.789Z'),
      event_type: 'cart',
      txn_timestamp: 1_700_000_000_123,
    }),
    shard: 'shardId-000000000001',
    seq: '49590338271490256608559692538361571095921575989136588898',
  },
  { event: event({ event_time: at('2019-10-02T00:00:00.000Z'), user_session: null, price: 0 }) },
  { event: event({ event_time: at('2019-10-02T08:00:00.001Z'), event_type: 'purchase', price: 2574.07 }) },
  {
    event: event({
      event_time: at('2019-10-02T09:00:00.000Z'),
      event_type: 'remove_from_cart',
      user_id: 2 ** 53 - 1,
    }),
    shard: 'shardId-000000000002',
    seq: '1',
  },
  { event: event({ event_time: at('2019-10-03T01:00:00.000Z'), category_id: '1', product_id: 0 }) },
  {
    event: event({ event_time: at('2019-10-03T02:00:00.000Z'), brand: 'a\u001fb', user_session: 'x\u001fy' }),
  },
  { event: event({ event_time: at('2019-10-03T03:00:00.000Z'), category_code: '', brand: '' }) },
  { event: event({ event_time: at('2019-10-03T04:00:00.000Z'), price: 0.1 + 0.2 }) },
];

async function readLake(lakeDir: string) {
  const db = await openDuckDB();
  try {
    return (
      await queryPlain(
        db.connection,
        `SELECT * FROM ${eventsSource(await listLakeFiles(lakeDir))} ORDER BY event_time`,
      )
    ).rows;
  } finally {
    db.close();
  }
}

describe('LakeWriter', () => {
  it('writes Hive partitions across several flushes and reads back exactly', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir, flushRows: 3 });
    await w.write(RECORDS.slice(0, 4));
    await w.write(RECORDS.slice(4, 5));
    await w.write(RECORDS.slice(5));
    const summary = await w.close();

    expect(summary.rows).toBe(10);
    expect(summary.partitions).toEqual(['2019-10-01', '2019-10-02', '2019-10-03']);
    // flushRows 3 → four flushes (3+3+3+1); a flush spanning two days writes two files.
    const files = await listLakeFiles(lakeDir);
    expect(files.length).toBe(summary.files);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      expect(path.basename(f.path)).toMatch(/^part-\d{8}T\d{6}Z-[0-9a-f]{8}-\d{5}-\d+\.parquet$/);
      expect(path.basename(path.dirname(f.path))).toBe(`event_date=${f.partition}`);
    }
    expect(new Set(files.map((f) => path.basename(f.path))).size).toBe(files.length);
    expect(readdirSync(path.join(lakeDir, '_staging'))).toEqual([]);

    const rows = await readLake(lakeDir);
    expect(rows.length).toBe(10);
    const perDay: Record<string, number> = {};
    for (const r of rows) perDay[String(r.event_date)] = (perDay[String(r.event_date)] ?? 0) + 1;
    expect(perDay).toEqual({ '2019-10-01': 3, '2019-10-02': 3, '2019-10-03': 4 });

    const byTime = new Map(rows.map((r) => [r.event_time, r]));
    const first = byTime.get('2019-10-01T00:00:00.000Z')!;
    expect(first).toMatchObject({
      event_type: 'view',
      product_id: 44600062,
      category_id: BIG_CATEGORY,
      category_code: 'electronics.smartphone',
      brand: 'shiseido',
      price: 35.79,
      user_id: 541312140,
      user_session: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
      txn_timestamp: null,
      stream_shard: null,
      stream_seq: null,
    });
    expect(byTime.get('2019-10-01T23:59:59.999Z')).toMatchObject({ category_code: null, brand: null });
    expect(byTime.get('2019-10-01T12:34:56.789Z')).toMatchObject({
      event_type: 'cart',
      txn_timestamp: '2023-11-14T22:13:20.123Z',
      stream_shard: 'shardId-000000000001',
      stream_seq: '49590338271490256608559692538361571095921575989136588898',
    });
    expect(byTime.get('2019-10-02T00:00:00.000Z')).toMatchObject({ user_session: null, price: 0 });
    expect(byTime.get('2019-10-02T08:00:00.001Z')).toMatchObject({ event_type: 'purchase', price: 2574.07 });
    expect(byTime.get('2019-10-02T09:00:00.000Z')).toMatchObject({
      event_type: 'remove_from_cart',
      user_id: 2 ** 53 - 1,
      stream_seq: '1',
      stream_shard: 'shardId-000000000002',
    });
    expect(byTime.get('2019-10-03T01:00:00.000Z')).toMatchObject({ category_id: '1', product_id: 0 });
    // The writer's separator cannot survive inside a value; it becomes U+FFFD and nothing shifts.
    expect(byTime.get('2019-10-03T02:00:00.000Z')).toMatchObject({
      brand: 'a\ufffdb',
      user_session: 'x\ufffdy',
    });
    expect(byTime.get('2019-10-03T03:00:00.000Z')).toMatchObject({ category_code: null, brand: null });
    expect(byTime.get('2019-10-03T04:00:00.000Z')).toMatchObject({ price: 0.3 });
  });

  it('stores the documented column types', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir });
    await w.write(RECORDS);
    await w.close();
    const db = await openDuckDB();
    try {
      const d = await queryPlain(
        db.connection,
        `DESCRIBE SELECT * FROM read_parquet('${eventsGlob(lakeDir)}')`,
      );
      expect(Object.fromEntries(d.rows.map((r) => [r.column_name, r.column_type]))).toEqual({
        event_time: 'TIMESTAMP',
        event_type: 'VARCHAR',
        product_id: 'BIGINT',
        category_id: 'VARCHAR',
        category_code: 'VARCHAR',
        brand: 'VARCHAR',
        price: 'DECIMAL(12,2)',
        user_id: 'BIGINT',
        user_session: 'VARCHAR',
        txn_timestamp: 'TIMESTAMP',
        stream_shard: 'VARCHAR',
        stream_seq: 'VARCHAR',
        event_date: 'DATE',
      });
    } finally {
      db.close();
    }
  });

  it('adds files on repeated runs instead of overwriting', async () => {
    const lakeDir = tempLake();
    for (let run = 0; run < 2; run++) {
      const w = await LakeWriter.open({ lakeDir });
      await w.write(RECORDS);
      await w.flush();
      await w.write(RECORDS.slice(0, 2));
      await w.close();
    }
    expect(await lakeRowCount(lakeDir)).toBe(24);
    const runs = new Set(
      (await listLakeFiles(lakeDir)).map((f) => path.basename(f.path).split('-').slice(1, 3).join('-')),
    );
    expect(runs.size).toBe(2);
  });

  it('rejects a batch with a bad record and keeps none of it', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir });
    const bad = { event: event({ event_time: Number.NaN }) };
    await expect(w.write([RECORDS[0]!, bad])).rejects.toMatchObject({ code: 'INPUT' });
    await expect(
      w.write([{ event: event({ category_id: Number(BIG_CATEGORY) as unknown as string }) }]),
    ).rejects.toThrow(StorepulseError);
    await w.write([RECORDS[1]!]);
    expect((await w.close()).rows).toBe(1);
    await expect(w.write(RECORDS)).rejects.toMatchObject({ code: 'STATE' });
    expect(await lakeRowCount(lakeDir)).toBe(1);
  });

  it('runs overlapping calls in order', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir, flushRows: 2 });
    // Not awaited one by one: the writer must still keep them apart and in order.
    const calls = [
      w.write(RECORDS.slice(0, 5)),
      w.flush(),
      w.write(RECORDS.slice(5)),
      w.write(RECORDS.slice(0, 1)),
    ];
    await Promise.all(calls);
    expect((await w.close()).rows).toBe(11);
    expect(await lakeRowCount(lakeDir)).toBe(11);
  });

  it('seals what is written so far while later writes go into the next file set', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir, flushRows: 100 });
    await w.write(RECORDS.slice(0, 5));
    const sealed = w.seal();
    const later = w.write(RECORDS.slice(5));
    await sealed;
    expect(await lakeRowCount(lakeDir)).toBe(5);
    await later;
    await w.seal();
    expect(await lakeRowCount(lakeDir)).toBe(RECORDS.length);
    expect((await w.close()).rows).toBe(RECORDS.length);
  });

  it('reports a failed write and refuses further work', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir });
    await w.write(RECORDS);
    // The staging folder becomes a file: the COPY cannot create its output there.
    rmSync(path.join(lakeDir, '_staging'), { recursive: true });
    writeFileSync(path.join(lakeDir, '_staging'), 'in the way');
    await expect(w.flush()).rejects.toMatchObject({ code: 'IO' });
    await expect(w.write(RECORDS)).rejects.toMatchObject({ code: 'IO' });
    await expect(w.close()).rejects.toMatchObject({ code: 'IO' });
    expect(await lakeRowCount(lakeDir)).toBe(0);
  });

  it('ignores staged and foreign files, and clears uncommitted staging on open', async () => {
    const lakeDir = tempLake();
    // Leftovers of crashes: a half-written file in staging, another run's empty staging folder.
    const stale = path.join(lakeDir, '_staging', 'crashed-run', '00001', 'event_date=2019-10-01');
    mkdirSync(stale, { recursive: true });
    writeFileSync(path.join(stale, 'data_0.parquet'), 'not parquet');
    const fresh = path.join(lakeDir, '_staging', 'other-run');
    mkdirSync(fresh, { recursive: true });
    // Files readers must not pick up inside a partition folder.
    const part = path.join(lakeDir, 'events', 'event_date=2019-10-01');
    mkdirSync(part, { recursive: true });
    writeFileSync(path.join(part, '.part-x.parquet'), 'hidden');
    writeFileSync(path.join(part, 'notes.txt'), 'text');

    const w = await LakeWriter.open({ lakeDir });
    // Under the writer lock no staging folder can belong to a live writer.
    expect(existsSync(path.join(lakeDir, '_staging', 'crashed-run'))).toBe(false);
    expect(existsSync(fresh)).toBe(false);
    await w.write(RECORDS);
    await w.close();
    expect(await lakeRowCount(lakeDir)).toBe(10);
    expect((await readLake(lakeDir)).length).toBe(10);
  });

  it('takes one writer at a time', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir });
    await expect(LakeWriter.open({ lakeDir, lockedHint: 'or use --no-lake' })).rejects.toThrow(
      /the lake at .* is locked by another writer: this process already has it open.*or use --no-lake/,
    );
    await w.write(RECORDS);
    await w.close();
    const next = await LakeWriter.open({ lakeDir });
    await next.close();
    expect(await lakeRowCount(lakeDir)).toBe(10);
  });

  it('publishes stream progress with each flush, and finishes a committed flush after a crash', async () => {
    const lakeDir = tempLake();
    const w = await LakeWriter.open({ lakeDir, progress: 'embedded:s1/process' });
    await w.write(RECORDS);
    expect(await readLakeProgress(lakeDir, 'embedded:s1/process')).toEqual({});
    await w.flush();
    const after = { 'shardId-000000000001': RECORDS[2]!.seq, 'shardId-000000000002': '1' };
    expect(await readLakeProgress(lakeDir, 'embedded:s1/process')).toEqual(after);
    await w.close();
    // A later run that reaches one shard only keeps the other's position.
    const w2 = await LakeWriter.open({ lakeDir, progress: 'embedded:s1/process' });
    await w2.write([{ ...RECORDS[5]!, seq: '2' }]);
    await w2.close();
    expect(await readLakeProgress(lakeDir, 'embedded:s1/process')).toEqual({
      ...after,
      'shardId-000000000002': '2',
    });

    // A crash between the commit manifest and the renames: the next writer finishes the flush.
    const [published] = await listLakeFiles(lakeDir);
    const staged = path.join(
      lakeDir,
      '_staging',
      'crashed',
      '00007',
      'event_date=2019-10-01',
      'data_0.parquet',
    );
    mkdirSync(path.dirname(staged), { recursive: true });
    writeFileSync(staged, readFileSync(published!.path));
    const target = path.join(lakeDir, 'events', 'event_date=2019-10-01', 'part-crashed-00007-0.parquet');
    const progress = { 'shardId-000000000001': '9'.repeat(56) };
    writeFileSync(
      path.join(lakeDir, '_staging', 'crashed', '00007', '_commit.json'),
      JSON.stringify({
        renames: [[staged, target]],
        progress: { name: 'embedded:s1/process', positions: progress },
      }),
    );
    // An uncommitted flush of the same run is not published.
    const uncommitted = path.join(lakeDir, '_staging', 'crashed', '00008', 'event_date=2019-10-01');
    mkdirSync(uncommitted, { recursive: true });
    writeFileSync(path.join(uncommitted, 'data_0.parquet'), readFileSync(published!.path));

    const filesBefore = (await listLakeFiles(lakeDir)).length;
    await (await LakeWriter.open({ lakeDir })).close();
    expect(existsSync(target)).toBe(true);
    expect(existsSync(path.join(lakeDir, '_staging', 'crashed', '00007'))).toBe(false);
    expect(await readLakeProgress(lakeDir, 'embedded:s1/process')).toEqual(progress);
    expect((await listLakeFiles(lakeDir)).length).toBe(filesBefore + 1);
  });

  it('keeps up with a high event rate', async () => {
    const lakeDir = tempLake();
    const N = 300_000;
    const types = [
      'view',
      'view',
      'view',
      'view',
      'view',
      'view',
      'view',
      'view',
      'cart',
      'purchase',
    ] as const;
    const batches: LakeRecord[][] = [];
    for (let i = 0; i < N; i += 4000) {
      const batch: LakeRecord[] = [];
      for (let j = i; j < Math.min(N, i + 4000); j++) {
        batch.push({
          event: {
            event_time: at('2019-10-01T00:00:00Z') + j * 5000,
            event_type: types[j % 10]!,
            product_id: 1_000_000 + (j % 50_000),
            category_id: String(2053013555631882655n + BigInt(j % 600)),
            category_code: j % 3 ? `electronics.smartphone${j % 120}` : null,
            brand: j % 7 ? `brand${j % 3000}` : null,
            price: (j % 100_000) / 100,
            user_id: 500_000_000 + (j % 200_000),
            user_session: `00000000-0000-4000-8000-${String(j % 50_000).padStart(12, '0')}`,
            txn_timestamp: at('2024-01-01T00:00:00Z') + j,
          },
          shard: 'shardId-000000000001',
          seq: `4959033827149025660855969253836157109592157598913${String(j).padStart(7, '0')}`,
        });
      }
      batches.push(batch);
    }
    const w = await LakeWriter.open({ lakeDir, flushRows: 100_000 });
    const started = performance.now();
    for (const b of batches) await w.write(b);
    const summary = await w.close();
    const secs = (performance.now() - started) / 1000;
    console.log(
      `lake writer: ${N} events in ${secs.toFixed(2)} s = ${Math.round(N / secs).toLocaleString('en-US')} events/s`,
    );
    expect(summary.rows).toBe(N);
    expect(await lakeRowCount(lakeDir)).toBe(N);
  });
});
