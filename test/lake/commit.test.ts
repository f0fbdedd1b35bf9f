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
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  maintenanceDir,
  openMaintenance,
  publishFlush,
  readGeneration,
  readLakeProgress,
  recoverStaging,
} from '../../src/lake/commit.js';
import { withSnapshot } from '../../src/lake/snapshot.js';

/** Every atomic write, so the tests can tell the lake uses the one helper (with its folder fsync). */
const atomicWrites = vi.hoisted(() => [] as string[]);
vi.mock('../../src/fs/files.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/fs/files.js')>();
  return {
    ...actual,
    writeFileAtomic: (file: string, text: string) => {
      atomicWrites.push(file);
      return actual.writeFileAtomic(file, text);
    },
  };
});

const dirs: string[] = [];
function tempLake(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'storepulse-commit-'));
  dirs.push(d);
  return path.join(d, 'lake');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  atomicWrites.length = 0;
});

/** A flush as the COPY leaves it: `event_date=…/data_n.parquet` under `_staging/<run>/<flush>`. */
function stage(lakeDir: string, run: string, flush: string, files: Record<string, string[]>): string {
  const staging = path.join(lakeDir, '_staging', run, flush);
  for (const [date, names] of Object.entries(files)) {
    mkdirSync(path.join(staging, `event_date=${date}`), { recursive: true });
    for (const name of names)
      writeFileSync(path.join(staging, `event_date=${date}`, name), `${date}/${name}`);
  }
  return staging;
}

