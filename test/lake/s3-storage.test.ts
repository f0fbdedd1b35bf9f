/**
 * What only the S3 lake storage does (the shared contract is in storage-conformance.test.ts):
 * multipart uploads and their abort, and its errors. Against s3rver on loopback.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3LakeStorage, type S3LakeStorageOptions } from '../../src/lake/storage/s3/storage.js';
import { type S3rver, S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';

const MiB = 1024 * 1024;
let server: S3rver;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sp-s3-storage-'));
  // Every second part of an upload to `fails/` is refused.
  server = await startS3rver({ buckets: ['lake'], fail: /^PUT \/lake\/fails\/.*partNumber=2/ });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function storage(opts: Partial<S3LakeStorageOptions> = {}): S3LakeStorage {
  return new S3LakeStorage({
    bucket: 'lake',
    prefix: '',
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: S3RVER_CREDENTIALS,
    partBytes: 5 * MiB,
    maxRetries: 0,
    ...opts,
  });
}

function file(bytes: number): string {
  const f = path.join(dir, randomBytes(4).toString('hex'));
  writeFileSync(f, randomBytes(bytes));
  return f;
}

describe('S3 lake storage', () => {
  it('uploads a small file in one PutObject and a large one in parts', async () => {
    const s = storage({ prefix: 'ok' });
    try {
      await s.publish(file(1000), 'small.parquet');
      await s.publish(file(12 * MiB), 'large.parquet');
    } finally {
      s.close();
    }
    const mine = server.requests.filter((r) => r.startsWith('P') && r.includes('/lake/ok/'));
    expect(mine.filter((r) => r.includes('small.parquet'))).toEqual([
      'PUT /lake/ok/small.parquet?x-id=PutObject',
    ]);
    const large = mine.filter((r) => r.includes('large.parquet'));
    expect(large[0]).toMatch(/^POST \/lake\/ok\/large\.parquet\?uploads/);
    expect(large.filter((r) => r.includes('x-id=UploadPart'))).toHaveLength(3);
    expect(large.at(-1)).toMatch(/^POST \/lake\/ok\/large\.parquet\?uploadId=/);
  });

  it('aborts a multipart upload whose part fails: no object, no parts left, an IO error naming it', async () => {
    const s = storage({ prefix: 'fails' });
    try {
      await expect(s.publish(file(11 * MiB), 'event_date=2019-10-01/x.parquet')).rejects.toMatchObject({
        code: 'IO',
        message: expect.stringContaining('s3://lake/fails/event_date=2019-10-01/x.parquet'),
      });
      await vi.waitFor(() =>
        expect(server.requests).toContainEqual(
          expect.stringMatching(/^DELETE \/lake\/fails\/event_date%3D2019-10-01\/x\.parquet\?uploadId=/),
        ),
      );
      expect(await s.list('')).toEqual([]);
    } finally {
      s.close();
    }
  });

  it('names a missing bucket as a state problem, and an unreachable endpoint', async () => {
    const missing = storage({ bucket: 'no-such-bucket' });
    await expect(missing.writeText('_generation', '2')).rejects.toMatchObject({
      code: 'STATE',
      message: expect.stringContaining('s3://no-such-bucket/_generation'),
    });
    missing.close();
    const down = storage({ endpoint: 'http://127.0.0.1:9' });
    await expect(down.readText('_generation')).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringContaining('cannot reach http://127.0.0.1:9'),
    });
    down.close();
  });
});
