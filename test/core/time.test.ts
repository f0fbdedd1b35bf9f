import { describe, expect, it } from 'vitest';
import { formatEventTime, isoUtc, parseDatasetTimeIn, parseEventTime } from '../../src/core/time.js';

describe('parseEventTime', () => {
  it('reads the dataset form', () => {
    expect(parseEventTime('2019-10-01 00:00:00 UTC')).toBe(Date.UTC(2019, 9, 1));
    expect(parseEventTime('2019-11-17 23:59:59 UTC')).toBe(Date.UTC(2019, 10, 17, 23, 59, 59));
  });

  it('reads ISO-8601 with a zone', () => {
    expect(parseEventTime('2019-10-01T00:00:00Z')).toBe(Date.UTC(2019, 9, 1));
    expect(parseEventTime('2019-10-01T02:00:00+02:00')).toBe(Date.UTC(2019, 9, 1));
    expect(parseEventTime('2019-10-01T02:00:00+0200')).toBe(Date.UTC(2019, 9, 1));
    expect(parseEventTime('2019-09-30T19:30:00-04:30')).toBe(Date.UTC(2019, 9, 1));
    expect(parseEventTime('2019-10-01T00:00:00.123456Z')).toBe(Date.UTC(2019, 9, 1) + 123);
  });

  it.each([
    '2019-02-30 00:00:00 UTC',
    '2019-02-29 00:00:00 UTC',
    '2019-13-01 00:00:00 UTC',
    '2019-10-01 24:00:00 UTC',
    '2019-10-01 00:60:00 UTC',
    '2019-10-01 00:00:00',
    '2019-10-01T00:00:00',
    '2019/10/01 00:00:00 UTC',
    '2019-1O-01 00:00:00 UTC',
    'event_time',
    '',
  ])('rejects %j', (s) => {
    expect(parseEventTime(s)).toBeNaN();
  });

  it('accepts Feb 29 in a leap year', () => {
    expect(parseEventTime('2020-02-29 12:00:00 UTC')).toBe(Date.UTC(2020, 1, 29, 12));
  });
});

describe('formatting', () => {
  it('round-trips the dataset form', () => {
    const t = Date.UTC(2019, 9, 1, 5, 6, 7);
    expect(formatEventTime(t)).toBe('2019-10-01 05:06:07 UTC');
    expect(parseEventTime(formatEventTime(t + 250))).toBe(t + 250);
    expect(isoUtc(t)).toBe('2019-10-01T05:06:07.000Z');
  });
});

describe('parseDatasetTimeIn', () => {
  it('reads the dataset form on offsets as parseEventTime does, and nothing else', () => {
    const samples = [
      '2019-10-01 00:00:00 UTC',
      '2019-10-01 00:59:59 UTC',
      '2019-10-01 00:60:00 UTC',
      '2019-10-01 00:00:60 UTC',
      '2019-10-01 24:00:00 UTC',
      '2019-02-29 10:00:00 UTC',
      '2019-02-29 10:00:01 UTC',
      '2020-02-29 10:00:01 UTC',
      '0019-10-01 10:00:00 UTC',
      '2019-10-01T00:00:00.000Z',
      '2019-10-01 00:00:00 utc',
      '2019-10-01 00:00:00UTC',
      '2019-10-01 00:00:00 UTC ',
      '2019-1O-01 00:00:00 UTC',
    ];
    // Rows come in time order: runs within an hour, across hours and days, and bad text between.
    let t = Date.UTC(2019, 9, 31, 22, 58);
    for (let i = 0; i < 3000; i++) {
      t += ((i * 7919) % 97) * 1000;
      samples.push(formatEventTime(t));
      if (i % 50 === 0) samples.push(formatEventTime(t).replace(/:\d\d UTC$/, ':6' + (i % 10) + ' UTC'));
    }
    for (const s of samples) {
      const text = `x,${s},y`;
      const expected = s.length === 23 && s.endsWith(' UTC') ? parseEventTime(s) : NaN;
      expect(parseDatasetTimeIn(text, 2, 2 + s.length), s).toBe(expected);
    }
  });
});