const published = (lakeDir: string) =>
  readdirSync(path.join(lakeDir, 'events'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.parquet'))
    .sort();

describe('lake commit', () => {
  it('publishes every staged file under its final name, with the progress, and clears the staging', async () => {
    const lakeDir = tempLake();
    const staging = stage(lakeDir, 'run1', '00001', {
      '2019-10-01': ['data_0.parquet', 'data_1.parquet'],
      '2019-10-02': ['data_0.parquet'],
    });
    writeFileSync(path.join(staging, 'event_date=2019-10-01', 'notes.txt'), 'not data');
    const partitions = await publishFlush(lakeDir, {
      staging,
      fileName: (n) => `part-run1-00001-${n}.parquet`,
      progress: { name: 'embedded:s1', positions: { 'shardId-1': '42' } },
    });
    expect(partitions).toEqual(['2019-10-01', '2019-10-01', '2019-10-02']);
    expect(published(lakeDir)).toEqual([
      path.join('event_date=2019-10-01', 'part-run1-00001-0.parquet'),
      path.join('event_date=2019-10-01', 'part-run1-00001-1.parquet'),
      path.join('event_date=2019-10-02', 'part-run1-00001-0.parquet'),
    ]);
    const moved = path.join(lakeDir, 'events', 'event_date=2019-10-01', 'part-run1-00001-1.parquet');
    expect(readFileSync(moved, 'utf8')).toBe('2019-10-01/data_1.parquet');
    expect(await readLakeProgress(lakeDir, 'embedded:s1')).toEqual({ 'shardId-1': '42' });
    expect(existsSync(staging)).toBe(false);
    // The manifest, then the progress: both replaced atomically with the folder synced.
    expect(atomicWrites).toEqual([
      path.join(staging, '_commit.json'),
      path.join(lakeDir, '_progress', 'embedded%3As1.json'),
    ]);
  });

  it('publishes a flush without progress, and leaves the progress as it was', async () => {
    const lakeDir = tempLake();
    await publishFlush(lakeDir, {
      staging: stage(lakeDir, 'r', '00001', { '2019-10-01': ['data_0.parquet'] }),
      fileName: (n) => `a-${n}.parquet`,
      progress: { name: 's', positions: { x: '1' } },
    });
    await publishFlush(lakeDir, {
      staging: stage(lakeDir, 'r', '00002', { '2019-10-01': ['data_0.parquet'] }),
      fileName: (n) => `b-${n}.parquet`,
    });
    expect(published(lakeDir)).toHaveLength(2);
    expect(await readLakeProgress(lakeDir, 's')).toEqual({ x: '1' });
  });

  it('fails with an IO error naming the staging folder', async () => {
    const lakeDir = tempLake();
    const missing = path.join(lakeDir, '_staging', 'r', '00001');
    await expect(
      publishFlush(lakeDir, { staging: missing, fileName: (n) => `${n}.parquet` }),
    ).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining(`publishing ${missing} failed`) });
  });

  it('after a crash, finishes committed flushes in order and drops the uncommitted ones', async () => {
    const lakeDir = tempLake();
    const target = (name: string) => path.join(lakeDir, 'events', 'event_date=2019-10-01', name);
    const commit = (staging: string, renames: [string, string][], positions: Record<string, string>) =>
      writeFileSync(
        path.join(staging, '_commit.json'),
        JSON.stringify({ renames, progress: { name: 's', positions } }),
      );
    // Flush 1 was halfway published: its first file is in place already.
    const one = stage(lakeDir, 'crashed', '00001', { '2019-10-01': ['data_0.parquet', 'data_1.parquet'] });
    const oneFiles = ['data_0.parquet', 'data_1.parquet'].map((f) =>
      path.join(one, 'event_date=2019-10-01', f),
    );
    commit(
      one,
      [
        [oneFiles[0]!, target('p-1-0.parquet')],
        [oneFiles[1]!, target('p-1-1.parquet')],
      ],
      { a: '10' },
    );
    mkdirSync(path.dirname(target('x')), { recursive: true });
    writeFileSync(target('p-1-0.parquet'), readFileSync(oneFiles[0]!));
    rmSync(oneFiles[0]!);
    // Flush 2 committed after it: its progress is the one that stands.
    const two = stage(lakeDir, 'crashed', '00002', { '2019-10-01': ['data_0.parquet'] });
    commit(two, [[path.join(two, 'event_date=2019-10-01', 'data_0.parquet'), target('p-2-0.parquet')]], {
      a: '20',
    });
    // Flush 3 crashed while writing its manifest: only the temporary file exists.
    const three = stage(lakeDir, 'crashed', '00003', { '2019-10-01': ['data_0.parquet'] });
    writeFileSync(path.join(three, '._commit.json.123.abcd.tmp'), '{"renames":');

    await recoverStaging(lakeDir);
    expect(published(lakeDir).map((f) => path.basename(f))).toEqual([
      'p-1-0.parquet',
      'p-1-1.parquet',
      'p-2-0.parquet',
    ]);
    expect(await readLakeProgress(lakeDir, 's')).toEqual({ a: '20' });
    expect(readdirSync(path.join(lakeDir, '_staging'))).toEqual([]);
    // Safe to repeat: nothing left to do.
    await recoverStaging(lakeDir);
    expect(published(lakeDir)).toHaveLength(3);
  });

  it('reads no progress for a stream never published, and any stream name', async () => {
    const lakeDir = tempLake();
    expect(await readLakeProgress(lakeDir, 'kinesis:none')).toEqual({});
    await publishFlush(lakeDir, {
      staging: stage(lakeDir, 'r', '00001', { '2019-10-01': ['data_0.parquet'] }),
      fileName: (n) => `${n}.parquet`,
      progress: { name: 'embedded:a/b c', positions: { s: '1' } },
    });
    expect(await readLakeProgress(lakeDir, 'embedded:a/b c')).toEqual({ s: '1' });
  });

  it('replaces files inside a generation change: readers never see both sets', async () => {
    const lakeDir = tempLake();
    await publishFlush(lakeDir, {
      staging: stage(lakeDir, 'w', '00001', { '2019-10-01': ['data_0.parquet', 'data_1.parquet'] }),
      fileName: (n) => `small-${n}.parquet`,
    });
    expect(await readGeneration(lakeDir)).toBe(0);
    const old = published(lakeDir).map((f) => path.join(lakeDir, 'events', f));
    const lock = await openMaintenance(lakeDir);
    try {
      const staging = path.join(maintenanceDir(lakeDir), 'm', '00001');
      mkdirSync(path.join(staging, 'event_date=2019-10-01'), { recursive: true });
      writeFileSync(path.join(staging, 'event_date=2019-10-01', 'data_0.parquet'), 'compacted');
      await publishFlush(lakeDir, { staging, fileName: () => 'big.parquet', replaces: old });
    } finally {
      lock.release();
    }
    expect(published(lakeDir)).toEqual([path.join('event_date=2019-10-01', 'big.parquet')]);
    expect(await readGeneration(lakeDir)).toBe(2);
  });

  it('finishes a replacement a crash cut short, and readers refuse the half-done lake until then', async () => {
    const lakeDir = tempLake();
    const part = path.join(lakeDir, 'events', 'event_date=2019-10-01');
    mkdirSync(part, { recursive: true });
    for (const f of ['a.parquet', 'b.parquet']) writeFileSync(path.join(part, f), f);
    // Crashed after the new file's rename and the first delete: the generation is odd.
    const staging = path.join(maintenanceDir(lakeDir), 'crashed', '00001');
    mkdirSync(staging, { recursive: true });
    writeFileSync(
      path.join(staging, '_commit.json'),
      JSON.stringify({
        renames: [[path.join(staging, 'gone.parquet'), path.join(part, 'ab.parquet')]],
        deletes: [path.join(part, 'a.parquet'), path.join(part, 'b.parquet')],
      }),
    );
    writeFileSync(path.join(part, 'ab.parquet'), 'ab');
    rmSync(path.join(part, 'a.parquet'));
    writeFileSync(path.join(lakeDir, '_generation'), '3');
    const list = async () => readdirSync(part).sort();
    await expect(withSnapshot(lakeDir, list, async (f) => f)).rejects.toMatchObject({
      code: 'STATE',
      message: expect.stringContaining('storepulse lake compact'),
    });
    (await openMaintenance(lakeDir)).release();
    expect(await readGeneration(lakeDir)).toBe(4);
    expect(await withSnapshot(lakeDir, list, async (f) => f)).toEqual(['ab.parquet']);
    expect(existsSync(maintenanceDir(lakeDir)) && readdirSync(maintenanceDir(lakeDir))).toEqual([]);
  });

  it('a reader waits for a live replacement and reads again when one ran under it', async () => {
    const lakeDir = tempLake();
    mkdirSync(lakeDir, { recursive: true });
    const gen = (n: number) => writeFileSync(path.join(lakeDir, '_generation'), String(n));
    const lock = await openMaintenance(lakeDir);
    gen(1);
    setTimeout(() => gen(2), 200);
    let reads = 0;
    const result = await withSnapshot(
      lakeDir,
      async () => readGeneration(lakeDir),
      async (seen) => {
        reads++;
        // The first read fails as if a listed file had been replaced under it.
        if (reads === 1) {
          gen(4);
          throw new Error('No such file');
        }
        return seen;
      },
    );
    lock.release();
    expect(result).toBe(4);
    expect(reads).toBe(2);
    // A failure with the generation unchanged is the read's own: no second try.
    await expect(
      withSnapshot(
        lakeDir,
        async () => 0,
        async () => Promise.reject(new Error('bad SQL')),
      ),
    ).rejects.toThrow('bad SQL');
  });
});
