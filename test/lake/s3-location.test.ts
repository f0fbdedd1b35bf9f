import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/core/config.js';
import { parseLakeLocation, resolveLakeLocation } from '../../src/lake/storage/location.js';

describe('lake location', () => {
  it('defaults to the data folder, and takes a folder or an s3:// location', () => {
    expect(resolveLakeLocation(undefined, '/data')).toEqual({
      kind: 'local',
      dir: path.join('/data', 'lake'),
    });
    expect(resolveLakeLocation('rel/lake', '/data')).toEqual({
      kind: 'local',
      dir: path.resolve('rel/lake'),
    });
    expect(parseLakeLocation('s3://my-bucket', 'x')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(
      parseLakeLocation(
        's3://my.bucket-1/raw/lake/?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A4568',
        'x',
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'my.bucket-1',
      prefix: 'raw/lake',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:4568',
    });
  });

  it.each([
    ['s3://', 'bad bucket name'],
    ['s3://Upper/x', 'bad bucket name'],
    ['s3://ab/x', 'bad bucket name'],
    ['s3://a..b/x', 'bad bucket name'],
    ['s3://bucket//x', 'bad prefix'],
    ['s3://bucket/a/../b', 'bad prefix'],
    ['s3://bucket/a b', 'bad prefix'],
    ['s3://bucket/x?region=EU%20West', 'bad region'],
    ['s3://bucket/x?endpoint=ftp://host', 'not an http(s) URL'],
    ['s3://bucket/x?endpoint=nope', 'bad endpoint'],
    ['s3://bucket/x?profile=dev', 'unknown parameter profile'],
    ['gs://bucket/x', 'unknown scheme gs://'],
    ['  ', 'empty'],
  ])('refuses %s with a usage error naming the forms', (text, why) => {
    let err: unknown;
    try {
      parseLakeLocation(text, 'lake.location');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'USAGE', message: expect.stringContaining(why) });
    expect((err as Error).message).toContain('s3://BUCKET/PREFIX?region=REGION&endpoint=URL');
    expect((err as Error).message).toContain('lake.location');
  });

  it('is checked where the config file is', () => {
    expect(validateConfig({ lake: { location: 's3://bucket/lake' } })).toMatchObject({ ok: true });
    const none = validateConfig({});
    expect(none.ok && none.config.lake).toBe(undefined);
    const bad = validateConfig({ lake: { location: 's3://Bucket' } });
    expect(bad).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^lake\.location: .*bad bucket name/)],
    });
    expect(validateConfig({ lake: { where: 'x' } })).toMatchObject({ ok: false });
  });
});
