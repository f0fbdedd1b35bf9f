/** Validation of one dataset row (already split into fields) into a ClickEvent. Pure. */
import { CSV_COLUMNS, type ClickEvent, EVENT_TYPES, isEventType } from './event.js';
import { parseEventTime } from './time.js';

export const REJECT_REASONS = [
  'field_count',
  'bad_event_time',
  'bad_event_type',
  'bad_product_id',
  'bad_category_id',
  'bad_price',
  'bad_user_id',
  'line_too_long',
  'repeated_header',
  'bad_quoting',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  reason: RejectReason;
  detail: string;
}

/** Longest product_id/user_id in digits; the value must also fit a JS number exactly. */
export const ID_MAX_DIGITS = 16;
/** Longest category_id in digits (the dataset's have 19). */
export const CATEGORY_ID_MAX_DIGITS = 20;
/** Longest price text in characters. */
export const PRICE_MAX_CHARS = 24;

/** Non-negative integer in `s[from, to)` that fits a JS number exactly, or -1. */
export function parseIdIn(s: string, from: number, to: number): number {
  const n = to - from;
  if (n <= 0 || n > ID_MAX_DIGITS) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : -1;
}

function parseId(s: string): number {
  return parseIdIn(s, 0, s.length);
}

/** True when `s[from, to)` is 1 to `maxLen` ASCII digits. */
export function isDigitsIn(s: string, from: number, to: number, maxLen: number): boolean {
  const n = to - from;
  if (n <= 0 || n > maxLen) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Non-negative plain decimal (`12`, `12.5`, `0.00`), or NaN. No signs, exponents or spaces. */
export function parsePrice(s: string): number {
  return parsePriceIn(s, 0, s.length);
}

/** parsePrice of `s[from, to)`. */
export function parsePriceIn(s: string, from: number, to: number): number {
  const n = to - from;
  if (n <= 0 || n > PRICE_MAX_CHARS) return NaN;
  let dot = -1;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot !== -1 || i === from || i === to - 1) return NaN;
      dot = i;
    } else if (c < 48 || c > 57) return NaN;
    else digits = digits * 10 + (c - 48);
  }
  if (dot === -1) return digits <= Number.MAX_SAFE_INTEGER ? digits : Number(s.slice(from, to));
  // An exact integer divided by an exact power of ten is correctly rounded, so this equals Number(s)
  // (which costs several times more) while the digits fit 2^53.
  const scale = POW10[to - 1 - dot];
  return digits <= Number.MAX_SAFE_INTEGER && scale !== undefined
    ? digits / scale
    : Number(s.slice(from, to));
}

/** The index in EVENT_TYPES of the event type `s[from, to)`, or -1. */
export function eventTypeIn(s: string, from: number, to: number): number {
  for (let t = 0; t < EVENT_TYPES.length; t++) {
    const name = EVENT_TYPES[t]!;
    if (to - from === name.length && s.startsWith(name, from)) return t;
  }
  return -1;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

const HEADER_FIRST = CSV_COLUMNS[0];

/** True when the fields are the dataset's header line (which may repeat inside concatenated files). */
function isHeader(fields: readonly string[]): boolean {
  return fields[0] === HEADER_FIRST && fields[1] === CSV_COLUMNS[1];
}

/** Turns the nine fields of a row into an event, or says why not. */
export function rowToEvent(f: readonly string[]): ClickEvent | Rejection {
  if (f.length !== 9) {
    if (isHeader(f)) return { reason: 'repeated_header', detail: 'header line inside the data' };
    return { reason: 'field_count', detail: `expected 9 fields, got ${f.length}` };
  }
  // Indexed reads: array destructuring goes through the iterator protocol, measurably slower per row.
  const time = f[0]!;
  const type = f[1]!;
  const product = f[2]!;
  const category = f[3]!;
  const priceText = f[6]!;
  const user = f[7]!;
  const eventTime = parseEventTime(time);
  if (Number.isNaN(eventTime)) {
    if (isHeader(f)) return { reason: 'repeated_header', detail: 'header line inside the data' };
    return { reason: 'bad_event_time', detail: `not a UTC instant: ${JSON.stringify(time.slice(0, 40))}` };
  }
  if (!isEventType(type)) {
    return { reason: 'bad_event_type', detail: `unknown event_type ${JSON.stringify(type.slice(0, 40))}` };
  }
  const productId = parseId(product);
  if (productId < 0) {
    return { reason: 'bad_product_id', detail: `not an integer id: ${JSON.stringify(product.slice(0, 40))}` };
  }
  if (!isDigitsIn(category, 0, category.length, CATEGORY_ID_MAX_DIGITS)) {
    return { reason: 'bad_category_id', detail: `not all digits: ${JSON.stringify(category.slice(0, 40))}` };
  }
  const price = parsePrice(priceText);
  if (Number.isNaN(price)) {
    return {
      reason: 'bad_price',
      detail: `not a non-negative decimal: ${JSON.stringify(priceText.slice(0, 40))}`,
    };
  }
  const userId = parseId(user);
  if (userId < 0) {
    return { reason: 'bad_user_id', detail: `not an integer id: ${JSON.stringify(user.slice(0, 40))}` };
  }
  return {
    event_time: eventTime,
    event_type: type,
    product_id: productId,
    category_id: category,
    category_code: f[4] === '' ? null : f[4]!,
    brand: f[5] === '' ? null : f[5]!,
    price,
    user_id: userId,
    user_session: f[8] === '' ? null : f[8]!,
  };
}

export function isRejection(r: ClickEvent | Rejection): r is Rejection {
  return (r as Rejection).reason !== undefined;
}
