import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { StorepulseError } from '../../src/core/errors.js';
import { REJECT_REASONS } from '../../src/core/row.js';
import {
  DEAD_LETTER_RAW_CAP,
  type DeadLetterRecord,
  createDeadLetterFile,
  defaultDeadLetterPath,
} from '../../src/sources/deadletter.js';
import { readEvents, readEventsFrom } from '../../src/sources/reader.js';
import type { ReadOptions, ReadStats } from '../../src/sources/types.js';

const HEADER = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';
const ROW =
  '2019-10-01 00:00:00 UTC,view,44600062,2053013555631882655,electronics.smartphone,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c';
const CSV = `${HEADER}\n${ROW}\n${ROW.replace('view', 'purchase')}\n`;

interface ZipEntry {
  name: string;
  data?: Buffer | string;
  method?: 0 | 8;
}

/** A minimal zip writer (local headers, central directory, end record) with real CRC-32. */
function makeZip(entries: ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt16LE(0x21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

async function readAll(
  it: AsyncIterable<ClickEvent[]> & { stats: ReadStats },
): Promise<{ events: ClickEvent[]; stats: ReadStats; batches: number }> {
  const events: ClickEvent[] = [];
  let batches = 0;
  for await (const b of it) {
    batches++;
    events.push(...b);
  }
  return { events, stats: it.stats, batches };
}

async function expectInputError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'should fail').toBeInstanceOf(StorepulseError);
  expect((err as StorepulseError).code).toBe('INPUT');
  expect((err as StorepulseError).message).toMatch(pattern);
}

let dir: string;
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'storepulse-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readEvents: formats', () => {
  it('reads a plain CSV file and reports bytes, lines and rows', async () => {
    await writeFile(file('plain.csv'), CSV);
    const { events, stats } = await readAll(readEvents(file('plain.csv')));
    expect(events.map((e) => e.event_type)).toEqual(['view', 'purchase']);
    expect(events[0]!.category_id).toBe('2053013555631882655');
    expect(stats).toMatchObject({
      source: 'plain.csv',
      format: 'csv',
      bytesRead: Buffer.byteLength(CSV),
      totalBytes: Buffer.byteLength(CSV),
      lines: 3,
      rows: 2,
      valid: 2,
      rejected: 0,
    });
  });

  it('reads .csv.gz, also with several gzip members joined', async () => {
    await writeFile(file('one.csv.gz'), gzipSync(CSV));
    const one = await readAll(readEvents(file('one.csv.gz')));
    expect(one.events).toHaveLength(2);
    expect(one.stats.format).toBe('gzip');
    expect(one.stats.bytesRead).toBe(one.stats.totalBytes);
    await writeFile(
      file('two.csv.gz'),
      Buffer.concat([gzipSync(`${HEADER}\n${ROW}\n`), gzipSync(`${ROW}\n`)]),
    );
    expect((await readAll(readEvents(file('two.csv.gz')))).events).toHaveLength(2);
  });

  it('reads the one CSV entry of a zip, deflated or stored, past folders and __MACOSX entries', async () => {
    await writeFile(
      file('deflate.zip'),
      makeZip([
        { name: 'data/', method: 0 },
        { name: '__MACOSX/data/._2019-Oct.csv', data: 'junk' },
        { name: 'data/README.txt', data: 'hello' },
        { name: 'data/2019-Oct.csv', data: CSV },
      ]),
    );
    const a = await readAll(readEvents(file('deflate.zip')));
    expect(a.events).toHaveLength(2);
    expect(a.stats.source).toBe('deflate.zip:data/2019-Oct.csv');
    expect(a.stats.format).toBe('zip');
    expect(a.stats.bytesRead).toBe(a.stats.totalBytes);
    await writeFile(file('stored.zip'), makeZip([{ name: 'x.CSV', data: CSV, method: 0 }]));
    expect((await readAll(readEvents(file('stored.zip')))).events).toHaveLength(2);
  });

  it('goes by the magic bytes, not only the extension', async () => {
    await writeFile(file('gzip-named.csv'), gzipSync(CSV));
    expect((await readAll(readEvents(file('gzip-named.csv')))).stats.format).toBe('gzip');
    await writeFile(file('zip-named.dat'), makeZip([{ name: 'a.csv', data: CSV }]));
    expect((await readAll(readEvents(file('zip-named.dat')))).stats.format).toBe('zip');
    // already decompressed by a download tool, still named .gz
    await writeFile(file('plain-named.csv.gz'), CSV);
    const plain = await readAll(readEvents(file('plain-named.csv.gz')));
    expect([plain.stats.format, plain.events.length]).toEqual(['csv', 2]);
  });

  it('keeps multi-byte UTF-8 characters split between chunks, and reads bad UTF-8 as U+FFFD', async () => {
    const text = `${HEADER}\n${ROW.replace('shiseido', 'caf\u00e9 \u20ac\u{1f600}')}\n${ROW.replace('shiseido', 'bad?')}\n`;
    const bytes = Buffer.from(text, 'utf8');
    bytes[bytes.lastIndexOf(Buffer.from('bad?')) + 3] = 0xff;
    const oneByte = Readable.from(Array.from(bytes, (b) => Buffer.from([b])));
    const { events } = await readAll(readEventsFrom(oneByte, 'utf8.csv'));
    expect(events[0]!.brand).toBe('caf\u00e9 \u20ac\u{1f600}');
    expect(events[1]!.brand).toBe('bad\ufffd');
  });
});

