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
        '-- Dialect: plain SQL.',
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
});
