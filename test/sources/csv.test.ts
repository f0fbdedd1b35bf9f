import { describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { StorepulseError } from '../../src/core/errors.js';
import { REJECT_REASONS, type RejectReason } from '../../src/core/row.js';
import { CsvEventParser } from '../../src/sources/csv.js';
import { EXAMPLE_EVENT, EXAMPLE_ROW } from '../helpers/events.js';

const HEADER = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';
const ROW = EXAMPLE_ROW;

interface Rejected {
  line: number;
  raw: string;
  truncated: boolean;
  reason: RejectReason;
  detail: string;
}

interface Parsed {
  events: ClickEvent[];
  rejects: Rejected[];
  parser: CsvEventParser;
  batches: number[];
}

/** Parses `text` fed in pieces of `piece` characters. */
function parse(
  text: string,
  piece = Infinity,
  opts: { maxLineBytes?: number; batchSize?: number } = {},
): Parsed {
  const rejects: Rejected[] = [];
  const parser = new CsvEventParser({
    source: 'test.csv',
    maxLineBytes: opts.maxLineBytes ?? 64 * 1024,
    batchSize: opts.batchSize ?? 4096,
    onReject: (line, raw, truncated, reason, detail) =>
      rejects.push({ line, raw, truncated, reason, detail }),
  });
  const events: ClickEvent[] = [];
  const batches: number[] = [];
  const take = () => {
    for (const b of parser.takeBatches()) {
      batches.push(b.length);
      events.push(...b);
    }
  };
  const step = Number.isFinite(piece) ? piece : text.length || 1;
  for (let i = 0; i < text.length; i += step) {
    parser.feed(text.slice(i, i + step));
    take();
  }
  parser.end();
  take();
  return { events, rejects, parser, batches };
}

/** Same result whatever the piece size: rows, quotes and CRLF may be split anywhere. */
function parseEverySplit(text: string, opts: { maxLineBytes?: number } = {}): Parsed {
  const whole = parse(text, Infinity, opts);
  for (const piece of [1, 2, 3, 5, 7, 13, 64, 1000]) {
    const p = parse(text, piece, opts);
    expect(p.events, `piece ${piece}`).toEqual(whole.events);
    expect(p.rejects, `piece ${piece}`).toEqual(whole.rejects);
    expect([p.parser.lines, p.parser.blankLines, p.parser.rows], `piece ${piece}`).toEqual([
      whole.parser.lines,
      whole.parser.blankLines,
      whole.parser.rows,
    ]);
  }
  return whole;
}

function withField(i: number, v: string): string {
  const f = ROW.split(',');
  f[i] = v;
  return f.join(',');
}

describe('CsvEventParser: the well-formed dataset', () => {
  it('skips the header and reads rows with exact category_id and nulls for empty fields', () => {
    const { events, rejects, parser } = parseEverySplit(
      `${HEADER}\n${ROW}\n${withField(3, '2053013555631882655')}\n`,
    );
    expect(rejects).toEqual([]);
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual(EXAMPLE_EVENT);
    expect(events[1]!.category_id).toBe('2053013555631882655');
    expect(typeof events[1]!.category_id).toBe('string');
    expect([parser.lines, parser.rows, parser.valid, parser.rejected]).toEqual([3, 2, 2, 0]);
  });

  it('reads CRLF line ends and a leading UTF-8 BOM', () => {
    const { events, rejects, parser } = parseEverySplit(`\uFEFF${HEADER}\r\n${ROW}\r\n${ROW}\r\n`);
    expect(rejects).toEqual([]);
    expect(events).toHaveLength(2);
    expect(events[1]!.user_session).toBe('72d76fde-8bb3-4e00-8c23-a032dfed738c');
    expect(parser.lines).toBe(3);
  });

  it('reads a last row without a line end, also after CR', () => {
    expect(parseEverySplit(`${HEADER}\n${ROW}`).events).toHaveLength(1);
    expect(parseEverySplit(`${HEADER}\n${ROW}\r`).events[0]!.user_session).toBe(
      '72d76fde-8bb3-4e00-8c23-a032dfed738c',
    );
  });

  it('treats a first line that is not a header as data', () => {
    const { events, parser } = parseEverySplit(`${ROW}\n${ROW}\n`);
    expect(events).toHaveLength(2);
    expect(parser.rows).toBe(2);
  });

  it('accepts the header in any letter case, and an empty input', () => {
    expect(parseEverySplit(`${HEADER.toUpperCase()}\n${ROW}\n`).events).toHaveLength(1);
    const empty = parse('');
    expect([empty.events.length, empty.parser.lines, empty.parser.rows]).toEqual([0, 0, 0]);
  });

  it('rejects a header with other columns, or the columns in another order, with a clear error', () => {
    expect(() => parse(`time,type,product,category,code,brand,price,user,session\n${ROW}\n`)).toThrow(
      StorepulseError,
    );
    const swapped = HEADER.replace('event_time,event_type', 'event_type,event_time');
    expect(() => parse(`${swapped}\n${ROW}\n`)).toThrow(/expected the columns event_time,event_type/);
    try {
      parse(`event_time,event_type\n`);
    } catch (err) {
      expect((err as StorepulseError).code).toBe('INPUT');
    }
  });

  it('skips blank lines, counts them, and keeps physical line numbers', () => {
    const text = `${HEADER}\n\n${ROW}\r\n\r\n\n${withField(1, 'click')}\n\n`;
    const { events, rejects, parser } = parseEverySplit(text);
    expect(events).toHaveLength(1);
    expect(parser.blankLines).toBe(4);
    expect(parser.lines).toBe(7);
    expect(parser.rows).toBe(2);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[6, 'bad_event_type']]);
  });

  it('yields batches of at most batchSize events', () => {
    const text = `${HEADER}\n${`${ROW}\n`.repeat(10)}`;
    const p = parse(text, 7, { batchSize: 4 });
    expect(p.batches).toEqual([4, 4, 2]);
  });
});

