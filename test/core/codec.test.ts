import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord } from '../../src/core/codec.js';
import type { ClickEvent } from '../../src/core/event.js';

const event: ClickEvent = {
  event_time: Date.UTC(2019, 10, 1, 8, 30, 0),
  event_type: 'cart',
  product_id: 1005115,
  category_id: '2053013555631882655',
  category_code: 'electronics.smartphone',
  brand: 'apple',
  price: 975.57,
  user_id: 512386086,
  user_session: 'fd3b1ec2-24bc-4a2c-bd6f-5c7bd2b4b8d4',
  txn_timestamp: Date.UTC(2026, 10, 27, 12, 0, 0, 5),
};

describe('stream record codec', () => {
  it('writes exactly the reference field names, category_id as a string', () => {
    const json = encodeRecord(event);
    expect(Object.keys(JSON.parse(json)).join(',')).toBe(
      'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session,txn_timestamp',
    );
    expect(json).toContain('"category_id":"2053013555631882655"');
    expect(json).toContain('"event_time":"2019-11-01 08:30:00 UTC"');
    expect(json).toContain('"txn_timestamp":"2026-11-27T12:00:00.005Z"');
  });

  it('round-trips', () => {
    expect(decodeRecord(encodeRecord(event))).toEqual(event);
  });

  it('reads a reference simulator record (numeric category_id, zone-less isoformat)', () => {
    const ref =
      '{"event_time": "2019-11-01 08:30:00 UTC", "event_type": "cart", "product_id": 1005115, ' +
      '"category_id": 2053013555631882655, "category_code": "electronics.smartphone", "brand": "apple", ' +
      '"price": 975.57, "user_id": 512386086, "user_session": "fd3b1ec2-24bc-4a2c-bd6f-5c7bd2b4b8d4", ' +
      '"txn_timestamp": "2026-11-27T12:00:00.005000"}';
    expect(decodeRecord(ref)).toEqual(event);
  });

  it('decodes any JSON layout of a record to the same event', () => {
    const variants: ClickEvent[] = [
      event,
      { ...event, brand: 'a "quoted" \\ brand', category_code: null, user_session: null },
      { ...event, price: 0, txn_timestamp: undefined },
      { ...event, event_type: 'remove_from_cart', brand: 'łódź' },
    ];
    for (const v of variants) {
      const compact = encodeRecord(v);
      const spaced = JSON.stringify(JSON.parse(compact), null, 1);
      const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(compact)).reverse()));
      const expected = { ...v };
      if (expected.txn_timestamp === undefined) delete expected.txn_timestamp;
      for (const json of [compact, spaced, reordered]) expect(decodeRecord(json)).toEqual(expected);
    }
  });

  it('validates every field of a record', () => {
    const compact = encodeRecord(event);
    expect(decodeRecord(compact.replace('"price":975.57', '"price":-1'))).toMatchObject({
      reason: 'bad_price',
    });
    expect(decodeRecord(compact.replace('"user_id":512386086', '"user_id":null'))).toMatchObject({
      reason: 'bad_user_id',
    });
    expect(
      decodeRecord(
        compact.replace('"category_id":"2053013555631882655"', '"category_id":2053013555631882655'),
      ),
    ).toEqual(event);
    expect(decodeRecord(compact.replace('2026-11-27T12:00:00.005Z', 'soon'))).toMatchObject({
      reason: 'bad_event_time',
    });
  });

  it('rejects bad records with a reason', () => {
    expect(decodeRecord('{not json')).toMatchObject({ reason: 'field_count' });
    expect(decodeRecord(encodeRecord({ ...event }).replace('"cart"', '"hover"'))).toMatchObject({
      reason: 'bad_event_type',
    });
    expect(decodeRecord('null')).toMatchObject({ reason: 'field_count' });
  });
});
