import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakeWriter } from '../../src/lake/writer.js';
import { storepulse } from '../helpers/cli.js';
import { ev } from '../helpers/events.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-query-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
beforeAll(async () => {
  const w = await LakeWriter.open({ lakeDir: path.join(dataDir, 'lake') });
  await w.write([1, 2, 3].map((u) => ({ event: ev(u, u * 1000, { brand: u === 2 ? 'a|b' : 'samsung' }) })));
  await w.close();
});

const query = (...args: string[]) => storepulse(['-q', '--data-dir', dataDir, 'query', ...args]);

describe('storepulse query', () => {
  it('prints a table, CSV, JSON and Markdown', () => {
    const sql = 'SELECT user_id, brand FROM events ORDER BY user_id';
    expect(query(sql)).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^user_id +brand\n-+ +-+\n1 +samsung\n/),
    });
    expect(query(sql, '--format', 'csv').stdout).toBe('user_id,brand\n1,samsung\n2,a|b\n3,samsung\n');
    expect(JSON.parse(query(sql, '--json').stdout)).toEqual([
      { user_id: 1, brand: 'samsung' },
      { user_id: 2, brand: 'a|b' },
      { user_id: 3, brand: 'samsung' },
    ]);
    expect(query(sql, '--format', 'markdown').stdout).toBe(
      '| user_id | brand   |\n| ------: | ------- |\n|       1 | samsung |\n|       2 | a\\|b    |\n|       3 | samsung |\n',
    );
  });

  it('caps the rows and says so on stderr, keeping stdout clean', () => {
    const r = storepulse([
      '--data-dir',
      dataDir,
      'query',
      'SELECT range AS n FROM range(50)',
      '--max-rows',
      '2',
      '--json',
    ]);
    expect(JSON.parse(r.stdout)).toEqual([{ n: 0 }, { n: 1 }]);
    expect(r.stderr).toContain('query: first 2 rows shown; --max-rows N for more');
  });

  it('reads the statement from stdin with -', () => {
    const r = storepulse(['-q', '--data-dir', dataDir, 'query', '-', '--format', 'csv'], {
      input: 'SELECT count(*) AS n FROM events',
    });
    expect(r.stdout).toBe('n\n3\n');
  });

  it('is read-only by the engine: writes and other files are refused with exit code 2', () => {
    const target = path.join(dataDir, 'lake', 'copy.csv');
    const before = readdirSync(path.join(dataDir, 'lake'), { recursive: true });
    for (const sql of [
      `COPY (SELECT * FROM events) TO '${target}'`,
      "SELECT * FROM read_csv('/etc/passwd')",
      'CREATE TABLE t AS SELECT 1',
      'SELECT 1; SELECT 2',
    ]) {
      const r = query(sql);
      expect(r.code, sql).toBe(2);
      expect(r.stderr, sql).toMatch(/^storepulse: /);
    }
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(path.join(dataDir, 'lake'), { recursive: true })).toEqual(before);
  });

  it('says what is wrong with a folder without a run, or bad options', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'storepulse-query-empty-'));
    try {
      expect(storepulse(['--data-dir', empty, 'query', 'SELECT 1']).code).toBe(1);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(query('SELECT 1', '--format', 'xml')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--format takes'),
    });
    expect(query('SELECT 1', '--max-rows', '0').code).toBe(2);
  });
});
