/**
 * The parallel reader (worker threads over byte ranges) against the sequential one: the same
 * events, batches, stats and dead-letter records, whatever the range size, including rows whose
 * quoted line breaks sit exactly on a range boundary. Runs against the built worker (`npm run build`).
 *
 * Which thread parses a range depends on how fast the workers start, so each parallel read runs
 * twice: as it comes (compared for the same outcome only), and with `workersOnly`, where every range
 * is a worker's and the counts of ranges parsed and reparsed are exact whatever the machine's load.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { StorepulseError } from '../../src/core/errors.js';
import type { DeadLetterRecord, DeadLetterSink } from '../../src/sources/deadletter.js';
import { parseWorkerUrl, rangeCounts } from '../../src/sources/parallel.js';
import { lineStartAt } from '../../src/sources/ranges.js';
import { readEvents } from '../../src/sources/reader.js';
import type { ReadOptions, ReadStats } from '../../src/sources/types.js';
import { generateToFile } from '../../src/sources/synthetic/generator.js';

const HEADER = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';

interface Read {
  events: ClickEvent[];
  batches: number[];
  stats: ReadStats;
  dead: DeadLetterRecord[];
  progress: number[];
}

function memorySink(): DeadLetterSink & { records: DeadLetterRecord[] } {
  const records: DeadLetterRecord[] = [];
  return {
    records,
    get count() {
      return records.length;
    },
    write: (rec) => void records.push(rec),
    close: async () => {},
  };
}

async function read(file: string, opts: ReadOptions): Promise<Read> {
  const sink = memorySink();
  const progress: number[] = [];
  const it = readEvents(file, { ...opts, deadLetter: sink, onProgress: (s) => progress.push(s.bytesRead) });
  const events: ClickEvent[] = [];
  const batches: number[] = [];
  for await (const b of it) {
    batches.push(b.length);
    for (const e of b) events.push(e);
  }
  return { events, batches, stats: { ...it.stats }, dead: sink.records, progress };
}

/** Ranges reparsed sequentially in the workers-only reads of expectSameAsSequential. */
let reparsed = 0;

/** Reads `file` sequentially and in parallel with each range size, and expects the same outcome. */
async function expectSameAsSequential(
  file: string,
  ranges: number[],
  opts: ReadOptions = {},
  threads = [2, 3],
): Promise<Read> {
  opts = { batchSize: 50, ...opts };
  const seq = await read(file, { ...opts, threads: 1 });
  const size = statSync(file).size;
  for (const rangeBytes of ranges) {
    for (const t of threads) {
      for (const workersOnly of [false, true]) {
        const before = { ...rangeCounts };
        const par = await read(file, { ...opts, threads: t, rangeBytes, workersOnly });
        const what = `threads ${t}, rangeBytes ${rangeBytes}${workersOnly ? ', workers only' : ''}`;
        if (workersOnly) {
          // Every range went through a worker, and this thread parsed none.
          expect(rangeCounts.worker - before.worker, what).toBe(Math.max(1, Math.ceil(size / rangeBytes)));
          expect(rangeCounts.here - before.here, what).toBe(0);
          reparsed += rangeCounts.reparsed - before.reparsed;
        }
        expect(par.stats, what).toEqual(seq.stats);
        expect(par.dead, what).toEqual(seq.dead);
        expect(par.batches, what).toEqual(seq.batches);
        expect(par.events.length, what).toBe(seq.events.length);
        expect(par.events, what).toEqual(seq.events);
        expect(par.progress.at(-1), what).toBe(seq.stats.totalBytes);
        for (let i = 1; i < par.progress.length; i++)
          expect(par.progress[i]).toBeGreaterThanOrEqual(par.progress[i - 1]!);
      }
    }
  }
  return seq;
}

