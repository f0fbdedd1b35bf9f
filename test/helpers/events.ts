import type { ClickEvent } from '../../src/core/event.js';

export const T0 = Date.UTC(2019, 9, 1, 10, 0, 0);

/** A view by `user` at `T0 + ms`, every other field fixed. */
export function ev(user: number, ms: number, over: Partial<ClickEvent> = {}): ClickEvent {
  return {
    event_time: T0 + ms,
    event_type: 'view',
    product_id: 1000 + (user % 7),
    category_id: '2053013555631882655',
    category_code: 'electronics.smartphone',
    brand: 'samsung',
    price: 100.5,
    user_id: user,
    user_session: `s-${user}`,
    ...over,
  };
}
