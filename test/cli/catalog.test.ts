import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDB, sqlString } from '../../src/lake/duckdb.js';
import { listLakeFiles } from '../../src/lake/layout.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';
import { storepulse } from '../helpers/cli.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-catalog-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dataDir = path.join(root, 'data');
const lakeDir = path.join(dataDir, 'lake');
const DAY = 86_400_000;

const run = (...args: string[]) => storepulse(['--data-dir', dataDir, '-q', 'catalog', ...args]);

beforeAll(async () => {
  const w = await LakeWriter.open({ lakeDir });
  await w.write([0, 1, 2].map((i) => ({ event: ev(i, i * 1000) })));
  await w.write([0, 1, 2, 3, 4].map((i) => ({ event: ev(10 + i, DAY + i * 1000) })));
  await w.close();
});

describe('storepulse catalog', () => {
  it('lists tables, columns and partitions as a table, CSV or JSON', () => {
    const list = run();
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /^table\s+partition_keys\s+columns\s+partitions\s+files\s+rows\s+bytes\s+location$/m,
    );
    expect(list.stdout).toMatch(/^events\s+event_date\s+12\s+2\s+2\s+8\s+[\d.]+ KiB\s+\S+events$/m);

    const columns = run('--table', 'events', '--format', 'csv');
    expect(columns.stdout.split('\n').slice(0, 3)).toEqual([
      'column,type,partition_key',
      'event_time,TIMESTAMP,false',
      'event_type,VARCHAR,false',
    ]);
    expect(columns.stdout).toContain('event_date,DATE,true');

    const parts = run('--partitions', '--format', 'csv');
    expect(parts.stdout.trim().split('\n')).toEqual([
      'table,partition,files,rows,bytes',
      expect.stringMatching(/^events,event_date=2019-10-01,1,3,\d+$/),
      expect.stringMatching(/^events,event_date=2019-10-02,1,5,\d+$/),
    ]);

    const json = JSON.parse(run('--json').stdout);
    expect(json.tables[0]).toMatchObject({ name: 'events', rows: 8, files: 2 });
  });

  it('says clearly when a table or a data folder is not there', () => {
    const r = run('--table', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no table nope/);
    const none = storepulse(['--data-dir', path.join(root, 'none'), 'catalog']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no data folder/);
    const before = run('export', '--glue', '--database', 'storepulse', '--location', 's3://b-1/lake');
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/not registered yet: run storepulse catalog crawl first/);
  });

  it('crawls with an exit code and JSON a script can act on', async () => {
    const first = run('crawl', '--json');
    expect(first.code).toBe(0);
    const r = JSON.parse(first.stdout);
    expect(r.ok).toBe(true);
    expect(r.tables[0].partitions.added.map((p: { value: string }) => p.value)).toEqual([
      '2019-10-01',
      '2019-10-02',
    ]);
    expect(r.tables[0].registration).toBe(path.join(lakeDir, '_catalog', 'events.json'));

    // A file with one more column: drift, exit 1, nothing accepted.
    const file = (await listLakeFiles(lakeDir))[0]!.path;
    const db = await openDuckDB();
    try {
      await db.connection
        .run(`COPY (SELECT *, 1 AS extra FROM read_parquet(${sqlString(file)}, hive_partitioning = false))
        TO ${sqlString(path.join(path.dirname(file), 'part-zz.parquet'))} (FORMAT parquet)`);
    } finally {
      db.close();
    }
    const drift = run('crawl');
    expect(drift.code).toBe(1);
    expect(drift.stdout).toMatch(/schema drift in 1 of 3 files/);
    expect(drift.stdout).toMatch(/^2019-10-01\s+part-zz\.parquet\s+column added\s+extra\s+INTEGER$/m);
    expect(drift.stderr).toMatch(/events: schema drift \(accept with --update-schema\)/);
    const csv = run('crawl', '--format', 'csv', '--dry-run');
    expect(csv.code).toBe(1);
    expect(csv.stdout.trim().split('\n')).toEqual([
      'table,partition,file,change,column,registered,found',
      'events,2019-10-01,part-zz.parquet,column added,extra,,INTEGER',
    ]);
    const asJson = run('crawl', '--json', '--dry-run');
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      ok: false,
      tables: [{ needsAttention: true, written: false }],
    });

    const accepted = run('crawl', '--update-schema');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toMatch(/accepted, schema updated/);
    expect(run('crawl').code).toBe(1); // the other files lack `extra` now
    rmSync(path.join(path.dirname(file), 'part-zz.parquet'));
    expect(run('crawl', '--update-schema').code).toBe(0);
    expect(run('crawl').code).toBe(0);

    rmSync(path.dirname(file), { recursive: true });
    const stale = run('crawl');
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/stale partitions \(no files any more\):\n.*\n.*\n2019-10-01\s+1\s+3\s/);
    expect(stale.stderr).toMatch(/stale partitions \(drop with --update\)/);
    expect(run('crawl', '--update').code).toBe(0);
    expect(run('crawl').code).toBe(0);
  });

  it('exports the registered table for aws glue create-table and batch-create-partition', () => {
    const args = ['export', '--glue', '--database', 'storepulse', '--location', 's3://b-1/lake'];
    const table = run(...args, '--projection');
    expect(table.code).toBe(0);
    const req = JSON.parse(table.stdout);
    expect(req).toMatchObject({
      DatabaseName: 'storepulse',
      TableInput: {
        Name: 'events',
        TableType: 'EXTERNAL_TABLE',
        Parameters: { 'projection.event_date.range': '2019-10-02,NOW' },
        StorageDescriptor: { Location: 's3://b-1/lake/events/' },
      },
    });
    const parts = run(...args, '--partitions');
    expect(parts.code).toBe(0);
    const lines = parts.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0].PartitionInputList.map((p: { Values: string[] }) => p.Values)).toEqual([['2019-10-02']]);

    expect(run('export', '--database', 'storepulse', '--location', 's3://b-1/lake').code).toBe(2);
    const bad = run('export', '--glue', '--database', 'Store-Pulse', '--location', 's3://b-1/lake');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a valid Athena name/);
  });
});
