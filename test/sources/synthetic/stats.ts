/** Measures a generated data set the way the published REES46 figures were measured. Test helper. */
import type { ClickEvent } from '../../../src/core/event.js';

export interface DatasetStats {
  rows: number;
  mix: Record<string, number>;
  emptyCode: number;
  emptyBrand: number;
  emptySession: number;
  codeShare: Map<string, number>;
  brandShare: Map<string, number>;
  depth: Record<number, number>;
  hourShare: number[];
  categoryIds: number;
  categoryIdsAll19Digits: boolean;
  codes: number;
  brands: number;
  products: number;
  top1: number;
  top10: number;
  sessionSize: {
    median: number;
    p75: number;
    p90: number;
    p99: number;
    mean: number;
    single: number;
    max: number;
  };
  sessionSeconds: { median: number; p75: number; p90: number; mean: number };
  sessionsPerUser: { median: number; mean: number; single: number };
  funnel: {
    purchaseSessions: number;
    purchaseWithoutCart: number;
    cartToPurchase: number;
    viewToCart: number;
  };
  price: {
    p5: number;
    p25: number;
    median: number;
    p75: number;
    p90: number;
    p95: number;
    p99: number;
    mean: number;
  };
  zeroPrice: number;
  zeroPricePurchases: number;
  duplicates: number;
  duplicateCartShare: number;
  /** Users (and their share) with more than 5 events in some 10 s tumbling window. */
  fastUsers: number;
  fastUserShare: number;
  /** Sessions with more than 5 events in some 10 s tumbling window, as a share of sessions. */
  fastSessionShare: number;
}

function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function inc<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

