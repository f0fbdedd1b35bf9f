import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../src/core/event.js';
import {
  eventTypeIn,
  isDigitsIn,
  isRejection,
  parseIdIn,
  parsePrice,
  parsePriceIn,
  rowToEvent,
} from '../../src/core/row.js';
import { EVENT_TYPES } from '../../src/core/event.js';
import { EXAMPLE_EVENT, EXAMPLE_ROW } from '../helpers/events.js';

const good = EXAMPLE_ROW.split(',');

function withField(i: number, v: string): string[] {
  const f = [...good];
  f[i] = v;
  return f;
}

describe('rowToEvent', () => {
  it('builds an event with exact category_id and nulls for empty optional fields', () => {
    const e = rowToEvent(good);
    expect(isRejection(e)).toBe(false);
    expect(e).toEqual(EXAMPLE_EVENT);
  });

  it('accepts price 0, remove_from_cart and an empty session', () => {
    const e = rowToEvent(withField(8, '').map((v, i) => (i === 6 ? '0' : i === 1 ? 'remove_from_cart' : v)));
    expect(isRejection(e)).toBe(false);
  });

  it.each([
    [[...good, 'extra'], 'field_count'],
    [good.slice(0, 8), 'field_count'],
    [withField(0, '2019-02-30 00:00:00 UTC'), 'bad_event_time'],
    [withField(1, 'click'), 'bad_event_type'],
    [withField(1, 'VIEW'), 'bad_event_type'],
    [withField(2, '12a'), 'bad_product_id'],
    [withField(2, '-5'), 'bad_product_id'],
    [withField(2, '99999999999999999'), 'bad_product_id'],
    [withField(3, '2.1e18'), 'bad_category_id'],
    [withField(3, ''), 'bad_category_id'],
    [withField(6, '-1.00'), 'bad_price'],
    [withField(6, '1e3'), 'bad_price'],
    [withField(6, ''), 'bad_price'],
    [withField(6, '12.'), 'bad_price'],
    [withField(7, 'abc'), 'bad_user_id'],
    [withField(7, ''), 'bad_user_id'],
    [[...CSV_COLUMNS], 'repeated_header'],
  ])('rejects %j as %s', (fields, reason) => {
    const r = rowToEvent(fields as string[]);
    expect(isRejection(r) && r.reason).toBe(reason);
  });
});

describe('parsePrice', () => {
  it('gives exactly what Number() gives for plain decimals', () => {
    const samples = [
      '0',
      '0.00',
      '35.79',
      '1022.16',
      '2574.07',
      '0.1',
      '0.3',
      '999999.99',
      '12345678901234.5',
      '1.005',
    ];
    for (let i = 0; i < 20000; i++) samples.push((Math.floor(Math.random() * 1e7) / 100).toFixed(2));
    for (let i = 0; i < 2000; i++) samples.push(String(Math.random() * 1e6).slice(0, 17));
    for (const s of samples) expect(parsePrice(s), s).toBe(Number(s));
  });

  it.each(['', '.5', '5.', '1.2.3', '-1', '+1', '1e3', ' 1', 'NaN'])('rejects %j', (s) => {
    expect(parsePrice(s)).toBeNaN();
  });
});

describe('the checks on offsets (what the parallel reader uses without slicing)', () => {
  // Values at and around every edge of the field rules, read out of a longer text.
  const values = [
    '',
    '0',
    '00',
    '7',
    '0012',
    '12a',
    '-5',
    '+5',
    '1.5',
    ' 1',
    '1 ',
    '9007199254740991',
    '9007199254740992',
    '9999999999999999',
    '99999999999999999',
    '1234567890123456',
    '2053013555631882655',
    '12345678901234567890',
    '123456789012345678901',
    '2.1e18',
    '0.00',
    '.5',
    '5.',
    '1.2.3',
    '1e3',
    '35.79',
    '1022.16',
    '000012.340',
    '12345678901234567890.5',
    '1234567890123456789012345',
    '0.1234567890123456',
    '999999999999999.99',
    'view',
    'cart',
    'purchase',
    'remove_from_cart',
    'VIEW',
    'views',
    'vie',
    'remove_from_car',
  ];
  const text = `,${values.join(',')},`;
  const at: [number, number][] = [];
  for (let from = 1, i = 0; i < values.length; i++) {
    at.push([from, from + values[i]!.length]);
    from += values[i]!.length + 1;
  }

  it('agree with the checks on strings', () => {
    for (const [i, v] of values.entries()) {
      const [from, to] = at[i]!;
      const product = rowToEvent(withField(2, v));
      const id = parseIdIn(text, from, to);
      expect(id < 0, v).toBe(isRejection(product));
      if (!isRejection(product)) expect(id, v).toBe(product.product_id);
      expect(isDigitsIn(text, from, to, 20), v).toBe(!isRejection(rowToEvent(withField(3, v))));
      expect(parsePriceIn(text, from, to), v).toBe(parsePrice(v));
      const type = rowToEvent(withField(1, v));
      expect(eventTypeIn(text, from, to), v).toBe(
        isRejection(type) ? -1 : EVENT_TYPES.indexOf(type.event_type),
      );
    }
  });
});
