import { describe, expect, it } from 'vitest';
import { openDuckDB, queryPlain, sqlString } from '../../src/lake/duckdb.js';

describe('DuckDB values as plain values', () => {
  it('converts every type the reports produce', async () => {
    const db = await openDuckDB();
    try {
      const { columns, rows } = await queryPlain(
        db.connection,
        `SELECT
           42::BIGINT AS small, 9007199254740993::BIGINT AS big, 2053013555631882655::HUGEINT AS huge,
           12.34::DECIMAL(12,2) AS dec, 0.5::DOUBLE AS dbl, 'x' AS s, NULL AS n, true AS b,
           TIMESTAMP '2019-10-01 12:34:56.789' AS ts, TIMESTAMP '1969-12-31 23:59:59.9995' AS before_epoch,
           TIMESTAMPTZ '2019-10-01 12:34:56.789+02' AS tstz, '2019-10-01 00:00:01.5'::TIMESTAMP_MS AS ts_ms,
           '2019-10-01 00:00:01'::TIMESTAMP_S AS ts_s, DATE '2019-10-01' AS d,
           [1, 2]::BIGINT[] AS list, {'a': 1::BIGINT, 'b': 'y'} AS st, 'infinity'::DOUBLE AS inf`,
      );
      expect(columns[0]).toBe('small');
      expect(rows).toEqual([
        {
          small: 42,
          big: '9007199254740993',
          huge: '2053013555631882655',
          dec: 12.34,
          dbl: 0.5,
          s: 'x',
          n: null,
          b: true,
          ts: '2019-10-01T12:34:56.789Z',
          before_epoch: '1969-12-31T23:59:59.999Z',
          tstz: '2019-10-01T10:34:56.789Z',
          ts_ms: '2019-10-01T00:00:01.500Z',
          ts_s: '2019-10-01T00:00:01.000Z',
          d: '2019-10-01',
          list: [1, 2],
          st: { a: 1, b: 'y' },
          inf: 'Infinity',
        },
      ]);
    } finally {
      db.close();
    }
  });

  it('quotes SQL strings', () => {
    expect(sqlString("it's")).toBe("'it''s'");
  });
});