export function measure(events: readonly ClickEvent[]): DatasetStats {
  const n = events.length;
  const mix: Record<string, number> = { view: 0, cart: 0, remove_from_cart: 0, purchase: 0 };
  let emptyCode = 0;
  let emptyBrand = 0;
  let emptySession = 0;
  const codeShare = new Map<string, number>();
  const brandShare = new Map<string, number>();
  const depth: Record<number, number> = { 2: 0, 3: 0, 4: 0 };
  const hours = new Array<number>(24).fill(0);
  const categoryIds = new Set<string>();
  let all19 = true;
  const views = new Map<number, number>();
  const prices: number[] = [];
  let zeroPrice = 0;
  let zeroPricePurchases = 0;
  const rows = new Set<string>();
  let duplicates = 0;
  let duplicateCarts = 0;
  interface Sess {
    first: number;
    last: number;
    size: number;
    user: number;
    cart: boolean;
    purchase: boolean;
    view: boolean;
  }
  const sessions = new Map<string, Sess>();
  const userSessions = new Map<number, Set<string>>();
  const userWindows = new Map<string, number>();
  const sessionWindows = new Map<string, number>();
  let priceSum = 0;

  for (const e of events) {
    mix[e.event_type] = (mix[e.event_type] ?? 0) + 1;
    if (e.category_code === null) emptyCode++;
    else {
      inc(codeShare, e.category_code);
      const d = e.category_code.split('.').length;
      depth[d] = (depth[d] ?? 0) + 1;
    }
    if (e.brand === null) emptyBrand++;
    else inc(brandShare, e.brand);
    hours[new Date(e.event_time).getUTCHours()]!++;
    categoryIds.add(e.category_id);
    if (!/^\d{19}$/.test(e.category_id)) all19 = false;
    if (e.event_type === 'view') inc(views, e.product_id);
    prices.push(e.price);
    priceSum += e.price;
    if (e.price === 0) {
      zeroPrice++;
      if (e.event_type === 'purchase') zeroPricePurchases++;
    }
    const key = `${e.event_time}|${e.event_type}|${e.product_id}|${e.user_id}|${e.user_session}|${e.price}`;
    if (rows.has(key)) {
      duplicates++;
      if (e.event_type === 'cart') duplicateCarts++;
    } else rows.add(key);
    const window = Math.floor(e.event_time / 10_000);
    const uw = `${e.user_id}|${window}`;
    userWindows.set(uw, (userWindows.get(uw) ?? 0) + 1);
    if (e.user_session === null) {
      emptySession++;
      continue;
    }
    const sw = `${e.user_session}|${window}`;
    sessionWindows.set(sw, (sessionWindows.get(sw) ?? 0) + 1);
    let s = sessions.get(e.user_session);
    if (!s) {
      s = {
        first: e.event_time,
        last: e.event_time,
        size: 0,
        user: e.user_id,
        cart: false,
        purchase: false,
        view: false,
      };
      sessions.set(e.user_session, s);
      let us = userSessions.get(e.user_id);
      if (!us) userSessions.set(e.user_id, (us = new Set()));
      us.add(e.user_session);
    }
    s.size++;
    s.last = e.event_time;
    if (e.event_type === 'cart') s.cart = true;
    if (e.event_type === 'purchase') s.purchase = true;
    if (e.event_type === 'view') s.view = true;
  }

  const share = <K>(m: Map<K, number>) => new Map([...m].map(([k, v]) => [k, v / n] as [K, number]));
  const viewCounts = [...views.values()].sort((a, b) => b - a);
  const totalViews = viewCounts.reduce((a, b) => a + b, 0);
  const topShare = (f: number) => {
    const k = Math.max(1, Math.round(viewCounts.length * f));
    let t = 0;
    for (let i = 0; i < k; i++) t += viewCounts[i]!;
    return t / totalViews;
  };
  const sess = [...sessions.values()];
  const sizes = Float64Array.from(sess.map((s) => s.size)).sort();
  const secs = Float64Array.from(sess.map((s) => (s.last - s.first) / 1000)).sort();
  const perUser = Float64Array.from([...userSessions.values()].map((s) => s.size)).sort();
  const sortedPrices = Float64Array.from(prices).sort();
  const purchaseSessions = sess.filter((s) => s.purchase);
  const cartSessions = sess.filter((s) => s.cart);
  const viewSessions = sess.filter((s) => s.view);
  const fastUsers = new Set<number>();
  for (const [k, c] of userWindows) if (c > 5) fastUsers.add(Number(k.split('|')[0]));
  const fastSessions = new Set<string>();
  for (const [k, c] of sessionWindows) if (c > 5) fastSessions.add(k.split('|')[0]!);
  const mean = (a: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]!;
    return s / a.length;
  };

  return {
    rows: n,
    mix: Object.fromEntries(Object.entries(mix).map(([k, v]) => [k, v / n])),
    emptyCode: emptyCode / n,
    emptyBrand: emptyBrand / n,
    emptySession,
    codeShare: share(codeShare),
    brandShare: share(brandShare),
    depth: Object.fromEntries(Object.entries(depth).map(([k, v]) => [k, v / n])) as Record<number, number>,
    hourShare: hours.map((h) => h / n),
    categoryIds: categoryIds.size,
    categoryIdsAll19Digits: all19,
    codes: codeShare.size,
    brands: brandShare.size,
    products: views.size,
    top1: topShare(0.01),
    top10: topShare(0.1),
    sessionSize: {
      median: percentile(sizes, 0.5),
      p75: percentile(sizes, 0.75),
      p90: percentile(sizes, 0.9),
      p99: percentile(sizes, 0.99),
      mean: mean(sizes),
      single: sizes.filter((s) => s === 1).length / sizes.length,
      max: sizes[sizes.length - 1]!,
    },
    sessionSeconds: {
      median: percentile(secs, 0.5),
      p75: percentile(secs, 0.75),
      p90: percentile(secs, 0.9),
      mean: mean(secs),
    },
    sessionsPerUser: {
      median: percentile(perUser, 0.5),
      mean: mean(perUser),
      single: perUser.filter((s) => s === 1).length / perUser.length,
    },
    funnel: {
      purchaseSessions: purchaseSessions.length / sess.length,
      purchaseWithoutCart: purchaseSessions.filter((s) => !s.cart).length / purchaseSessions.length,
      cartToPurchase: cartSessions.filter((s) => s.purchase).length / cartSessions.length,
      viewToCart: viewSessions.filter((s) => s.cart).length / viewSessions.length,
    },
    price: {
      p5: percentile(sortedPrices, 0.05),
      p25: percentile(sortedPrices, 0.25),
      median: percentile(sortedPrices, 0.5),
      p75: percentile(sortedPrices, 0.75),
      p90: percentile(sortedPrices, 0.9),
      p95: percentile(sortedPrices, 0.95),
      p99: percentile(sortedPrices, 0.99),
      mean: priceSum / n,
    },
    zeroPrice: zeroPrice / n,
    zeroPricePurchases,
    duplicates: duplicates / n,
    duplicateCartShare: duplicates > 0 ? duplicateCarts / duplicates : 0,
    fastUsers: fastUsers.size,
    fastUserShare: fastUsers.size / userSessions.size,
    fastSessionShare: fastSessions.size / sessions.size,
  };
}

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error(`unterminated quote in ${line}`);
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
    } else {
      const c = line.indexOf(',', i);
      out.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) break;
    i++; // the comma
    if (i === line.length) {
      out.push('');
      break;
    }
  }
  return out;
}

