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

/** The example row of the dataset's published profile, and the event it must become. */
export const EXAMPLE_ROW =
  '2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c';

export const EXAMPLE_EVENT: ClickEvent = {
  event_time: Date.UTC(2019, 9, 1),
  event_type: 'view',
  product_id: 44600062,
  category_id: '2103807459595387724',
  category_code: null,
  brand: 'shiseido',
  price: 35.79,
  user_id: 541312140,
  user_session: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
};
