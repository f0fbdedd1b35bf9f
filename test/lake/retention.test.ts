import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readGeneration } from '../../src/lake/commit.js';
import { listLakeFiles, listTableFiles } from '../../src/lake/layout.js';
import { applyRetention, keepDaysCutoff } from '../../src/lake/retention.js';
import { LakeWriter, lakeRowCount } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';

const dirs: string[] = [];
function tempLake(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'storepulse-retention-'));
  dirs.push(d);
  return path.join(d, 'lake');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 15, 0, 0);

/** 100 events on each of five days (2019-10-01 … 05; ev() starts at 10:00), two flushes per day. */
async function fiveDays(lakeDir: string): Promise<void> {
  const w = await LakeWriter.open({ lakeDir, flushRows: 50 });
  for (let day = 0; day < 5; day++) {
    await w.write(Array.from({ length: 100 }, (_, i) => ({ event: ev(i, day * DAY + i * 1000) })));
  }
  await w.close();
}

const partitions = async (lakeDir: string) => [
  ...new Set((await listLakeFiles(lakeDir)).map((f) => f.partition)),
];

describe('lake retention', () => {
  it('removes whole partitions before the cutoff in one replacing commit, and their folders', async () => {
    const lakeDir = tempLake();
    await fiveDays(lakeDir);
    const old = (await listLakeFiles(lakeDir)).filter((f) => f.partition < '2019-10-03');
    const s = await applyRetention(lakeDir, { before: '2019-10-03', now: NOW });
    const day = (p: string) => old.filter((f) => f.partition === p);
    expect(s.removed).toEqual(
      ['2019-10-01', '2019-10-02'].map((p) => ({
        partition: p,
        files: day(p).length,
        bytes: day(p).reduce((n, f) => n + f.bytes, 0),
      })),
    );
    expect(day('2019-10-01').length).toBeGreaterThan(1);
    expect(s.bytes).toBe(old.reduce((n, f) => n + f.bytes, 0));
    expect(await partitions(lakeDir)).toEqual(['2019-10-03', '2019-10-04', '2019-10-05']);
    expect(readdirSync(path.join(lakeDir, 'events')).sort()).toEqual([
      'event_date=2019-10-03',
      'event_date=2019-10-04',
      'event_date=2019-10-05',
    ]);
    expect(await lakeRowCount(lakeDir)).toBe(300);
    // One replacement: the generation went odd and back to even once; nothing left staged.
    expect(await readGeneration(lakeDir)).toBe(2);
    expect(readdirSync(path.join(lakeDir, '_maintenance'))).toEqual([]);

    const again = await applyRetention(lakeDir, { before: '2019-10-03', now: NOW });
    expect(again.removed).toEqual([]);
    expect(await readGeneration(lakeDir)).toBe(2);
  });

  it('a dry run lists what would go and removes nothing', async () => {
    const lakeDir = tempLake();
    await fiveDays(lakeDir);
    const s = await applyRetention(lakeDir, { before: '2019-10-02', dryRun: true, now: NOW });
    expect(s.dryRun).toBe(true);
    expect(s.removed.map((p) => p.partition)).toEqual(['2019-10-01']);
    expect(s.bytes).toBeGreaterThan(0);
    expect(await partitions(lakeDir)).toHaveLength(5);
    expect(await readGeneration(lakeDir)).toBe(0);
  });

  it('keeps a partition folder that holds something else', async () => {
    const lakeDir = tempLake();
    await fiveDays(lakeDir);
    const folder = path.join(lakeDir, 'events', 'event_date=2019-10-01');
    writeFileSync(path.join(folder, 'README.txt'), 'not data');
    await applyRetention(lakeDir, { before: '2019-10-02', now: NOW });
    expect(readdirSync(folder)).toEqual(['README.txt']);
    expect(await partitions(lakeDir)).not.toContain('2019-10-01');
  });

  it('trims another table of the lake the same way', async () => {
    const lakeDir = tempLake();
    await fiveDays(lakeDir);
    // A second table: the events partitions copied under another name.
    cpSync(path.join(lakeDir, 'events'), path.join(lakeDir, 'clean'), { recursive: true });
    const s = await applyRetention(lakeDir, { before: '2019-10-05', table: 'clean', now: NOW });
    expect(s.removed).toHaveLength(4);
    expect(new Set((await listTableFiles(lakeDir, 'clean')).map((f) => f.partition))).toEqual(
      new Set(['2019-10-05']),
    );
    expect(await partitions(lakeDir)).toHaveLength(5);
    expect(existsSync(path.join(lakeDir, 'clean', 'event_date=2019-10-01'))).toBe(false);
  });

  it('refuses a negative, fractional or absurd number of days, a bad date and a date after today', async () => {
    expect(keepDaysCutoff(30, NOW)).toBe('2026-11-05');
    expect(keepDaysCutoff(1, NOW)).toBe('2026-12-04');
    for (const n of [-3, 0, 1.5, 36_501, Number.NaN]) {
      expect(() => keepDaysCutoff(n, NOW)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
    const lakeDir = tempLake();
    await fiveDays(lakeDir);
    for (const before of ['2019-02-30', '2019-10', 'yesterday', '2019-13-01']) {
      await expect(applyRetention(lakeDir, { before, now: NOW })).rejects.toMatchObject({
        code: 'USAGE',
        message: `--before takes a date YYYY-MM-DD, got "${before}"`,
      });
    }
    await expect(applyRetention(lakeDir, { before: '2026-12-05', now: NOW })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining("it would remove today's partition"),
    });
    expect(await partitions(lakeDir)).toHaveLength(5);
  });
});