export interface UserStats {
  /** Per UTC day (ms of its midnight), in order: distinct users and distinct sessions with an event that day. */
  days: { day: number; users: number; sessions: number }[];
  /** Sessions per user over the whole data set. */
  sessionsPerUser: { median: number; mean: number; single: number };
  /**
   * Share of the users active on a day who are active again the next day / 7 days later, over the days
   * (but the last) for which that day is in the data set and not the last one. `cohort`: the same for
   * the users first seen that day (the first day excluded).
   */
  nextDay: number;
  day7: number;
  cohortNextDay: number;
  cohortDay7: number;
}

const DAY_MS = 86_400_000;

/** Daily active users, sessions per user and return rates, streaming (keeps users and sessions, not rows). */
export function measureUsers(events: Iterable<ClickEvent>): UserStats {
  const byDay = new Map<number, { users: Set<number>; sessions: Set<string> }>();
  const sessionsOf = new Map<number, number>();
  const firstDay = new Map<number, number>();
  const seen = new Set<string>();
  for (const e of events) {
    const day = Math.floor(e.event_time / DAY_MS);
    let d = byDay.get(day);
    if (!d) byDay.set(day, (d = { users: new Set(), sessions: new Set() }));
    d.users.add(e.user_id);
    if (!firstDay.has(e.user_id)) firstDay.set(e.user_id, day);
    if (e.user_session === null) continue;
    d.sessions.add(e.user_session);
    if (!seen.has(e.user_session)) {
      seen.add(e.user_session);
      sessionsOf.set(e.user_id, (sessionsOf.get(e.user_id) ?? 0) + 1);
    }
  }
  const dayList = [...byDay.keys()].sort((a, b) => a - b);
  const first = dayList[0]!;
  const last = dayList[dayList.length - 1]!;
  const ret = (k: number, cohort: boolean): number => {
    let active = 0;
    let back = 0;
    for (const day of dayList) {
      if (day + k >= last || (cohort && day === first)) continue;
      const later = byDay.get(day + k)?.users;
      for (const u of byDay.get(day)!.users) {
        if (cohort && firstDay.get(u) !== day) continue;
        active++;
        if (later?.has(u)) back++;
      }
    }
    return active > 0 ? back / active : NaN;
  };
  const perUser = Float64Array.from(sessionsOf.values()).sort();
  let total = 0;
  for (const n of perUser) total += n;
  return {
    days: dayList.map((day) => ({
      day: day * DAY_MS,
      users: byDay.get(day)!.users.size,
      sessions: byDay.get(day)!.sessions.size,
    })),
    sessionsPerUser: {
      median: percentile(perUser, 0.5),
      mean: total / perUser.length,
      single: perUser.filter((n) => n === 1).length / perUser.length,
    },
    nextDay: ret(1, false),
    day7: ret(7, false),
    cohortNextDay: ret(1, true),
    cohortDay7: ret(7, true),
  };
}
