import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storepulse } from '../helpers/cli.js';

const HEADER = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';
const ROW = '2019-10-01 00:00:00 UTC,view,44600062,2053013555631882655,,shiseido,35.79,541312140,s1';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cli-lake-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('storepulse lake load', () => {
  it('loads a file, prints the summary (JSON too), writes rejects to the dead-letter file, loads it once', async () => {
    const file = path.join(dir, 'ev.csv');
    await writeFile(
      file,
      `${HEADER}\n${ROW}\n${ROW.replace('view', 'bogus')}\n${ROW.replace('10-01', '10-02')}\n`,
    );
    const dataDir = path.join(dir, 'data');
    const first = storepulse(['--data-dir', dataDir, 'lake', 'load', file]);
    expect(first.stderr).toMatch(/lake load .*ev\.csv/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/ev\.csv\s+loaded\s+2\s+1\s+2\s+2/);
    expect(first.stdout).toMatch(/2 rows, 1 rejected, 2 partitions, 2 files/);
    const dead = await readdir(path.join(dataDir, 'deadletter'));
    expect(dead).toHaveLength(1);
    expect(first.stdout).toContain(`rejects of ev.csv: ${path.join(dataDir, 'deadletter', dead[0]!)}`);

    const again = storepulse(['-q', '--data-dir', dataDir, 'lake', 'load', '--json', file]);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    const out = JSON.parse(again.stdout) as { loads: { status: string; rows: number }[]; rows: number };
    expect(out.loads).toMatchObject([{ status: 'already loaded', rows: 0 }]);
    expect(out.rows).toBe(0);
  });

  it('exits 1 with a clear message for a file it cannot read', async () => {
    const r = storepulse(['--data-dir', path.join(dir, 'd2'), 'lake', 'load', path.join(dir, 'missing.csv')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no such file/);
  });
});