function osThreads(): number {
  return Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

let dir: string;
let rows: string[];
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  expect(parseWorkerUrl(), 'the parse worker is built (npm run build)').not.toBeNull();
  dir = await mkdtemp(path.join(os.tmpdir(), 'storepulse-parallel-'));
  await generateToFile({ events: 3000, seed: 11, out: file('base.csv') });
  rows = (await readFile(file('base.csv'), 'utf8')).trimEnd().split('\n').slice(1);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Row `i` of the generated data with field `f` replaced. */
function withField(i: number, f: number, v: string): string {
  const fields = rows[i % rows.length]!.split(',');
  fields[f] = v;
  return fields.join(',');
}

/** Every kind of trouble a row can bring, cycled through at many positions. */
function troubleRows(i: number): string[] {
  const kinds: (() => string[])[] = [
    () => [withField(i, 1, 'click')],
    () => [withField(i, 0, '2019-02-30 10:00:00 UTC')],
    () => [withField(i, 2, 'x1')],
    () => [withField(i, 3, '20530135556318826x5')],
    () => [withField(i, 6, '-1.00')],
    () => [withField(i, 7, 'u5')],
    () => [rows[i]!.split(',').slice(0, 8).join(',')],
    () => [HEADER],
    () => [`\uFEFF${HEADER}`],
    () => ['', '\r'],
    () => [`${rows[i]!}\r`],
    () => [withField(i, 5, '"acme, ""pro"" inc"')],
    () => [withField(i, 5, '"two\nlines"')],
    () => [withField(i, 5, '"three\r\nline\nbrand"')],
    () => [withField(i, 5, 'shi"seido')],
    () => [withField(i, 8, '"open')],
    () => [withField(i, 5, `caf\u00e9 \u20ac\u{1f600}`)],
    () => [withField(i, 5, 'x'.repeat(2500))],
    () => [withField(i, 5, `"${'q'.repeat(900)}\n${'q'.repeat(900)}\n${'q'.repeat(900)}"`)],
  ];
  return kinds[i % kinds.length]!();
}

describe('readEvents with worker threads: the same outcome as the sequential reader', () => {
  it('on generated data with bad rows, blank lines, CRLF and quoted line breaks at many places', async () => {
    const lines = [HEADER];
    for (let i = 0; i < rows.length; i++) {
      lines.push(rows[i]!);
      if (i % 7 === 3) lines.push(...troubleRows(i));
    }
    await writeFile(file('mixed.csv'), `${lines.join('\n')}\n`);
    const seq = await expectSameAsSequential(file('mixed.csv'), [997, 4096, 65536, 1 << 20], {
      maxLineBytes: 2000,
      batchSize: 1000,
    });
    expect(seq.stats.rejected).toBeGreaterThan(300);
    expect(new Set(seq.dead.map((d) => d.reason)).size).toBe(10);
    expect(seq.events.length).toBeGreaterThan(2900);
  });

  it('with field values at and around every edge of the row rules', async () => {
    const values = [
      ...['', '0', '00', '0012', '12a', '-5', '1.5', ' 1', '9007199254740991', '9007199254740992'],
      ...['99999999999999999', '2053013555631882655', '12345678901234567890', '123456789012345678901'],
      ...['0.00', '.5', '5.', '1.2.3', '1e3', '000012.340', '12345678901234567890.5', '1'.repeat(25)],
      ...['view', 'cart', 'purchase', 'remove_from_cart', 'VIEW', 'views', 'x\r', '\u00e9t\u00e9', '\ufeff'],
      ...['2019-10-01 00:59:59 UTC', '2019-10-01 00:60:00 UTC', '2019-10-01 24:00:00 UTC'],
      ...['2019-02-29 10:00:00 UTC', '2020-02-29 10:00:00 UTC', '0019-10-01 10:00:00 UTC'],
      ...['2019-10-01T10:00:00.000Z', '2019-10-01 10:00:00 utc', '2019-10-01 10:00:00', 'event_time'],
    ];
    const lines = [HEADER];
    for (const [i, v] of values.entries()) {
      for (let f = 0; f < 9; f++) lines.push(rows[(i * 9 + f) % rows.length]!, withField(i * 9 + f, f, v));
    }
    await writeFile(file('edges.csv'), `${lines.join('\n')}\n`);
    const r = await expectSameAsSequential(file('edges.csv'), [997, 4096], { batchSize: 20 });
    expect(r.stats.valid).toBeGreaterThan(values.length * 9);
    expect(r.stats.rejected).toBeGreaterThan(values.length * 3);
  });

  it('with quoted line breaks exactly on range boundaries (the fallback reparse)', async () => {
    const before = reparsed;
    for (const rangeBytes of [500, 1024, 4093]) {
      // Put a quoted line break (LF or CRLF) at, or just after, every range boundary that a row
      // would cross, so that the line start after the boundary is inside a quoted field.
      let text = `${HEADER}\n`;
      let i = 0;
      let quoted = 0;
      while (text.length < 40 * rangeBytes) {
        const row = rows[i % rows.length]!;
        const boundary = Math.ceil((text.length + 1) / rangeBytes) * rangeBytes;
        const shift = i % 4; // the line break at the boundary, or 1–3 bytes after it
        const prefix = row.split(',').slice(0, 5).join(',') + ',"';
        const pad = boundary + shift - text.length - prefix.length;
        if (pad >= 0 && pad < 300 && i % 3 !== 2) {
          const lf = i % 2 === 0 ? '\n' : '\r\n';
          const at = lf === '\n' ? pad : pad - 1;
          if (at >= 0) {
            const brand = `${'b'.repeat(at)}${lf}end`;
            const rest = row.split(',').slice(6).join(',');
            const line = `${prefix}${brand}",${rest}`;
            expect(text.length + prefix.length + brand.indexOf('\n')).toBe(boundary + shift);
            text += `${line}\n`;
            quoted++;
            i++;
            continue;
          }
        }
        text += `${row}\n`;
        i++;
      }
      expect(quoted).toBeGreaterThan(20);
      await writeFile(file('boundaries.csv'), text);
      const seq = await expectSameAsSequential(file('boundaries.csv'), [rangeBytes]);
      expect(seq.stats.rejected).toBe(0);
      expect(seq.events.filter((e) => e.brand?.includes('\n')).length).toBe(quoted);
    }
    // Ranges that start inside a quoted field, parsed by workers, went through the reparse.
    expect(reparsed - before).toBeGreaterThan(100);
  });

  it('a header after a first range of blank lines, a BOM, and no header at all', async () => {
    const data = rows.slice(0, 200).join('\n');
    await writeFile(file('blank-first.csv'), `${'\n'.repeat(3000)}${HEADER}\n${data}\n${HEADER}\n${data}`);
    const a = await expectSameAsSequential(file('blank-first.csv'), [1000, 2999, 3000, 3001]);
    expect(a.stats.rejectedByReason).toEqual({ repeated_header: 1 });
    await writeFile(file('bom.csv'), `\uFEFF${HEADER}\r\n${data.replace(/\n/g, '\r\n')}\r\n`);
    const b = await expectSameAsSequential(file('bom.csv'), [100, 1000]);
    expect([b.stats.rejected, b.events.length]).toEqual([0, 200]);
    await writeFile(file('headerless.csv'), `${'\r\n'.repeat(500)}${data}`);
    const c = await expectSameAsSequential(file('headerless.csv'), [100, 999]);
    expect([c.stats.rejected, c.events.length]).toEqual([0, 200]);
  });

  it('long lines and unclosed quotes that span several ranges', async () => {
    const data = rows.slice(0, 100);
    const text = [
      HEADER,
      ...data.slice(0, 10),
      withField(3, 5, 'z'.repeat(20_000)),
      ...data.slice(10, 20),
      withField(4, 5, '"never closed'),
      ...data.slice(20, 30),
      withField(5, 5, `"${'w'.repeat(3000)}\n${'w'.repeat(3000)}"`),
      ...data.slice(30),
    ].join('\n');
    await writeFile(file('long.csv'), text);
    const r = await expectSameAsSequential(file('long.csv'), [512, 4096], { maxLineBytes: 4096 });
    expect(r.dead.map((d) => [d.line, d.reason]).slice(0, 3)).toEqual([
      [12, 'line_too_long'],
      [23, 'bad_quoting'],
      [34, 'bad_quoting'],
    ]);
  });

  it('a file that ends without a line end, or inside a quoted field', async () => {
    const data = rows.slice(0, 50).join('\n');
    await writeFile(file('no-eol.csv'), `${HEADER}\n${data}`);
    await expectSameAsSequential(file('no-eol.csv'), [300, 5000]);
    await writeFile(file('open-end.csv'), `${HEADER}\n${data}\n${withField(1, 5, '"open\nat the end')}`);
    const r = await expectSameAsSequential(file('open-end.csv'), [300, 5000]);
    expect(r.dead.map((d) => d.reason)).toEqual(['bad_quoting', 'field_count']);
    await writeFile(file('empty.csv'), '');
    await expectSameAsSequential(file('empty.csv'), [300]);
  });

  it('the same error for a header with other columns', async () => {
    await writeFile(file('bad-header.csv'), `a,b,c\n${rows.slice(0, 100).join('\n')}\n`);
    // Workers only: the error comes from a worker, whatever the load.
    for (const [threads, workersOnly] of [
      [1, false],
      [2, false],
      [2, true],
    ] as const) {
      const err = await read(file('bad-header.csv'), { threads, rangeBytes: 512, workersOnly }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorepulseError);
      expect((err as Error).message).toMatch(/bad-header\.csv: unexpected header "a,b,c"/);
    }
  });

  it('lineStartAt: the byte after the first line feed at or after an offset', async () => {
    await writeFile(file('lines.csv'), `ab\ncd\n${'x'.repeat(10_000)}`);
    const fd = openSync(file('lines.csv'), 'r');
    const buf = Buffer.alloc(1 << 20);
    const size = 6 + 10_000;
    expect([0, 1, 2, 3, 5, 6, 7].map((o) => lineStartAt(fd, o, size, buf))).toEqual([
      3,
      3,
      3,
      6,
      6,
      size,
      size,
    ]);
    closeSync(fd);
  });
});

describe('readEvents with worker threads: options and lifetime', () => {
  let big: string;
  beforeAll(async () => {
    big = file('big.csv');
    await writeFile(big, `${HEADER}\n${rows.join('\n')}\n`.repeat(4));
    // Warm up: the thread pool of the file system calls exists before the counts below.
    await read(big, { threads: 1 });
  });

  it('stops the workers when the consumer breaks, aborts or throws', async () => {
    const base = osThreads();
    let during = 0;
    for await (const _ of readEvents(big, { threads: 3, rangeBytes: 4096, batchSize: 100 })) {
      during = osThreads();
      break;
    }
    expect(during).toBeGreaterThanOrEqual(base + 2);
    expect(osThreads()).toBe(base);

    const ac = new AbortController();
    const aborted = await (async () => {
      for await (const _ of readEvents(big, {
        threads: 2,
        rangeBytes: 4096,
        batchSize: 100,
        signal: ac.signal,
      }))
        ac.abort();
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((aborted as Error).name).toBe('AbortError');
    expect(osThreads()).toBe(base);

    const thrown = await (async () => {
      for await (const _ of readEvents(big, { threads: 2, rangeBytes: 4096 })) throw new Error('consumer');
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((thrown as Error).message).toBe('consumer');
    expect(osThreads()).toBe(base);
  });

  it('uses no worker for a small file by default, nor for gzip', async () => {
    await writeFile(file('big.csv.gz'), gzipSync(await readFile(big)));
    const base = osThreads();
    let during = 0;
    for await (const _ of readEvents(big, { batchSize: 100 })) during = Math.max(during, osThreads());
    const gz = readEvents(file('big.csv.gz'), { batchSize: 100, threads: 2 });
    for await (const _ of gz) during = Math.max(during, osThreads());
    expect(during).toBe(base);
    expect(gz.stats).toMatchObject({ format: 'gzip', valid: rows.length * 4 });
  });

  it('an abandoned read does not keep the process alive', () => {
    const reader = new URL('../../dist/src/sources/reader.js', import.meta.url).href;
    // One read whose workers got ranges (workers only: its first batch is a worker's), and one that
    // ends before they get any (a file of one range, which this thread parses before a worker can
    // be online).
    const script = `
      import { readEvents } from ${JSON.stringify(reader)};
      const a = readEvents(${JSON.stringify(big)}, { threads: 3, rangeBytes: 4096, workersOnly: true })[Symbol.asyncIterator]();
      await a.next();
      const small = ${JSON.stringify(file('base.csv'))};
      const b = readEvents(small, { threads: 2, batchSize: 10 })[Symbol.asyncIterator]();
      await b.next();
      console.log('read one batch');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      // Only a guard against a process that never ends: far beyond its run time even on a loaded machine.
      timeout: 45_000,
    });
    expect(r.stderr).toBe('');
    expect([r.status, r.stdout.trim()]).toEqual([0, 'read one batch']);
  });

  it('rejects a threads or rangeBytes that is not a positive whole number', async () => {
    for (const opts of [{ threads: 0 }, { threads: 1.5 }, { rangeBytes: 0 }]) {
      const err = await read(big, opts).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as StorepulseError).code).toBe('USAGE');
    }
  });
});
