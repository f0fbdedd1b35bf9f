/** The data contract: one REES46 row plus the simulator's `txn_timestamp`. See docs/data-contract.md. */
export const EVENT_TYPES = ['view', 'cart', 'remove_from_cart', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CSV_COLUMNS = [
  'event_time',
  'event_type',
  'product_id',
  'category_id',
  'category_code',
  'brand',
  'price',
  'user_id',
  'user_session',
] as const;

export const CSV_HEADER = CSV_COLUMNS.join(',');

/** One CSV field as RFC 4180 writes it: quoted (quotes doubled) only when it holds `"`, `,` or a line end. */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface ClickEvent {
  /** UTC instant, epoch milliseconds. */
  event_time: number;
  event_type: EventType;
  product_id: number;
  /** 19-digit id above 2^53: always a string of digits, never a number. */
  category_id: string;
  category_code: string | null;
  brand: string | null;
  price: number;
  user_id: number;
  user_session: string | null;
  /** Set by the simulator at send time, epoch milliseconds. */
  txn_timestamp?: number;
}

export function isEventType(s: string): s is EventType {
  return s === 'view' || s === 'cart' || s === 'purchase' || s === 'remove_from_cart';
}
