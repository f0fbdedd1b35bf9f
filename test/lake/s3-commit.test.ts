/**
 * The commit protocol (src/lake/commit.ts) with the lake on S3 (s3rver on loopback): staging and
 * manifests stay in the local folder, files are uploaded, progress and generation are objects.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  maintenanceDir,
  openMaintenance,
  publishFlush,
  readGeneration,
  readLakeProgress,
  recoverStaging,
} from '../../src/lake/commit.js';
import { S3LakeStorage } from '../../src/lake/storage/s3/storage.js';
import { type S3rver, S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';

let server: S3rver;
let work: string;
let lakes = 0;
beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sp-s3-commit-'));
  server = await startS3rver({ buckets: ['lake'] });
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A local staging folder and an S3 lake of its own. */
function lake(endpoint = server.endpoint): { dir: string; s3: S3LakeStorage } {
  const n = ++lakes;
  const s3 = new S3LakeStorage({
    bucket: 'lake',
    prefix: `lake-${n}`,
    region: 'us-east-1',
    endpoint,
    credentials: S3RVER_CREDENTIALS,
    maxRetries: 0,
  });
  return { dir: path.join(work, `staging-${n}`), s3 };
}

function stage(root: string, run: string, flush: string, files: Record<string, string[]>): string {
  const staging = path.join(root, run, flush);
  for (const [date, names] of Object.entries(files)) {
    mkdirSync(path.join(staging, `event_date=${date}`), { recursive: true });
    for (const name of names)
      writeFileSync(path.join(staging, `event_date=${date}`, name), `${date}/${name}`);
  }
  return staging;
}

const keys = async (s3: S3LakeStorage, prefix = 'events/') => (await s3.list(prefix)).map((o) => o.key);

describe('lake commit on S3', () => {
  it('uploads every staged file under its key, then the progress, and clears the local staging', async () => {
    const { dir, s3 } = lake();
    const staging = stage(path.join(dir, '_staging'), 'run1', '00001', {
      '2019-10-01': ['data_0.parquet', 'data_1.parquet'],
      '2019-10-02': ['data_0.parquet'],
    });
    const partitions = await publishFlush(
      dir,
      {
        staging,
        fileName: (n) => `part-run1-00001-${n}.parquet`,
        progress: { name: 'embedded:s1', positions: { 'shardId-1': '42' } },
      },
      s3,
    );
    expect(partitions).toEqual(['2019-10-01', '2019-10-01', '2019-10-02']);
    expect(await keys(s3)).toEqual([
      'events/event_date=2019-10-01/part-run1-00001-0.parquet',
      'events/event_date=2019-10-01/part-run1-00001-1.parquet',
      'events/event_date=2019-10-02/part-run1-00001-0.parquet',
    ]);
    expect(await s3.readText('events/event_date=2019-10-01/part-run1-00001-1.parquet')).toBe(
      '2019-10-01/data_1.parquet',
    );
    expect(await readLakeProgress(dir, 'embedded:s1', s3)).toEqual({ 'shardId-1': '42' });
    // Nothing of the lake in the local folder: only the (now empty) staging root.
    expect(existsSync(staging)).toBe(false);
    expect(readdirSync(dir)).toEqual(['_staging']);
    s3.close();
  });

  it('a flush that S3 refused stays committed in the local staging, and recovery uploads it', async () => {
    const { dir, s3 } = lake();
    const down = new S3LakeStorage({
      bucket: 'lake',
      prefix: s3.location.slice('s3://lake/'.length),
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: S3RVER_CREDENTIALS,
      maxRetries: 0,
    });
    const staging = stage(path.join(dir, '_staging'), 'r', '00001', { '2019-10-01': ['data_0.parquet'] });
    await expect(
      publishFlush(
        dir,
        { staging, fileName: (n) => `a-${n}.parquet`, progress: { name: 's', positions: { x: '7' } } },
        down,
      ),
    ).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('cannot reach') });
    down.close();
    expect(existsSync(path.join(staging, '_commit.json'))).toBe(true);
    // An uncommitted flush of the same run (no manifest) is dropped, never uploaded.
    stage(path.join(dir, '_staging'), 'r', '00002', { '2019-10-01': ['data_0.parquet'] });

    await recoverStaging(dir, undefined, s3);
    expect(await keys(s3)).toEqual(['events/event_date=2019-10-01/a-0.parquet']);
    expect(await readLakeProgress(dir, 's', s3)).toEqual({ x: '7' });
    expect(readdirSync(path.join(dir, '_staging'))).toEqual([]);
    s3.close();
  });

  it('finishes a flush a crash cut short after some uploads, uploading again from the staging', async () => {
    const { dir, s3 } = lake();
    const staging = stage(path.join(dir, '_staging'), 'crashed', '00001', {
      '2019-10-01': ['data_0.parquet', 'data_1.parquet'],
    });
    const files = ['data_0.parquet', 'data_1.parquet'].map((f) =>
      path.join(staging, 'event_date=2019-10-01', f),
    );
    writeFileSync(
      path.join(staging, '_commit.json'),
      JSON.stringify({
        renames: [
          [files[0], 'events/event_date=2019-10-01/p-0.parquet'],
          [files[1], 'events/event_date=2019-10-01/p-1.parquet'],
        ],
        progress: { name: 's', positions: { a: '20' } },
      }),
    );
    await s3.publish(files[0]!, 'events/event_date=2019-10-01/p-0.parquet');
    await recoverStaging(dir, undefined, s3);
    expect(await keys(s3)).toEqual([
      'events/event_date=2019-10-01/p-0.parquet',
      'events/event_date=2019-10-01/p-1.parquet',
    ]);
    expect(await s3.readText('events/event_date=2019-10-01/p-1.parquet')).toBe('2019-10-01/data_1.parquet');
    expect(await readLakeProgress(dir, 's', s3)).toEqual({ a: '20' });
    s3.close();
  });

  it('replaces files inside a generation change kept in S3', async () => {
    const { dir, s3 } = lake();
    await publishFlush(
      dir,
      {
        staging: stage(path.join(dir, '_staging'), 'w', '00001', {
          '2019-10-01': ['data_0.parquet', 'data_1.parquet'],
        }),
        fileName: (n) => `small-${n}.parquet`,
      },
      s3,
    );
    expect(await readGeneration(dir, s3)).toBe(0);
    const old = await keys(s3);
    const lock = await openMaintenance(dir, s3);
    try {
      const staging = stage(maintenanceDir(dir), 'm', '00001', { '2019-10-01': ['data_0.parquet'] });
      await publishFlush(dir, { staging, fileName: () => 'big.parquet', replaces: old }, s3);
    } finally {
      lock.release();
    }
    expect(await keys(s3)).toEqual(['events/event_date=2019-10-01/big.parquet']);
    expect(await readGeneration(dir, s3)).toBe(2);
    expect(await s3.readText('_generation')).toBe('2');
    // The local folder's generation is untouched: the lake is in S3.
    expect(await readGeneration(dir)).toBe(0);
    s3.close();
  });
});
