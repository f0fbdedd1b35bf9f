import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listLakeFiles, listTableFiles } from '../../src/lake/layout.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { testAlert } from '../helpers/alerts.js';
import { storepulse } from '../helpers/cli.js';
import { ev } from '../helpers/events.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DAY = 86_400_000;
/** testAlert(0) flags this user. */
const FLAGGED = 541312140;

/** A data folder whose lake holds two days in many small files, and an alert store flagging one user. */
async function dataFolder(): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-lake-cli-'));
  dirs.push(dataDir);
  const w = await LakeWriter.open({ lakeDir: path.join(dataDir, 'lake'), flushRows: 40 });
  for (let day = 0; day < 2; day++) {
    await w.write(
      Array.from({ length: 200 }, (_, i) => ({ event: ev(i % 10 === 0 ? FLAGGED : i, day * DAY + i) })),
    );
  }
  await w.close();
  const store = new SqliteAlertStore(path.join(dataDir, 'alerts.sqlite'));
  await store.put([testAlert(0)]);
  await store.close();
  return dataDir;
}

const run = (dataDir: string, ...args: string[]) => storepulse(['-q', '--data-dir', dataDir, ...args]);

describe('storepulse lake compact / retention, etl', () => {
  it('compact merges the small files and says so; a second run finds nothing to do', async () => {
    const dataDir = await dataFolder();
    const before = (await listLakeFiles(path.join(dataDir, 'lake'))).length;
    const r = run(dataDir, 'lake', 'compact');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^partition\s+rows\s+files\s+before\s+after\n/);
    expect(r.stdout).toContain(`events: compacted 2 partitions, ${before} files -> 2 (`);
    expect(run(dataDir, 'lake', 'compact').stdout).toBe(
      'events: nothing to compact (2 partitions already compact)\n',
    );
    const json = JSON.parse(run(dataDir, 'lake', 'compact', '--json').stdout);
    expect(json).toEqual({ table: 'events', compacted: [], alreadyCompact: ['2019-10-01', '2019-10-02'] });
  });

  it('compact shows a progress bar unless quiet', async () => {
    const dataDir = await dataFolder();
    const r = storepulse(['--data-dir', dataDir, 'lake', 'compact', '--partition', '2019-10-02']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/compact .*100\.0%.*done in/);
    expect(r.stdout).toContain('events: compacted 1 partitions');
  });

  it('retention removes old partitions (a dry run first) and refuses bad values', async () => {
    const dataDir = await dataFolder();
    const dry = run(dataDir, 'lake', 'retention', '--before', '2019-10-02', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /events: would remove 1 partitions before 2019-10-02: \d+ files, .* to free \(dry run\)\n$/,
    );
    expect(existsSync(path.join(dataDir, 'lake', 'events', 'event_date=2019-10-01'))).toBe(true);
    const done = run(dataDir, 'lake', 'retention', '--before', '2019-10-02');
    expect(done.stdout).toMatch(/^partition\s+files\s+bytes\n-+.*\n2019-10-01 /);
    expect(done.stdout).toMatch(/events: removed 1 partitions before 2019-10-02: \d+ files, .* freed\n$/);
    expect(existsSync(path.join(dataDir, 'lake', 'events', 'event_date=2019-10-01'))).toBe(false);
    expect(run(dataDir, 'lake', 'retention', '--before', '2019-10-02').stdout).toBe(
      'events: no partition before 2019-10-02; nothing removed\n',
    );

    for (const [args, message] of [
      [['--keep-days', '-3'], '--keep-days takes a whole number >= 1, got "-3"'],
      [['--keep-days', '99999'], '--keep-days takes a whole number of days from 1 to 36500, got 99999'],
      [['--before', '2999-01-01'], "would remove today's partition"],
      [['--before', '2019-10-01', '--keep-days', '3'], 'one of --keep-days N or --before YYYY-MM-DD'],
    ] as const) {
      const bad = run(dataDir, 'lake', 'retention', ...args);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    expect((await listLakeFiles(path.join(dataDir, 'lake'))).length).toBeGreaterThan(0);
  });

  it('etl builds the clean table with the flagged users of the alert store, then has nothing to do', async () => {
    const dataDir = await dataFolder();
    const r = run(dataDir, 'etl');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^partition\s+source_rows\s+rows\s+duplicates\s+bot_rows\s+files\s+bytes\n/);
    expect(r.stdout).toContain(
      'clean: rebuilt 2 partitions (400 rows, 0 duplicates removed, 40 rows of 1 flagged users marked), 0 up to date\n',
    );
    expect(
      new Set((await listTableFiles(path.join(dataDir, 'lake'), 'clean')).map((f) => f.partition)),
    ).toEqual(new Set(['2019-10-01', '2019-10-02']));
    expect(run(dataDir, 'etl').stdout).toBe('clean: nothing to do, 2 partitions up to date\n');
    const full = JSON.parse(run(dataDir, 'etl', '--full', '--json').stdout);
    expect(full.flaggedUsers).toBe(1);
    expect(full.rebuilt).toHaveLength(2);
  });

  it('refuses a data folder that holds no run', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'storepulse-lake-cli-'));
    dirs.push(empty);
    mkdirSync(path.join(empty, 'sub'));
    for (const args of [['lake', 'compact'], ['etl'], ['lake', 'retention', '--keep-days', '3']]) {
      const r = run(path.join(empty, 'sub'), ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('holds no storepulse run');
    }
  });
});
