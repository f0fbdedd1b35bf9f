import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { REJECT_REASONS } from '../../src/core/row.js';
import { acquireWriterLock } from '../../src/fs/lock.js';
import { openDuckDB, queryPlain, sqlString } from '../../src/lake/duckdb.js';
import { eventsGlob, listLakeFiles } from '../../src/lake/layout.js';
import { loadFiles } from '../../src/lake/load.js';
import { type DeadLetterRecord, createMemoryDeadLetter } from '../../src/sources/deadletter.js';
import { readEvents } from '../../src/sources/reader.js';

const HEADER = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';
const T = '2019-10-01 00:00:00 UTC';
const CAT = '2053013555631882655';
const S = '72d76fde-8bb3-4e00-8c23-a032dfed738c';
const row = (fields: Partial<Record<string, string>> = {}) =>
  [
    fields.t ?? T,
    fields.type ?? 'view',
    fields.product ?? '44600062',
    fields.category ?? CAT,
    fields.code ?? 'electronics.smartphone',
    fields.brand ?? 'shiseido',
    fields.price ?? '35.79',
    fields.user ?? '541312140',
    fields.session ?? S,
  ].join(',');

const MAX_LINE = 512;

/** Good rows and every reject reason, with the edge cases of each rule. */
const CORPUS = [
  `\uFEFF${HEADER}`,
  row(),
  row({ category: '2232732093077520756', brand: '', code: '' }),
  row({ session: '' }),
  // prices: 0, 1 and 2 decimals, zero, more decimals than the lake keeps, above DECIMAL(12,2)
  row({ price: '0' }),
  row({ price: '5' }),
  row({ price: '5.5' }),
  row({ price: '0.00' }),
  row({ price: '1.005' }),
  row({ price: '0123.40' }),
  row({ price: '12345678901234567890' }),
  // event_time forms the reader accepts
  row({ t: '2019-10-01T00:00:00Z' }),
  row({ t: '2019-10-01T00:00:00.123Z' }),
  row({ t: '2019-10-01 00:00:00.5 UTC' }),
  row({ t: '2019-10-01 00:00:00UTC' }),
  row({ t: '2019-10-01T23:30:00+02:00' }),
  row({ t: '2019-10-01T23:30:00-0530' }),
  row({ t: '2019-10-31 23:59:59.123456789 UTC' }),
  row({ t: '2020-02-29 12:00:00 UTC' }),
  row({ t: '0019-10-01 00:00:00 UTC' }),
  row({ t: '2000-02-29 23:59:59 UTC' }),
  row({ t: '1970-01-01 00:00:00 UTC' }),
  row({ t: '0099-12-31 23:59:59 UTC' }),
  row({ t: '2019-10-01 00:00:00\u00a0UTC' }),
  // ids at their limits, leading zeros
  row({ product: '9007199254740991', user: '0000000000000007' }),
  row({ category: '1' }),
  row({ category: '12345678901234567890' }),
  // quoting the reader accepts
  row({ brand: '"acme, inc"', code: '"say ""hi"""' }),
  row({ code: '"two\nlines"' }),

  '',
  // rejects
  row({ t: '2019-02-29 00:00:00 UTC' }),
  row({ t: '2019-10-01 24:00:00 UTC' }),
  // the dataset's own form, which load-sql.ts reads by strptime: its edges
  row({ t: '2019-10-01 00:00:60 UTC' }),
  row({ t: '2019-10-01 00:60:00 UTC' }),
  row({ t: '2019-13-01 00:00:00 UTC' }),
  row({ t: '2019-10-00 00:00:00 UTC' }),
  row({ t: '1900-02-29 00:00:00 UTC' }),
  row({ t: '0000-02-29 00:00:00 UTC' }),
  row({ t: '2019-10-01 00:00:00' }),
  row({ t: '2019-10-01T00:00:00+24:00' }),
  row({ t: '' }),
  row({ type: 'View' }),
  row({ type: ' view' }),
  row({ product: '90071992547409931' }),
  row({ product: '9007199254740992' }),
  row({ product: '-1' }),
  row({ product: '1.0' }),
  row({ category: '123456789012345678901' }),
  row({ category: '' }),
  row({ category: '12a' }),
  row({ price: '1.' }),
  row({ price: '.5' }),
  row({ price: '-1' }),
  row({ price: '1e3' }),
  row({ price: '' }),
  row({ price: '1234567890123456789012345' }),
  row({ user: '' }),
  row({ user: 'x' }),
  HEADER,
  `\uFEFF${HEADER}`,
  'event_time,event_type',
  row().replace(`,${S}`, ''),
  `${row()},extra`,
  'garbage',
  ' ',
  row({ brand: '"acme"x' }),
  row({ brand: 'x'.repeat(MAX_LINE) }),
  row({ t: '2019-10-02 08:00:00 UTC' }),
];
const TEXT = `${CORPUS.join('\n')}\n`;

