/**
 * A lake on S3 through the built CLI (s3rver on loopback; `lake.location` in the config file):
 * `process` and `lake load` publish to the bucket, `catalog` and `report` read it through the local
 * mirror, maintenance refuses it with a clear message, and nothing lands in the local lake folder.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCsv, storepulseAsync } from '../helpers/cli.js';
import { type S3rver, S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';

let dir: string;
let server: S3rver;
let base: string[];
const env = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
};

/** Runs the CLI without blocking this process: s3rver reports its requests to it meanwhile. */
async function ok(...args: string[]): Promise<string> {
  const r = await storepulseAsync(['-q', ...base, ...args], { env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

async function lakeRows(): Promise<number> {
  const d = JSON.parse(await ok('catalog', '--json')) as { tables: { name: string; rows: number }[] };
  return d.tables.find((t) => t.name === 'events')!.rows;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sp-lake-s3-cli-'));
  server = await startS3rver({ buckets: ['clicks'] });
  const config = path.join(dir, 'storepulse.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      lake: { location: `s3://clicks/shop/raw?region=us-east-1&endpoint=${server.endpoint}` },
    }),
  );
  base = ['--config', config, '--data-dir', path.join(dir, 'data')];
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a lake on S3 (lake.location = s3://…)', () => {
  it('process and lake load publish to the bucket; catalog and report read it; maintenance refuses it', async () => {
    const csv = path.join(dir, 'events.csv');
    generateCsv(csv, 20_000, 5);
    await ok('simulate', csv);
    const figures = JSON.parse(await ok('process', '--json')) as { lakeRows: number };
    expect(figures.lakeRows).toBeGreaterThan(19_000);
    expect(
      server.requests.some((r) =>
        /^PUT \/clicks\/shop\/raw\/events\/event_date%3D\d{4}-\d\d-\d\d\/part-/.test(r),
      ),
    ).toBe(true);
    expect(await lakeRows()).toBe(figures.lakeRows);

    const more = path.join(dir, 'more.csv');
    generateCsv(more, 5_000, 6);
    const load = JSON.parse(await ok('lake', 'load', '--json', more)) as { rows: number };
    expect(load.rows).toBeGreaterThan(4_900);
    expect(await lakeRows()).toBe(figures.lakeRows + load.rows);

    const visitors = JSON.parse(await ok('report', 'unique_visitors', '--json')) as {
      tables: { rows: { visitors: number }[] }[];
    };
    expect(visitors.tables[0]!.rows.length).toBeGreaterThan(0);

    const compact = await storepulseAsync([...base, 'lake', 'compact'], { env });
    expect(compact.code).toBe(2);
    expect(compact.stderr).toContain('storepulse lake compact works on a local lake');
    // The data folder holds the staging and the read mirror, never a lake of its own.
    expect(existsSync(path.join(dir, 'data', 'lake'))).toBe(false);
    expect(existsSync(path.join(dir, 'data', 'lake-cache', 'events'))).toBe(true);
  }, 300_000);
});