describe('CsvEventParser: RFC 4180 quoting', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and counts the lines they span', () => {
    const quoted =
      '2019-10-01 00:00:01 UTC,cart,"5",2053013555631882655,"a,b","say ""hi""\r\nthere",' +
      '"1.50",7,"72d76fde-8bb3-4e00-8c23-a032dfed738c"';
    const text = `${HEADER}\r\n${quoted}\r\n${ROW}\n${withField(6, 'x')}\n`;
    const { events, rejects, parser } = parseEverySplit(text);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      event_type: 'cart',
      product_id: 5,
      category_code: 'a,b',
      brand: 'say "hi"\r\nthere',
      price: 1.5,
      user_id: 7,
    });
    // the quoted row spans lines 2-3, so the bad row is on line 5
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[5, 'bad_price']]);
    expect(parser.lines).toBe(5);
  });

  it('reads an empty quoted field as empty, and a quoted last field at the end of input', () => {
    const text = `${HEADER}\n${withField(4, '""').replace(/,[^,]*$/, ',"72d76fde-8bb3-4e00-8c23-a032dfed738c"')}`;
    const { events } = parseEverySplit(text);
    expect(events[0]).toMatchObject({
      category_code: null,
      user_session: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
    });
  });

  it('rejects malformed quoting as bad_quoting and resumes on the next line', () => {
    const text = [
      HEADER,
      withField(5, 'shi"seido'), // 2: quote inside an unquoted field
      withField(5, '"shiseido"x'), // 3: text after a closing quote
      ROW, // 4
      withField(5, '"shiseido'), // 5: open; line 7's stray quote closes it, then "b" follows
      ROW, // 6
      withField(5, 'a"b'), // 7
      ROW, // 8
    ].join('\n');
    const { events, rejects } = parseEverySplit(text);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'bad_quoting'],
      [3, 'bad_quoting'],
      [5, 'bad_quoting'],
      [7, 'bad_quoting'],
    ]);
    expect(rejects[0]!.raw).toBe(withField(5, 'shi"seido'));
    expect(events).toHaveLength(3);
  });

  it('rejects a quote left open at the end of the input', () => {
    const { events, rejects } = parseEverySplit(`${HEADER}\n${ROW}\n${withField(8, '"open')}\n`);
    expect(events).toHaveLength(1);
    expect(rejects).toEqual([
      expect.objectContaining({ line: 3, reason: 'bad_quoting', raw: withField(8, '"open') }),
    ]);
  });

  it('does not let an unterminated quote swallow the file: the line limit bounds it', () => {
    const rows = Array.from({ length: 50 }, () => ROW);
    const text = [HEADER, withField(4, '"never closed'), ...rows].join('\n');
    const { events, rejects, parser } = parseEverySplit(text, { maxLineBytes: 1024 });
    expect(rejects).toEqual([expect.objectContaining({ line: 2, reason: 'bad_quoting' })]);
    expect(events).toHaveLength(50);
    expect(parser.lines).toBe(52);
  });
});

