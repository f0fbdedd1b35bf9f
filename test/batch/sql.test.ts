import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorepulseError } from '../../src/core/errors.js';
import { listLakeFiles } from '../../src/lake/layout.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { openSandbox, runReadOnlySql, SQL_DEFAULTS } from '../../src/batch/sql.js';
import { ev } from '../helpers/events.js';

const DAY = 86_400_000;
const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-sql-test-'));
/** A folder beside the lake: nothing may be read from or written to it. */
const outside = path.join(root, 'outside');
const lakeDir = path.join(root, 'lake');
const partition = path.join(lakeDir, 'events', 'event_date=2019-10-01');

/** Every path under `dir`, to compare before and after. */
const tree = (dir: string) => (readdirSync(dir, { recursive: true }) as string[]).sort();
let lakeBefore: string[] = [];

async function addEvents(dir: string, users: number[], dayOffset = 0): Promise<void> {
  const w = await LakeWriter.open({ lakeDir: dir });
  await w.write(users.map((u) => ({ event: ev(u, dayOffset * DAY + u * 1000) })));
  await w.close();
}

beforeAll(async () => {
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), 'not for the dashboard\n');
  await addEvents(lakeDir, [0, 1, 2]);
  await addEvents(lakeDir, [10, 11, 12, 13, 14], 1);
  lakeBefore = tree(lakeDir);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The USAGE error that `sql` is refused with. */
async function refused(sql: string, limits?: Parameters<typeof runReadOnlySql>[2]): Promise<StorepulseError> {
  const err = await runReadOnlySql(lakeDir, sql, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorepulseError);
  expect((err as StorepulseError).code).toBe('USAGE');
  return err as StorepulseError;
}