interface Loaded {
  events: string[];
  rejects: [number, string][];
}

/** A ClickEvent as the lake stores it, as a comparable string (price to the cent, through DECIMAL). */
function key(
  e: Pick<ClickEvent, 'event_time' | 'event_type' | 'product_id' | 'category_id'> & {
    category_code: string | null;
    brand: string | null;
    price: string | null;
    user_id: number;
    user_session: string | null;
  },
): string {
  return JSON.stringify([
    e.event_time,
    e.event_type,
    e.product_id,
    e.category_id,
    e.category_code,
    e.brand,
    e.price,
    e.user_id,
    e.user_session,
  ]);
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lake-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the reader (the stream path's) makes of a file, prices cast the way the lake writer casts them. */
async function viaReader(file: string): Promise<Loaded> {
  const sink = createMemoryDeadLetter();
  const events: ClickEvent[] = [];
  for await (const b of readEvents(file, { maxLineBytes: MAX_LINE, deadLetter: sink })) events.push(...b);
  const db = await openDuckDB();
  try {
    const prices = await queryPlain(
      db.connection,
      `SELECT TRY_CAST(p AS DECIMAL(12,2))::VARCHAR AS p FROM unnest([${events.map((e) => `${e.price}::DOUBLE`).join(', ')}]) t(p)`,
    );
    return {
      events: events.map((e, i) => key({ ...e, price: (prices.rows[i]!.p as string | null) ?? null })).sort(),
      rejects: sink.records.map((r) => [r.line, r.reason] as [number, string]),
    };
  } finally {
    db.close();
  }
}

/** What `lake load` put into the lake (values from the Parquet) and its dead-letter file. */
async function viaLoad(dataDir: string): Promise<Loaded> {
  const lakeDir = path.join(dataDir, 'lake');
  const db = await openDuckDB();
  try {
    const r = await queryPlain(
      db.connection,
      `SELECT epoch_ms(event_time) AS event_time, event_type, product_id, category_id, category_code, brand,
         price::VARCHAR AS price, user_id, user_session, event_date::VARCHAR AS d, CAST(event_time AS DATE)::VARCHAR AS d2
       FROM read_parquet(${sqlString(eventsGlob(lakeDir))}, hive_partitioning = true)`,
    );
    for (const x of r.rows) expect(x.d).toBe(x.d2);
    const rejects: [number, string][] = [];
    const dlDir = path.join(dataDir, 'deadletter');
    for (const f of await readdir(dlDir).catch(() => [] as string[])) {
      for (const line of (await readFile(path.join(dlDir, f), 'utf8')).split('\n').filter(Boolean)) {
        const rec = JSON.parse(line) as DeadLetterRecord;
        rejects.push([rec.line, rec.reason]);
      }
    }
    return { events: r.rows.map((x) => key(x as never)).sort(), rejects };
  } finally {
    db.close();
  }
}

describe('lake load', () => {
  it('accepts and rejects exactly what the reader does, value by value (every reject reason)', async () => {
    const file = path.join(dir, 'corpus.csv');
    await writeFile(file, TEXT);
    const reader = await viaReader(file);
    const reasons = new Set(reader.rejects.map(([, r]) => r));
    // The corpus covers every reason, except `bad_quoting` for a quote left open (docs/lake-load.md).
    expect([...REJECT_REASONS].filter((r) => !reasons.has(r))).toEqual([]);

    const dataDir = path.join(dir, 'corpus');
    const [load] = await loadFiles([file], {
      dataDir,
      lakeDir: path.join(dataDir, 'lake'),
      maxLineBytes: MAX_LINE,
    });
    expect(load!.status).toBe('loaded');
    expect(load!.rows).toBe(reader.events.length);
    expect(load!.rejected).toBe(reader.rejects.length);
    const loaded = await viaLoad(dataDir);
    expect(loaded.events).toEqual(reader.events);
    expect(loaded.rejects).toEqual(reader.rejects);
  });

  it('loads .csv.gz and .zip (streamed through a FIFO, removed after) the same as the .csv', async () => {
    const clean = `${HEADER}\n${row()}\n${row({ t: '2019-10-03 01:00:00 UTC', brand: '' })}\n`;
    const csv = path.join(dir, 'clean.csv');
    await writeFile(csv, clean);
    await writeFile(`${csv}.gz`, gzipSync(clean));
    execFileSync('zip', ['-q', '-j', path.join(dir, 'clean.zip'), csv]);
    for (const file of [`${csv}.gz`, path.join(dir, 'clean.zip')]) {
      const dataDir = path.join(dir, `${path.basename(file)}-data`);
      const [load] = await loadFiles([file], { dataDir, lakeDir: path.join(dataDir, 'lake') });
      expect(load).toMatchObject({
        status: 'loaded',
        rows: 2,
        rejected: 0,
        partitions: ['2019-10-01', '2019-10-03'],
      });
      expect((await viaLoad(dataDir)).events).toEqual((await viaReader(csv)).events);
      expect(await readdir(path.join(dataDir, 'tmp'))).toEqual([]);
    }
  });

  it('loads a file once: the second load adds nothing and says so', async () => {
    const file = path.join(dir, 'once.csv');
    await writeFile(file, `${HEADER}\n${row()}\n${row({ type: 'cart' })}\n`);
    const dataDir = path.join(dir, 'once');
    const opts = { dataDir, lakeDir: path.join(dataDir, 'lake') };
    const [first] = await loadFiles([file], opts);
    expect(first).toMatchObject({ status: 'loaded', rows: 2, files: 1 });
    // The same bytes under another name are the same file.
    const copy = path.join(dir, 'once-copy.csv');
    await writeFile(copy, await readFile(file));
    const again = await loadFiles([file, copy], opts);
    expect(again.map((l) => l.status)).toEqual(['already loaded', 'already loaded']);
    expect((await listLakeFiles(opts.lakeDir)).length).toBe(1);
  });

  it('refuses to run while another writer holds the lake', async () => {
    const dataDir = path.join(dir, 'locked');
    const lakeDir = path.join(dataDir, 'lake');
    const file = path.join(dir, 'locked.csv');
    await writeFile(file, `${HEADER}\n${row()}\n`);
    await loadFiles([file], { dataDir, lakeDir });
    const lock = acquireWriterLock(lakeDir, { what: 'test' });
    try {
      await expect(loadFiles([file], { dataDir, lakeDir })).rejects.toMatchObject({
        code: 'STATE',
        message: expect.stringMatching(/locked by another writer/),
      });
    } finally {
      lock.release();
    }
  });

  it('fails without publishing anything when DuckDB and the reader disagree (a quote left open)', async () => {
    const file = path.join(dir, 'open-quote.csv');
    await writeFile(file, `${HEADER}\n${row({ brand: '"open' })}\n${row()}\n`);
    const dataDir = path.join(dir, 'open-quote');
    const lakeDir = path.join(dataDir, 'lake');
    await expect(loadFiles([file], { dataDir, lakeDir })).rejects.toMatchObject({
      code: 'INPUT',
      message: expect.stringMatching(/read this file differently.*valid rows: 1 vs 0/),
    });
    expect(await listLakeFiles(lakeDir)).toEqual([]);
  });
});
