/**
 * Reading an S3 lake without httpfs: the local mirror (src/lake/storage/mirror.ts) against s3rver,
 * read by the catalog as any local lake.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLake } from '../../src/lake/catalog.js';
import { maintenanceDir, openMaintenance, publishFlush, readGeneration } from '../../src/lake/commit.js';
import { openDuckDB, queryPlain } from '../../src/lake/duckdb.js';
import { listLakeFiles } from '../../src/lake/layout.js';
import { type LakeLocation, resolveLakeLocation } from '../../src/lake/storage/location.js';
import { httpfsSetupSql, openLakeForRead } from '../../src/lake/storage/mirror.js';
import { openLakeTarget } from '../../src/lake/storage/open.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';
import { type S3rver, S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';

let server: S3rver;
let dataDir: string;
let location: LakeLocation;
const env = { ...process.env };
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sp-s3-mirror-'));
  server = await startS3rver({ buckets: ['clicks'] });
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  location = resolveLakeLocation(`s3://clicks/lake?endpoint=${server.endpoint}`, dataDir);
});
afterAll(async () => {
  process.env = env;
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function writeDay(day: number, n: number): Promise<void> {
  const target = await openLakeTarget(location, dataDir);
  try {
    const w = await LakeWriter.open({ lakeDir: target.dir, storage: target.storage });
    await w.write(Array.from({ length: n }, (_, i) => ({ event: ev(i, day * 86_400_000 + i) })));
    await w.close();
  } finally {
    target.close();
  }
}

describe('S3 lake read through the local mirror', () => {
  it('fetches new objects only, prunes keys gone from the lake, and reads like a local lake', async () => {
    await writeDay(0, 500);
    await writeDay(1, 300);
    const notices: string[] = [];
    const first = await openLakeForRead(location, dataDir, { log: (m) => notices.push(m) });
    expect(first).toMatchObject({
      kind: 'folder',
      dir: path.join(dataDir, 'lake-cache'),
      mirror: { objects: 2, fetched: 2, removed: 0 },
    });
    expect(notices).toEqual([]);
    const dir = (first as { dir: string }).dir;
    expect((await listLakeFiles(dir)).map((f) => f.partition)).toEqual(['2019-10-01', '2019-10-02']);
    expect((await describeLake(dir)).tables[0]).toMatchObject({ name: 'events', rows: 800 });

    // Nothing new: nothing fetched.
    expect(await openLakeForRead(location, dataDir)).toMatchObject({ mirror: { objects: 2, fetched: 0 } });

    // Compaction in the lake replaces day 1's file and a new day arrives.
    await writeDay(2, 100);
    const target = await openLakeTarget(location, dataDir);
    const dayOne = (await target.storage.list('events/event_date=2019-10-02/')).map((o) => o.key);
    const lock = await openMaintenance(target.dir, target.storage);
    try {
      const staging = path.join(maintenanceDir(target.dir), 'm', '00001', 'event_date=2019-10-02');
      mkdirSync(staging, { recursive: true });
      writeFileSync(path.join(staging, 'data_0.parquet'), 'not parquet, and not read here');
      await publishFlush(
        target.dir,
        { staging: path.dirname(staging), fileName: () => 'compacted.parquet', replaces: dayOne },
        target.storage,
      );
    } finally {
      lock.release();
      target.close();
    }
    const third = await openLakeForRead(location, dataDir);
    expect(third).toMatchObject({ mirror: { objects: 3, fetched: 2, removed: 1 } });
    expect((await listLakeFiles(dir)).map((f) => path.basename(f.path))).toEqual([
      expect.stringMatching(/^part-/),
      'compacted.parquet',
      expect.stringMatching(/^part-/),
    ]);
    for (const key of dayOne) expect(existsSync(path.join(dir, ...key.split('/')))).toBe(false);
    // The removal ran inside a generation change of the mirror, which readers of it follow.
    expect(await readGeneration(dir)).toBe(2);
  }, 120_000);

  it('falls back to the mirror with a one-line notice when DuckDB has no httpfs, and downloads nothing', async () => {
    const db = await openDuckDB();
    const notices: string[] = [];
    try {
      const read = await openLakeForRead(location, dataDir, {
        duckdb: db.connection,
        log: (m) => notices.push(m),
      });
      expect(read.kind).toBe('folder');
      // What makes sure nothing is downloaded: only an extension installed beforehand can load.
      const { rows } = await queryPlain(
        db.connection,
        "SELECT current_setting('autoinstall_known_extensions') AS a",
      );
      expect(rows).toEqual([{ a: false }]);
    } finally {
      db.close();
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      /^DuckDB cannot read S3 directly \(.*httpfs.*\): reading s3:\/\/clicks\/lake through/,
    );
    expect(notices[0]).not.toContain('\n');
  });

  it('documents the httpfs set-up it runs: credential chain, scope, path-style for another endpoint', () => {
    expect(httpfsSetupSql(location as Extract<LakeLocation, { kind: 's3' }>)).toEqual([
      'SET autoinstall_known_extensions = false',
      'LOAD httpfs',
      'LOAD aws',
      `CREATE OR REPLACE SECRET storepulse_lake (TYPE s3, PROVIDER credential_chain, SCOPE 's3://clicks/lake', ` +
        `ENDPOINT '${new URL(server.endpoint).host}', URL_STYLE 'path', USE_SSL false)`,
    ]);
  });
});