describe('CsvEventParser: rejects', () => {
  const cases: [string, RejectReason][] = [
    [ROW.split(',').slice(0, 8).join(','), 'field_count'],
    [`${ROW},extra`, 'field_count'],
    [withField(0, '2019-02-30 00:00:00 UTC'), 'bad_event_time'],
    [withField(0, 'yesterday'), 'bad_event_time'],
    [withField(1, 'click'), 'bad_event_type'],
    [withField(2, 'abc'), 'bad_product_id'],
    [withField(2, '-5'), 'bad_product_id'],
    [withField(3, '2053013555631882655x'), 'bad_category_id'],
    [withField(6, '-1.00'), 'bad_price'],
    [withField(6, '1e5'), 'bad_price'],
    [withField(7, ''), 'bad_user_id'],
    [HEADER, 'repeated_header'],
    [withField(5, 'bad"quote'), 'bad_quoting'],
  ];

  it('rejects each kind of malformed row with its reason, raw text and line, and goes on', () => {
    const lines = [HEADER];
    for (const [row] of cases) lines.push(row, ROW);
    const { events, rejects, parser } = parseEverySplit(`${lines.join('\n')}\n`);
    expect(events).toHaveLength(cases.length);
    expect(rejects.map((r) => r.reason)).toEqual(cases.map(([, reason]) => reason));
    expect(rejects.map((r) => r.line)).toEqual(cases.map((_, i) => 2 + 2 * i));
    expect(rejects.map((r) => r.raw)).toEqual(cases.map(([row]) => row));
    for (const r of rejects) expect(r.detail.length).toBeGreaterThan(0);
    expect(parser.rows).toBe(parser.valid + parser.rejected);
    expect(parser.rejectedByReason.field_count).toBe(2);
    expect(parser.rejectedByReason.repeated_header).toBe(1);
  });

  it('reads a repeated header with a BOM (files joined with cat) as repeated_header', () => {
    const { rejects } = parse(`\uFEFF${HEADER}\n${ROW}\n\uFEFF${HEADER}\n${ROW}\n`);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[3, 'repeated_header']]);
  });

  it('rejects rows over the byte limit as line_too_long, counting UTF-8 bytes', () => {
    const long = withField(4, 'x'.repeat(300));
    // 100 characters of 3 UTF-8 bytes each: under the limit in characters, over it in bytes
    const wide = withField(5, '\u20ac'.repeat(100));
    const text = [HEADER, long, ROW, wide, ROW].join('\n');
    const { events, rejects } = parseEverySplit(text, { maxLineBytes: 256 });
    expect(events).toHaveLength(2);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'line_too_long'],
      [4, 'line_too_long'],
    ]);
    expect(rejects[0]!.raw).toBe(long);
  });

  it('covers every reject reason the core defines', () => {
    const seen = new Set<string>(['line_too_long', ...cases.map(([, r]) => r)]);
    expect([...seen].sort()).toEqual([...REJECT_REASONS].sort());
  });

  it('drops a 5 MB line while it streams past, keeping a bounded prefix, and reads on', () => {
    const limit = 64 * 1024;
    const huge = `2019-10-01 00:00:00 UTC,view,${'9'.repeat(5 * 1024 * 1024)}`;
    const rejects: Rejected[] = [];
    const parser = new CsvEventParser({
      source: 'big.csv',
      maxLineBytes: limit,
      batchSize: 4096,
      onReject: (line, raw, truncated, reason, detail) =>
        rejects.push({ line, raw, truncated, reason, detail }),
    });
    const text = `${HEADER}\n${ROW}\n${huge}\n${ROW}\n`;
    const piece = 16 * 1024;
    let maxBuffered = 0;
    for (let i = 0; i < text.length; i += piece) {
      parser.feed(text.slice(i, i + piece));
      maxBuffered = Math.max(maxBuffered, parser.bufferedChars);
    }
    parser.end();
    const events = parser.takeBatches().flat();
    expect(events).toHaveLength(2);
    expect(maxBuffered).toBeLessThanOrEqual(limit + piece);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ line: 3, reason: 'line_too_long', truncated: true });
    expect(rejects[0]!.raw.length).toBe(4096);
    expect(huge.startsWith(rejects[0]!.raw)).toBe(true);
    expect(parser.lines).toBe(4);
  });
});