describe('runReadOnlySql: queries', () => {
  it('counts, groups and lists the events view with plain values', async () => {
    const count = await runReadOnlySql(lakeDir, 'SELECT count(*) AS n FROM events');
    expect(count).toMatchObject({ columns: ['n'], rows: [{ n: 8 }], truncated: false });
    expect(count.elapsedMs).toBeGreaterThanOrEqual(0);

    const byDay = await runReadOnlySql(
      lakeDir,
      'SELECT event_date, count(*) AS n FROM events GROUP BY event_date ORDER BY event_date',
    );
    expect(byDay.rows).toEqual([
      { event_date: '2019-10-01', n: 3 },
      { event_date: '2019-10-02', n: 5 },
    ]);

    const five = await runReadOnlySql(lakeDir, 'SELECT * FROM events ORDER BY event_time LIMIT 5');
    expect(five.rows).toHaveLength(5);
    expect(five.columns).toContain('event_date');
    expect(five.rows[0]).toMatchObject({ event_time: '2019-10-01T10:00:00.000Z', price: 100.5 });
  });

  it('describes the view and reads lake files by their paths', async () => {
    const d = await runReadOnlySql(lakeDir, 'DESCRIBE events');
    expect(d.rows.map((r) => r.column_name)).toContain('category_id');

    const glob = await runReadOnlySql(
      lakeDir,
      `SELECT count(*) AS n FROM read_parquet('${lakeDir}/**/*.parquet')`,
    );
    expect(glob.rows).toEqual([{ n: 8 }]);
  });

  it('runs the other forms of a query', async () => {
    const forms = [
      'SHOW TABLES',
      'SUMMARIZE events',
      'VALUES (1)',
      'FROM events',
      'WITH d AS (SELECT DISTINCT event_date FROM events) SELECT * FROM d',
      `PIVOT events ON event_type IN ('view', 'cart') USING count(*) GROUP BY event_date`,
    ];
    for (const sql of forms) expect((await runReadOnlySql(lakeDir, sql)).rows.length, sql).toBeGreaterThan(0);
  });

  it('keeps at most maxRows rows and says when there were more', async () => {
    const cut = await runReadOnlySql(lakeDir, 'SELECT range AS n FROM range(5000)', { maxRows: 10 });
    expect(cut.columns).toEqual(['n']);
    expect(cut.rows.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(cut.truncated).toBe(true);

    const exact = await runReadOnlySql(lakeDir, 'SELECT * FROM events', { maxRows: 8 });
    expect(exact.rows).toHaveLength(8);
    expect(exact.truncated).toBe(false);
    expect(SQL_DEFAULTS).toEqual({ maxRows: 1000, timeoutMs: 10_000 });
  });

  it('stops a slow query at the time limit', async () => {
    const slow = 'SELECT count(*) FROM range(10000000000) t WHERE hash(range) % 7 = 3';
    expect((await refused(slow, { timeoutMs: 200 })).message).toBe(
      'the query was stopped after 0.2 s (limit)',
    );
    // While rows are being streamed, too.
    const trickle = 'SELECT range FROM range(10000000000) t WHERE hash(range) % 1000000007 = 3';
    expect((await refused(trickle, { timeoutMs: 200, maxRows: 5 })).message).toMatch(/stopped after/);
  });

  it('sees files added to the lake since the last query', async () => {
    const dir = path.join(root, 'growing');
    await addEvents(dir, [1, 2]);
    expect((await runReadOnlySql(dir, 'SELECT count(*) AS n FROM events')).rows).toEqual([{ n: 2 }]);
    await addEvents(dir, [3, 4, 5], 2);
    expect((await runReadOnlySql(dir, 'SELECT count(*) AS n FROM events')).rows).toEqual([{ n: 5 }]);
  });

  it('says so for a lake with no data, and for SQL that is not valid', async () => {
    for (const dir of [path.join(root, 'missing'), outside]) {
      await expect(runReadOnlySql(dir, 'SELECT 1')).rejects.toMatchObject({
        code: 'STATE',
        message: expect.stringContaining('has no data yet'),
      });
    }
    expect((await refused('SELEC 1')).message).toMatch(/^the SQL is not valid: Parser Error: syntax error/);
    expect((await refused('  ')).message).toBe('there is no SQL statement to run');
    expect((await refused('SELECT nope FROM events')).message).toMatch(/^the query failed: Binder Error/);
    expect((await refused('SELECT 1', { maxRows: -1 })).message).toMatch(/maxRows/);
  });
});

describe('runReadOnlySql: what it refuses, and that nothing was written', () => {
  const target = (name: string) => path.join(outside, name);
  const cases: [string, () => string, string[]][] = [
    ['COPY out of the lake', () => `COPY (SELECT 1) TO '${target('x.csv')}'`, [target('x.csv')]],
    ['COPY into the lake', () => `COPY (SELECT 1) TO '${lakeDir}/x.csv'`, [`${lakeDir}/x.csv`]],
    [
      'COPY into a partition',
      () => `COPY (SELECT * FROM events) TO '${partition}/part-x.parquet' (FORMAT parquet)`,
      [`${partition}/part-x.parquet`],
    ],
    [
      'EXPLAIN ANALYZE COPY into the lake',
      () => `EXPLAIN ANALYZE COPY (SELECT 1) TO '${lakeDir}/e.csv'`,
      [`${lakeDir}/e.csv`],
    ],
    ['ATTACH', () => `ATTACH '${target('x.db')}'`, [target('x.db')]],
    ['INSTALL', () => 'INSTALL httpfs', []],
    ['LOAD', () => 'LOAD httpfs', []],
    ['read_csv outside', () => `SELECT * FROM read_csv('/etc/passwd')`, []],
    ['read_text outside', () => `SELECT * FROM read_text('/etc/hostname')`, []],
    ['a glob outside', () => `SELECT * FROM read_text('${outside}/*.txt')`, []],
    ['a glob out of the lake by ..', () => `SELECT * FROM glob('${lakeDir}/../*')`, []],
    ['CREATE TABLE', () => 'CREATE TABLE t AS SELECT 1', []],
    ['CREATE TEMP TABLE', () => 'CREATE TEMP TABLE t AS SELECT 1', []],
    ['SET enable_external_access', () => 'SET enable_external_access = true', []],
    ['SET lock_configuration', () => 'SET lock_configuration = false', []],
    ['PRAGMA threads', () => 'PRAGMA threads = 1', []],
    ['PRAGMA enable_profiling', () => 'PRAGMA enable_profiling', []],
    ['CALL', () => `CALL enable_profiling()`, []],
    ['EXPORT DATABASE', () => `EXPORT DATABASE '${target('x')}'`, [target('x')]],
    ['EXPORT DATABASE into the lake', () => `EXPORT DATABASE '${lakeDir}/x'`, [`${lakeDir}/x`]],
    ['a write after a query', () => `SELECT 1; COPY (SELECT 1) TO '${target('y.csv')}'`, [target('y.csv')]],
    // Table functions that act: DuckDB 1.5 runs enable_logging despite lock_configuration.
    [
      'enable_logging into the lake',
      () => `SELECT * FROM enable_logging(storage => 'file', storage_path => '${lakeDir}/logs')`,
      [`${lakeDir}/logs`],
    ],
    [
      'enable_logging in a subquery',
      () =>
        `SELECT * FROM events WHERE 1 IN (SELECT 1 FROM enable_logging(storage_path => '${target('l')}'))`,
      [target('l')],
    ],
    ['SQL from a string (query)', () => `SELECT * FROM query('SELECT * FROM enable_logging()')`, []],
    ['SQL from a parse tree', () => `SELECT * FROM json_execute_serialized_sql('{}')`, []],
  ];

  it.each(cases)('%s', async (_name, sql, written) => {
    const err = await refused(sql());
    expect(err.message).not.toBe('');
    for (const f of written) expect(existsSync(f), f).toBe(false);
  });

  it('says why', async () => {
    expect((await refused(`COPY (SELECT 1) TO '${lakeDir}/x.csv'`)).message).toBe(
      'only queries can run here (SELECT, FROM, WITH, VALUES, DESCRIBE, SHOW, SUMMARIZE); ' +
        "DuckDB's parser reads this as another kind of statement",
    );
    expect((await refused('SELECT 1; SELECT 2')).message).toBe(
      'only one statement can run at a time; DuckDB reads 2 in this SQL',
    );
    expect((await refused(`SELECT * FROM read_parquet('${outside}/secret.txt')`)).message).toMatch(
      /^the query failed: Permission Error: Cannot access file/,
    );
    expect((await refused(`SELECT * FROM read_text('${outside}/secret.txt')`)).message).toMatch(
      /^the table function read_text cannot run here; readers that can: read_parquet, /,
    );
  });

  it('leaves the lake as it was', async () => {
    expect(tree(lakeDir)).toEqual(lakeBefore);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect((await listLakeFiles(lakeDir)).length).toBe(2);
  });
});

/**
 * The engine's settings on their own, without the one-query rule: what they stop, and what they do
 * not (writes inside the lake), which is why runReadOnlySql runs only queries.
 */
describe('openSandbox: the engine settings alone', () => {
  const blocked = [
    `COPY (SELECT 1) TO '${outside}/s.csv'`,
    `ATTACH '${outside}/s.db'`,
    'INSTALL httpfs',
    'LOAD httpfs',
    `SELECT * FROM read_csv('/etc/passwd')`,
    `SELECT * FROM read_text('/etc/hostname')`,
    `SELECT * FROM read_text('${outside}/*.txt')`,
    'CREATE TABLE t AS SELECT 1',
    'CREATE MACRO m(x) AS x + 1',
    'SET enable_external_access = true',
    'SET lock_configuration = false',
    'RESET lock_configuration',
    `SET allowed_directories = ['/']`,
    'PRAGMA threads = 1',
    `SET log_query_path = '${outside}/q.log'`,
    `EXPORT DATABASE '${outside}/s'`,
  ];

  it('refuses reads and writes outside the lake, extensions, DDL and setting changes', async () => {
    const sandbox = await openSandbox(lakeDir, await listLakeFiles(lakeDir));
    try {
      for (const sql of blocked) {
        await expect(sandbox.connection.run(sql), sql).rejects.toThrow(
          /Permission Error|read-only mode|configuration has been locked|disabled through configuration/,
        );
      }
      const n = await sandbox.connection.runAndReadAll('SELECT count(*) FROM events');
      expect(Number(n.getRows()[0]![0])).toBe(8);
    } finally {
      await sandbox.close();
    }
    expect(readdirSync(outside)).toEqual(['secret.txt']);
  });

  it('does not stop a COPY inside the lake (DuckDB grants an allowed directory for writing too)', async () => {
    const scratch = path.join(lakeDir, '_scratch');
    const sandbox = await openSandbox(lakeDir, await listLakeFiles(lakeDir));
    try {
      await sandbox.connection.run(`COPY (SELECT 1) TO '${scratch}.csv'`);
    } finally {
      await sandbox.close();
      rmSync(`${scratch}.csv`, { force: true });
    }
  });
});
