/**
 * The real lake writer with the lake on S3 (s3rver on loopback), configured by a location string as
 * the config file gives it; the objects are downloaded and read back with DuckDB.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDB, queryPlain, sqlString } from '../../src/lake/duckdb.js';
import { resolveLakeLocation } from '../../src/lake/storage/location.js';
import { openLakeTarget } from '../../src/lake/storage/open.js';
import type { LakeRecord } from '../../src/lake/schema.js';
import { LakeWriter, readLakeProgress } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';
import { type S3rver, S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';

let server: S3rver;
let dataDir: string;
const env = { ...process.env };
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sp-s3-writer-'));
  server = await startS3rver({ buckets: ['clicks'] });
  // The SDK's default credential chain, as a real run would use it.
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
});
afterAll(async () => {
  process.env = env;
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const DAY = 86_400_000;

/** `n` events over three days, in shard order, with stream provenance. */
function records(n: number, from = 0): LakeRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      event: ev(i % 97, (i % 3) * DAY + i, { product_id: i, price: (i % 1000) / 100 }),
      shard: `shardId-00000000000${i % 2}`,
      seq: String(1000 + i),
    };
  });
}

describe('LakeWriter on S3', () => {
  it('lands every event as zstd Parquet objects in Hive partitions, with the stream progress', async () => {
    const location = resolveLakeLocation(
      `s3://clicks/raw/lake?region=us-east-1&endpoint=${encodeURIComponent(server.endpoint)}`,
      dataDir,
    );
    const target = await openLakeTarget(location, dataDir);
    expect(target.dir).toBe(path.join(dataDir, 'lake-staging'));
    try {
      const writer = await LakeWriter.open({
        lakeDir: target.dir,
        storage: target.storage,
        flushRows: 4000,
        progress: 'embedded:raw',
      });
      for (let i = 0; i < 10_000; i += 2500) await writer.write(records(2500, i));
      const summary = await writer.close();
      expect(summary.rows).toBe(10_000);
      expect(summary.partitions).toEqual(['2019-10-01', '2019-10-02', '2019-10-03']);

      const objects = await target.storage.list('events/');
      expect(objects).toHaveLength(summary.files);
      for (const o of objects) expect(o.key).toMatch(/^events\/event_date=2019-10-0[123]\/part-.*\.parquet$/);
      expect(await readLakeProgress(target.dir, 'embedded:raw', target.storage)).toEqual({
        'shardId-000000000000': '10998',
        'shardId-000000000001': '10999',
      });
      // Nothing published locally: the staging folder holds only the writer's (empty) staging root.
      expect(readdirSync(target.dir)).toEqual(['_staging']);

      const copy = path.join(dataDir, 'downloaded');
      for (const o of objects) await target.storage.fetch(o.key, path.join(copy, ...o.key.split('/')));
      const db = await openDuckDB();
      try {
        const glob = sqlString(path.join(copy, 'events', '*', '*.parquet'));
        const { rows } = await queryPlain(
          db.connection,
          `SELECT count(*) AS n, count(DISTINCT product_id) AS products, sum(product_id) AS ids,
                  min(event_date)::VARCHAR AS first, max(event_date)::VARCHAR AS last
           FROM read_parquet(${glob}, hive_partitioning = true)`,
        );
        expect(rows).toEqual([
          { n: 10_000, products: 10_000, ids: (9999 * 10_000) / 2, first: '2019-10-01', last: '2019-10-03' },
        ]);
        const codecs = await queryPlain(
          db.connection,
          `SELECT DISTINCT compression FROM parquet_metadata(${glob})`,
        );
        expect(codecs.rows).toEqual([{ compression: 'ZSTD' }]);
      } finally {
        db.close();
      }

      // A second run carries the progress on, as the processor's restart would.
      const again = await LakeWriter.open({
        lakeDir: target.dir,
        storage: target.storage,
        progress: 'embedded:raw',
      });
      await again.write(records(10, 10_000));
      await again.close();
      expect((await target.storage.list('events/')).length).toBeGreaterThan(objects.length);
      expect(await readLakeProgress(target.dir, 'embedded:raw', target.storage)).toEqual({
        'shardId-000000000000': '11008',
        'shardId-000000000001': '11009',
      });
    } finally {
      target.close();
    }
  }, 120_000);
});