describe('readEvents: stdin and streams', () => {
  it('reads plain, gzip and zip bytes from a stream', async () => {
    for (const bytes of [
      Buffer.from(CSV),
      gzipSync(CSV),
      makeZip([{ name: 'a.csv', data: CSV }]),
      makeZip([{ name: 'a.csv', data: CSV, method: 0 }]),
    ]) {
      const pieces = [bytes.subarray(0, 3), bytes.subarray(3, 40), bytes.subarray(40)];
      const { events } = await readAll(readEventsFrom(Readable.from(pieces), 'stdin'));
      expect(events.map((e) => e.event_type)).toEqual(['view', 'purchase']);
    }
  });

  it('reads `-` from process.stdin', async () => {
    const fake = new PassThrough();
    const spy = vi.spyOn(process, 'stdin', 'get').mockReturnValue(fake as unknown as typeof process.stdin);
    try {
      const reading = readAll(readEvents('-'));
      fake.end(gzipSync(CSV));
      const { events, stats } = await reading;
      expect(events).toHaveLength(2);
      expect([stats.source, stats.format, stats.totalBytes]).toEqual(['stdin', 'gzip', undefined]);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a streamed zip whose first entry is not the CSV', async () => {
    const bytes = makeZip([
      { name: 'README.txt', data: 'x' },
      { name: 'a.csv', data: CSV },
    ]);
    await expectInputError(readAll(readEventsFrom(Readable.from([bytes]), 'stdin')), /first zip entry/);
  });
});

describe('readEvents: inputs that cannot be read at all', () => {
  it('a missing file, or a folder', async () => {
    await expectInputError(readAll(readEvents(file('nope.csv'))), /no such file/);
    await mkdir(file('folder.csv'), { recursive: true });
    await expectInputError(readAll(readEvents(file('folder.csv'))), /not a file/);
  });

  it('an empty zip, a zip without a CSV entry, a zip with two', async () => {
    await writeFile(file('empty.zip'), makeZip([]));
    await expectInputError(readAll(readEvents(file('empty.zip'))), /zip archive is empty/);
    await writeFile(file('nocsv.zip'), makeZip([{ name: 'a.txt', data: 'x' }]));
    await expectInputError(readAll(readEvents(file('nocsv.zip'))), /no \.csv entry.*a\.txt/);
    await writeFile(
      file('two.zip'),
      makeZip([
        { name: 'a.csv', data: CSV },
        { name: 'b.csv', data: CSV },
      ]),
    );
    await expectInputError(readAll(readEvents(file('two.zip'))), /2 \.csv entries/);
  });

  it('a corrupt or truncated gzip, and a truncated zip', async () => {
    const gz = gzipSync(CSV.repeat(50));
    const corrupt = Buffer.from(gz);
    for (let i = 20; i < 60; i++) corrupt[i] = 0x55;
    await writeFile(file('corrupt.csv.gz'), corrupt);
    await expectInputError(
      readAll(readEvents(file('corrupt.csv.gz'))),
      /corrupt\.csv\.gz: corrupt gzip data/,
    );
    await writeFile(file('cut.csv.gz'), gz.subarray(0, gz.length - 30));
    await expectInputError(readAll(readEvents(file('cut.csv.gz'))), /corrupt gzip data/);
    const zip = makeZip([{ name: 'a.csv', data: CSV }]);
    await writeFile(file('cut.zip'), zip.subarray(0, zip.length - 30));
    await expectInputError(readAll(readEvents(file('cut.zip'))), /not a readable zip archive/);
  });

  it('compressions it does not read, and binary data named .gz or .zip', async () => {
    await writeFile(file('x.csv.bz2'), Buffer.from('BZh91AY&SY'));
    await expectInputError(readAll(readEvents(file('x.csv.bz2'))), /bzip2 data is not supported/);
    await writeFile(file('junk.zip'), Buffer.from([0, 1, 2, 3, 4, 5]));
    await expectInputError(
      readAll(readEvents(file('junk.zip'))),
      /named \.zip but is neither zip data nor CSV/,
    );
    await writeFile(file('empty.csv.gz'), '');
    await expectInputError(readAll(readEvents(file('empty.csv.gz'))), /is empty, not gzip data/);
  });

  it('a header with other columns', async () => {
    await writeFile(file('other.csv'), `time,type,product\n${ROW}\n`);
    await expectInputError(readAll(readEvents(file('other.csv'))), /unexpected header "time,type,product"/);
  });
});

describe('readEvents: rejects and the dead-letter file', () => {
  const bad: [string, string][] = [
    ['field_count', '2019-10-01 00:00:00 UTC,view,1'],
    ['bad_event_time', ROW.replace('2019-10-01', '2019-02-30')],
    ['bad_event_type', ROW.replace('view', 'click')],
    ['bad_product_id', ROW.replace('44600062', '4460x062')],
    ['bad_category_id', ROW.replace('2053013555631882655', '2053013555631882655a')],
    ['bad_price', ROW.replace('35.79', '-35.79')],
    ['bad_user_id', ROW.replace('541312140', '5413.12140')],
    ['repeated_header', HEADER],
    ['bad_quoting', ROW.replace('shiseido', 'shi"seido')],
  ];
  const huge = `${ROW},${'x'.repeat(5 * 1024 * 1024)}`;

  it('writes one NDJSON record per rejected row, of every kind, and reads every good row', async () => {
    const lines = [HEADER];
    for (const [, row] of bad) lines.push(row, ROW);
    lines.push(huge, ROW, '', ROW);
    await writeFile(file('bad.csv'), `${lines.join('\r\n')}\r\n`);
    const dlPath = path.join(dir, 'dl', 'bad.csv.ndjson');
    const sink = createDeadLetterFile(dlPath);
    const { events, stats } = await readAll(readEvents(file('bad.csv'), { deadLetter: sink }));
    await sink.close();
    expect(events).toHaveLength(bad.length + 2);
    const recs = (await readFile(dlPath, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as DeadLetterRecord);
    expect(recs.map((r) => r.reason)).toEqual([...bad.map(([reason]) => reason), 'line_too_long']);
    expect(new Set(recs.map((r) => r.reason))).toEqual(new Set(REJECT_REASONS));
    expect(recs.map((r) => r.line)).toEqual([...bad.map((_, i) => 2 + 2 * i), 2 + 2 * bad.length]);
    for (const [i, [, row]] of bad.entries()) {
      expect(recs[i]).toEqual({
        source: 'bad.csv',
        line: 2 + 2 * i,
        raw: row,
        reason: bad[i]![0],
        detail: expect.any(String),
      });
    }
    const long = recs[recs.length - 1]!;
    expect(long.truncated).toBe(true);
    expect(long.raw).toHaveLength(DEAD_LETTER_RAW_CAP);
    expect(huge.startsWith(long.raw)).toBe(true);
    expect(stats).toMatchObject({
      rows: bad.length * 2 + 3,
      valid: bad.length + 2,
      rejected: bad.length + 1,
      blankLines: 1,
      deadLetterPath: dlPath,
    });
    expect(stats.rejectedByReason.line_too_long).toBe(1);
  });

  it('creates no dead-letter file when nothing is rejected', async () => {
    await writeFile(file('clean.csv'), CSV);
    const dlPath = path.join(dir, 'dl2', 'clean.ndjson');
    const sink = createDeadLetterFile(dlPath);
    const { stats } = await readAll(readEvents(file('clean.csv'), { deadLetter: sink }));
    await sink.close();
    expect(existsSync(dlPath)).toBe(false);
    expect(existsSync(path.dirname(dlPath))).toBe(false);
    expect(stats.deadLetterPath).toBeUndefined();
  });

  it('names the default dead-letter file after the input, under <dataDir>/deadletter', () => {
    const p = defaultDeadLetterPath(
      '/data',
      '/x/2019-Oct.csv.gz',
      new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
    );
    expect(p).toBe(path.join('/data', 'deadletter', '2019-Oct.csv.gz.20240102T030405Z.ndjson'));
    expect(defaultDeadLetterPath('/data', '-', new Date(0))).toMatch(/stdin\.19700101T000000Z\.ndjson$/);
  });
});

describe('readEvents: options', () => {
  const many = `${HEADER}\n${`${ROW}\n`.repeat(1000)}`;

  it('yields batches of batchSize and reports progress up to the total', async () => {
    await writeFile(file('many.csv'), many);
    const seen: number[] = [];
    const opts: ReadOptions = { batchSize: 300, onProgress: (s) => seen.push(s.bytesRead) };
    const { events, batches, stats } = await readAll(readEvents(file('many.csv'), opts));
    expect(events).toHaveLength(1000);
    expect(batches).toBe(4);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toBe(stats.totalBytes);
  });

  it('applies maxLineBytes', async () => {
    await writeFile(file('limit.csv'), `${HEADER}\n${ROW}\n${ROW.replace('shiseido', 'x'.repeat(200))}\n`);
    const { stats } = await readAll(readEvents(file('limit.csv'), { maxLineBytes: 200 }));
    expect(stats.rejectedByReason).toEqual({ line_too_long: 1 });
  });

  it('stops when the signal aborts', async () => {
    await writeFile(file('abort.csv'), many);
    const ac = new AbortController();
    const it = readEvents(file('abort.csv'), { batchSize: 10, signal: ac.signal });
    const err = await (async () => {
      for await (const _ of it) ac.abort();
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error)?.name).toBe('AbortError');
  });

  it('can be iterated once', async () => {
    await writeFile(file('once.csv'), CSV);
    const it = readEvents(file('once.csv'));
    await readAll(it);
    expect(() => it[Symbol.asyncIterator]()).toThrow(/only once/);
  });
});
