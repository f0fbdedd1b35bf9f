import { describe, expect, it } from 'vitest';
import { parseReportFile } from '../../src/batch/sqlfile.js';

describe('parseReportFile', () => {
  it('reads the header fields, continuations and named queries with limits', () => {
    const r = parseReportFile(
      'demo',
      [
        '-- Title: A demo',
        '-- Question: Does it parse',
        '--   over two lines?',
        '-- Parameters: none.',
        '-- Rule: keep it simple.',
        '-- Athena: write day_of_week for isodow;',
        '--   nothing else differs.',
        '',
        '-- @table first',
        'SELECT 1 FROM events;',
        '',
        '-- @table second (limit 20)',
        '-- a comment inside the query stays',
        'SELECT 2',
        'FROM events;',
      ].join('\n'),
    );
    expect(r).toEqual({
      name: 'demo',
      title: 'A demo',
      description: 'Does it parse over two lines?',
      parameters: 'none.',
      rule: 'keep it simple.',
      athena: 'write day_of_week for isodow; nothing else differs.',
      defaults: {},
      queries: [
        { name: 'first', sql: 'SELECT 1 FROM events;' },
        { name: 'second', sql: '-- a comment inside the query stays\nSELECT 2\nFROM events;', limit: 20 },
      ],
    });
  });

  it('makes a file without markers one query named after the report', () => {
    const r = parseReportFile('solo', '\n-- Title: Solo\n\n-- counts\nSELECT count(*) FROM events;\n');
    expect(r.title).toBe('Solo');
    expect(r.queries).toEqual([{ name: 'solo', sql: '-- counts\nSELECT count(*) FROM events;' }]);
    expect(parseReportFile('empty', '-- Title: Nothing\n-- just comments\n').queries).toEqual([]);
  });

  it('declares named parameters with defaults in the Parameters field', () => {
    const r = parseReportFile(
      'p',
      '-- Title: P\n-- Parameters: $top_n = 10, the rows kept;\n--   $min_views = 100 (a floor).\n\nSELECT $top_n;\n',
    );
    expect(r.defaults).toEqual({ top_n: 10, min_views: 100 });
    expect(r.parameters).toBe('$top_n = 10, the rows kept; $min_views = 100 (a floor).');
  });

  it('reads a chart line per table and keeps it out of the SQL', () => {
    const r = parseReportFile(
      'c',
      [
        '-- Title: C',
        '',
        '-- @table daily',
        '-- @chart line x=day y=visitors,sessions',
        'SELECT 1;',
        '-- @table by_hour',
        '--   @chart   bar x=hour y=events by=category',
        'SELECT 2;',
        '-- @table summary',
        '-- @chart kpi y=a,b',
        'SELECT 3;',
        '-- @table plain',
        'SELECT 4;',
      ].join('\n'),
    );
    expect(r.queries).toEqual([
      { name: 'daily', sql: 'SELECT 1;', chart: { kind: 'line', x: 'day', y: ['visitors', 'sessions'] } },
      { name: 'by_hour', sql: 'SELECT 2;', chart: { kind: 'bar', x: 'hour', y: ['events'], by: 'category' } },
      { name: 'summary', sql: 'SELECT 3;', chart: { kind: 'kpi', y: ['a', 'b'] } },
      { name: 'plain', sql: 'SELECT 4;' },
    ]);
  });

  it.each([
    ['-- @chart pie x=a y=b', 'the kind "pie" is not one of line, bar, kpi'],
    ['-- @chart bar y=b', 'line and bar charts need x=, kpi takes none'],
    ['-- @chart kpi x=a y=b', 'line and bar charts need x=, kpi takes none'],
    ['-- @chart bar x=a', 'y= names no column'],
    ['-- @chart bar x=a y=b,c by=d', 'by= takes one y column'],
    ['-- @chart bar x=a y=b colour=red', 'unknown option colour'],
    ['-- @chart', 'write -- @chart KIND'],
  ])('refuses a broken chart line: %s', (line, why) => {
    expect(() => parseReportFile('bad', `-- Title: Bad\n\n-- @table t\n${line}\nSELECT 1;\n`)).toThrow(
      expect.objectContaining({
        code: 'INTERNAL',
        message: expect.stringContaining(`bad.sql line 4: ${why}`),
      }),
    );
  });
});
