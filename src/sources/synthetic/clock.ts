/** Traffic intensity over time: the published hourly curve times a weekday factor, at a daily volume. */
import { ARRIVAL_SHARES, HOUR_SHARES, WEEKDAY_FACTORS } from './profile.js';
import { DAY, HOUR } from './session.js';

function normalise(shares: readonly number[]): number[] {
  const total = shares.reduce((a, b) => a + b, 0);
  return shares.map((s) => s / total);
}

const HOUR_NORM = normalise(HOUR_SHARES);
/** Session starts by hour: fitted so that events, which trail their session's start, follow HOUR_SHARES. */
export const ARRIVAL_NORM = normalise(ARRIVAL_SHARES);
const WEEK_MEAN = WEEKDAY_FACTORS.reduce((a, b) => a + b, 0) / 7;
const WEEK_NORM = WEEKDAY_FACTORS.map((f) => f / WEEK_MEAN);

/** Expected events per millisecond at instant `t` for a store doing `perDay` events a day on average. */
export function eventRate(t: number, perDay: number): number {
  return rate(t, perDay, HOUR_NORM);
}

/** Expected events per millisecond belonging to sessions that start at `t` (see ARRIVAL_NORM). */
export function startRate(t: number, perDay: number): number {
  return rate(t, perDay, ARRIVAL_NORM);
}

function rate(t: number, perDay: number, hours: readonly number[]): number {
  const h = Math.floor(t / HOUR);
  const hourOfDay = ((h % 24) + 24) % 24;
  const day = Math.floor(t / DAY);
  const dow = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  return (perDay * hours[hourOfDay]! * WEEK_NORM[dow]!) / HOUR;
}

/** Start of the hour after `t`. */
export function nextHour(t: number): number {
  return (Math.floor(t / HOUR) + 1) * HOUR;
}

/** Expected events in [a, b). */
export function eventsBetween(a: number, b: number, perDay: number): number {
  let n = 0;
  let t = a;
  while (t < b) {
    const end = Math.min(b, nextHour(t));
    n += eventRate(t, perDay) * (end - t);
    t = end;
  }
  return n;
}

/** The instant by which `n` events are expected, starting at `a`. */
export function timeForEvents(a: number, n: number, perDay: number): number {
  let left = n;
  let t = a;
  for (;;) {
    const end = nextHour(t);
    const here = eventRate(t, perDay) * (end - t);
    if (here >= left) return t + left / eventRate(t, perDay);
    left -= here;
    t = end;
  }
}