describe('CsvEventParser: the same answer however the input is cut', () => {
  it('agrees across piece sizes on random mixes of rows, quotes, commas and line ends', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const tokens = [
      ROW,
      ROW,
      ROW,
      withField(5, '"a,b"'),
      '"',
      '""',
      ',',
      '\n',
      '\r\n',
      '\r',
      'x',
      '\u20ac',
      HEADER,
    ];
    for (let n = 0; n < 150; n++) {
      const parts: string[] = [];
      const count = 1 + Math.floor(rnd() * 30);
      for (let i = 0; i < count; i++) parts.push(tokens[Math.floor(rnd() * tokens.length)]!);
      const text = parts.join('');
      const opts = { maxLineBytes: 64 + Math.floor(rnd() * 300) };
      let whole: Parsed;
      try {
        whole = parse(text, Infinity, opts);
      } catch (err) {
        // a first line that looks like another header: every cut must say so too
        for (const piece of [1, 3, 17])
          expect(() => parse(text, piece, opts)).toThrow((err as Error).message);
        continue;
      }
      for (const piece of [1, 2, 3, 7, 17, 100]) {
        const p = parse(text, piece, opts);
        expect(
          { events: p.events, rejects: p.rejects },
          `input ${JSON.stringify(text)} piece ${piece}`,
        ).toEqual({
          events: whole.events,
          rejects: whole.rejects,
        });
        expect([p.parser.lines, p.parser.blankLines, p.parser.rows]).toEqual([
          whole.parser.lines,
          whole.parser.blankLines,
          whole.parser.rows,
        ]);
      }
      expect(whole.parser.rows).toBe(whole.parser.valid + whole.parser.rejected);
    }
  });

  it('rejects a record spanning lines that outgrows the limit, and reads on from its second line', () => {
    // the quoted field closes, but the record goes on past the limit: line_too_long
    const long = withField(5, '"a\nb"').replace(/,[^,]*$/, `,${'z'.repeat(250)}`);
    const a = parseEverySplit([HEADER, long, ROW].join('\n'), { maxLineBytes: 200 });
    expect(a.rejects[0]).toMatchObject({ line: 2, reason: 'line_too_long' });
    expect(a.events).toHaveLength(1);
    // the quoted field itself is still open at the limit: bad_quoting
    const open = withField(5, `"${'y'.repeat(100)}\n${'y'.repeat(100)}\n${'y'.repeat(100)}"`);
    const b = parseEverySplit([HEADER, open, ROW].join('\n'), { maxLineBytes: 200 });
    expect(b.rejects[0]).toMatchObject({ line: 2, reason: 'bad_quoting' });
    expect(b.events).toHaveLength(1);
  });
});
