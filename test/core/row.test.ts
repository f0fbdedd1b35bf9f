import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../src/core/event.js';
import { isRejection, parsePrice, rowToEvent } from '../../src/core/row.js';
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
