/**
 * The lake storage contract (src/lake/storage/types.ts), one suite for every backend: a local folder,
 * and S3 against s3rver started here on loopback.
 */
import { createHash, randomBytes } from 'node:crypto';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLakeStorage } from '../../src/lake/storage/local/storage.js';
import { S3LakeStorage } from '../../src/lake/storage/s3/storage.js';
import type { LakeStorage } from '../../src/lake/storage/types.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';

interface Backend {
  name: string;
  /** A fresh, empty lake. */
  open(): LakeStorage;
  stop(): Promise<void>;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'sp-storage-conf-'));
let lakes = 0;

async function local(): Promise<Backend> {
  return {
    name: 'local',
    open: () => new LocalLakeStorage(path.join(work, `local-${++lakes}`)),
    stop: async () => undefined,
  };
}

async function s3(): Promise<Backend> {
  const server = await startS3rver({ buckets: ['lake'] });
  return {
    name: 's3',
    open: () =>
      new S3LakeStorage({
        bucket: 'lake',
        prefix: `runs/lake-${++lakes}`,
        region: 'us-east-1',
        endpoint: server.endpoint,
        credentials: S3RVER_CREDENTIALS,
        partBytes: 5 * 1024 * 1024,
        // Small pages, so that every listing below crosses pages.
        pageSize: 2,
        maxRetries: 0,
      }),
    stop: () => server.stop(),
  };
}

/** A local file as the writer's COPY leaves one, in the staging folder. */
function staged(content: Buffer | string): string {
  const dir = path.join(work, 'staging', randomBytes(4).toString('hex'));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'data_0.parquet');
  writeFileSync(file, content);
  return file;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function fetched(storage: LakeStorage, key: string): Promise<Buffer> {
  const to = path.join(work, 'fetched', randomBytes(4).toString('hex'), 'file');
  await storage.fetch(key, to);
  return readFileSync(to);
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each([
  ['local', local],
  ['s3', s3],
])('lake storage: %s', (_name, make) => {
  let backend: Backend;
  let storage: LakeStorage;
  beforeAll(async () => {
    backend = await make();
    return async () => backend.stop();
  });
  beforeAll(() => {
    storage = backend.open();
    return () => storage.close();
  });

  it('publishes a local file under a key, whole, and lists it with its size', async () => {
    const key = 'events/event_date=2019-10-01/part-a-00001-0.parquet';
    await storage.publish(staged('parquet bytes'), key);
    expect((await fetched(storage, key)).toString()).toBe('parquet bytes');
    expect(await storage.list('events/event_date=2019-10-01/')).toEqual([
      { key, bytes: 13, etag: expect.any(String) },
    ]);
    // Publishing again replaces the object.
    await storage.publish(staged('newer'), key);
    expect((await fetched(storage, key)).toString()).toBe('newer');
  });

  it('counts a staged file that is gone as published already', async () => {
    await storage.publish(path.join(work, 'no-such-file.parquet'), 'events/x/gone.parquet');
    expect(await storage.list('events/x/')).toEqual([]);
  });

  it('publishes a file above the multipart threshold byte for byte', async () => {
    const big = randomBytes(11 * 1024 * 1024 + 123);
    await storage.publish(staged(big), 'big/file.parquet');
    expect(await storage.list('big/')).toEqual([
      { key: 'big/file.parquet', bytes: big.length, etag: expect.any(String) },
    ]);
    expect(sha(await fetched(storage, 'big/file.parquet'))).toBe(sha(big));
  }, 60_000);

  it('lists every key under a prefix at any depth, sorted, across pages, and nothing beside it', async () => {
    const keys = [
      'tbl/event_date=2019-10-02/b.parquet',
      'tbl/event_date=2019-10-01/b.parquet',
      'tbl/event_date=2019-10-01/a.parquet',
      'tbl/top.json',
      'tbl2/other.parquet',
      'tb/x.parquet',
    ];
    for (const [i, key] of keys.entries()) await storage.publish(staged('x'.repeat(i + 1)), key);
    const listed = await storage.list('tbl/');
    expect(listed.map((o) => [o.key, o.bytes])).toEqual([
      ['tbl/event_date=2019-10-01/a.parquet', 3],
      ['tbl/event_date=2019-10-01/b.parquet', 2],
      ['tbl/event_date=2019-10-02/b.parquet', 1],
      ['tbl/top.json', 4],
    ]);
    expect((await storage.list('tbl/event_date=2019-10-01/')).map((o) => o.key)).toEqual([
      'tbl/event_date=2019-10-01/a.parquet',
      'tbl/event_date=2019-10-01/b.parquet',
    ]);
    expect(await storage.list('nothing/')).toEqual([]);
  });

  it('gives a new etag when an object changes, the same one when it does not', async () => {
    await storage.publish(staged('one'), 'etag/f.parquet');
    const [first] = await storage.list('etag/');
    expect((await storage.list('etag/'))[0]!.etag).toBe(first!.etag);
    await storage.publish(staged('two, longer'), 'etag/f.parquet');
    expect((await storage.list('etag/'))[0]!.etag).not.toBe(first!.etag);
  });

  it('deletes a key, and deleting one that is not there is no error', async () => {
    await storage.publish(staged('d'), 'del/a.parquet');
    await storage.publish(staged('d'), 'del/b.parquet');
    await storage.delete('del/a.parquet');
    await storage.delete('del/never.parquet');
    expect((await storage.list('del/')).map((o) => o.key)).toEqual(['del/b.parquet']);
  });

  it('reads and replaces small text objects; a missing one reads as undefined', async () => {
    expect(await storage.readText('_progress/embedded%3Araw.json')).toBeUndefined();
    await storage.writeText('_progress/embedded%3Araw.json', '{"shardId-1":"42"}');
    await storage.writeText('_generation', '2');
    await storage.writeText('_generation', '4');
    expect(await storage.readText('_progress/embedded%3Araw.json')).toBe('{"shardId-1":"42"}');
    expect(await storage.readText('_generation')).toBe('4');
    expect((await storage.list('_progress/')).map((o) => o.key)).toEqual(['_progress/embedded%3Araw.json']);
  });

  it('fetches to a local file that appears whole, leaving nothing else in its folder', async () => {
    await storage.publish(staged('café ✓'), 'fetch/f.parquet');
    const dir = path.join(work, 'fetch-to', backend.name);
    await storage.fetch('fetch/f.parquet', path.join(dir, 'event_date=2019-10-01', 'f.parquet'));
    expect(readFileSync(path.join(dir, 'event_date=2019-10-01', 'f.parquet'), 'utf8')).toBe('café ✓');
    expect(readdirSync(path.join(dir, 'event_date=2019-10-01'))).toEqual(['f.parquet']);
    await expect(storage.fetch('fetch/missing.parquet', path.join(dir, 'm.parquet'))).rejects.toThrow();
    expect(existsSync(path.join(dir, 'm.parquet'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['event_date=2019-10-01']);
  });
});
