import { describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import {
  DistinctHashed,
  DistinctNumbers,
  DistinctStrings,
  SummaryBuilder,
  detachString,
  hash52,
} from '../../src/sources/summary.js';

function event(over: Partial<ClickEvent>): ClickEvent {
  return {
    event_time: Date.UTC(2019, 9, 1, 12),
    event_type: 'view',
    product_id: 1,
    category_id: '2053013555631882655',
    category_code: 'electronics.smartphone',
    brand: 'samsung',
    price: 10,
    user_id: 1,
    user_session: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
    ...over,
  };
}

describe('SummaryBuilder', () => {
  it('counts the event mix, time and price ranges, distinct values and empty fields', () => {
    const b = new SummaryBuilder();
    b.add([
      event({ event_time: Date.UTC(2019, 9, 2), price: 5, user_id: 7 }),
      event({ event_type: 'cart', user_id: 8, product_id: 2, category_code: null, brand: null }),
    ]);
    b.add([
      event({ event_type: 'purchase', event_time: Date.UTC(2019, 9, 1), price: 20, user_session: null }),
      event({ user_session: 'not-a-uuid', category_id: '2053013555631882656', brand: 'apple' }),
    ]);
    const r = b.result();
    expect(r.events).toBe(4);
    expect(r.eventMix).toEqual({
      view: { count: 2, share: 0.5 },
      cart: { count: 1, share: 0.25 },
      remove_from_cart: { count: 0, share: 0 },
      purchase: { count: 1, share: 0.25 },
    });
    expect(r.timeRange).toEqual({ min: '2019-10-01T00:00:00.000Z', max: '2019-10-02T00:00:00.000Z' });
    expect(r.price).toEqual({ min: 5, max: 20, mean: 11.25 });
    expect(r.distinct).toEqual({
      users: 3,
      sessions: 2,
      products: 2,
      categoryIds: 2,
      categoryCodes: 1,
      brands: 2,
    });
    expect(r.empty).toEqual({ categoryCode: 0.25, brand: 0.25, userSession: 0.25 });
  });

  it('reports nothing for no events', () => {
    const r = new SummaryBuilder().result();
    expect([r.events, r.timeRange, r.price, r.eventMix.view.share]).toEqual([0, null, null, 0]);
  });
});

describe('distinct counters', () => {
  it('count numbers exactly, in the bitmap range and outside it', () => {
    const d = new DistinctNumbers();
    const values = [
      0,
      1,
      1,
      2 ** 19 - 1,
      2 ** 19,
      541312140,
      541312140,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 40,
      2 ** 40,
      1.5,
    ];
    for (const v of values) d.add(v);
    expect(d.size).toBe(new Set(values).size);
  });

  it('agree with a Set on many random ids', () => {
    const d = new DistinctNumbers();
    const s = new Set<number>();
    let x = 1;
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 48271) >>> 0) % 2147483647;
      const v = 500_000_000 + (x % 3_000_000);
      d.add(v);
      s.add(v);
    }
    expect(d.size).toBe(s.size);
  });

  it('count strings exactly', () => {
    const d = new DistinctStrings();
    for (const v of ['a', 'b', 'a', 'electronics.smartphone', 'electronics.smartphone']) d.add(v);
    expect(d.size).toBe(3);
  });

  it('detach copies without changing the value', () => {
    const big = `${'x'.repeat(1000)}electronics.smartphone${'y'.repeat(1000)}`;
    const part = big.slice(1000, 1022);
    expect(detachString(part)).toBe('electronics.smartphone');
    expect(detachString('short')).toBe('short');
  });
});

describe('DistinctHashed', () => {
  it('counts session ids through their 52-bit hash without collisions on a large sample', () => {
    const d = new DistinctHashed();
    const seen = new Set<string>();
    let x = 7;
    const hex = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x.toString(16).padStart(8, '0');
    };
    for (let i = 0; i < 100_000; i++) {
      const id = `${hex()}-${hex().slice(0, 4)}-4${hex().slice(0, 3)}-a${hex().slice(0, 3)}-${hex()}${hex().slice(0, 4)}`;
      d.add(id);
      d.add(id);
      seen.add(id);
    }
    expect(d.size).toBe(seen.size);
    expect(hash52('a')).not.toBe(hash52('b'));
    expect(hash52('72d76fde-8bb3-4e00-8c23-a032dfed738c')).toBeLessThan(2 ** 52);
  });
});
