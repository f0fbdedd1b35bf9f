/**
 * Every report of sql/ computed again in plain JS from the events themselves, written from the
 * reports' stated rules (their SQL headers), not from their SQL. The rounding is DuckDB's: ROUND(x,
 * n) of a DOUBLE is round-half-away-from-zero of x * 10^n, divided back; money is summed in cents.
 */
import type { ClickEvent } from '../../src/core/event.js';

type Row = Record<string, unknown>;
export type Tables = Record<string, Row[]>;

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const GAP_MS = 30 * 60_000;

const round = (x: number, n: number) => Math.round(x * 10 ** n) / 10 ** n;
const ratio = (a: number, b: number, n = 4) => (b === 0 ? null : round(a / b, n));
const cents = (e: ClickEvent) => Math.round(e.price * 100);
const money = (c: number) => c / 100;
const day = (e: ClickEvent) => new Date(e.event_time).toISOString().slice(0, 10);
const category = (e: ClickEvent) => e.category_code || e.category_id;
const hasBrand = (e: ClickEvent) => e.brand !== null && e.brand !== '';
/** DuckDB's CAST(DOUBLE AS VARCHAR) for the values the reports print: 300.0, 1.37. */
const doubleText = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
const maxOf = (vals: (string | null)[]) =>
  vals.reduce<string | null>((m, v) => (v !== null && (m === null || v > m) ? v : m), null);

function groupBy<K>(events: readonly ClickEvent[], key: (e: ClickEvent) => K): Map<K, ClickEvent[]> {
  const out = new Map<K, ClickEvent[]>();
  for (const e of events) {
    const k = key(e);
    const list = out.get(k);
    if (list) list.push(e);
    else out.set(k, [e]);
  }
  return out;
}

const count = (events: readonly ClickEvent[], type: ClickEvent['event_type']) =>
  events.filter((e) => e.event_type === type).length;
const centsOf = (events: readonly ClickEvent[], type: ClickEvent['event_type']) =>
  events.filter((e) => e.event_type === type).reduce((s, e) => s + cents(e), 0);
const distinct = <T>(vals: readonly T[]) => new Set(vals.filter((v) => v !== null)).size;

/** Sorts by each key in turn: numbers, or strings in byte order (ASCII here); `-` in front: descending. */
function sortBy<T extends Row>(rows: T[], ...keys: string[]): T[] {
  return rows.sort((a, b) => {
    for (const k of keys) {
      const desc = k.startsWith('-');
      const f = desc ? k.slice(1) : k;
      const x = a[f] as number | string;
      const y = b[f] as number | string;
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  });
}

/** quantile_cont: linear interpolation at (n - 1) * q of the sorted values, as DuckDB does it. */
function quantileCont(values: number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  const rn = (v.length - 1) * q;
  const lo = Math.floor(rn);
  const hi = Math.ceil(rn);
  return lo === hi ? v[lo]! : v[lo]! + (rn - lo) * (v[hi]! - v[lo]!);
}

function uniqueVisitors(events: ClickEvent[]): Tables {
  const daily = [...groupBy(events, day)].map(([d, es]) => ({
    day: d,
    unique_visitors: distinct(es.map((e) => e.user_id)),
    sessions: distinct(es.map((e) => e.user_session)),
    events: es.length,
    purchases: count(es, 'purchase'),
    events_per_visitor: round(es.length / distinct(es.map((e) => e.user_id)), 2),
  }));
  return { daily: sortBy(daily, 'day') };
}

function cartAbandonment(events: ClickEvent[]): Tables {
  const users = [...groupBy(events, (e) => e.user_id).values()].filter((es) => count(es, 'cart') > 0);
  const usersAbandoning = users.filter((es) => count(es, 'purchase') === 0).length;
  const withSession = events.filter((e) => e.user_session !== null);
  const sessions = [...groupBy(withSession, (e) => e.user_session).values()].filter(
    (es) => count(es, 'cart') > 0,
  );
  const abandoned = sessions.filter((es) => count(es, 'purchase') === 0);
  const summary = {
    users_with_cart: users.length,
    users_abandoning: usersAbandoning,
    user_abandonment_rate: ratio(usersAbandoning, users.length),
    sessions_with_cart: sessions.length,
    sessions_abandoned: abandoned.length,
    session_abandonment_rate: ratio(abandoned.length, sessions.length),
    abandoned_value: money(abandoned.reduce((s, es) => s + centsOf(es, 'cart'), 0)),
  };
  const carts = abandoned.flat().filter((e) => e.event_type === 'cart');
  const products = [...groupBy(carts, (e) => e.product_id)].map(([id, es]) => ({
    product_id: id,
    category: maxOf(es.map((e) => e.category_code)) ?? maxOf(es.map((e) => e.category_id)),
    brand: maxOf(es.map((e) => e.brand)),
    abandoned_carts: es.length,
    sessions: distinct(es.map((e) => e.user_session)),
    users: distinct(es.map((e) => e.user_id)),
    abandoned_value: money(es.reduce((s, e) => s + cents(e), 0)),
  }));
  return {
    summary: [summary],
    top_products: sortBy(products, '-abandoned_carts', '-abandoned_value', 'product_id'),
  };
}

function sessionFunnel(events: ClickEvent[]): Tables {
  const parts: ClickEvent[][] = [];
  for (const es of groupBy(
    events.filter((e) => e.user_session !== null),
    (e) => e.user_session,
  ).values()) {
    es.sort((a, b) => a.event_time - b.event_time);
    let part: ClickEvent[] = [];
    for (const e of es) {
      if (part.length > 0 && e.event_time - part[part.length - 1]!.event_time >= GAP_MS) {
        parts.push(part);
        part = [];
      }
      part.push(e);
    }
    parts.push(part);
  }
  const stats = parts.map((p) => ({
    v: count(p, 'view') > 0,
    c: count(p, 'cart') > 0,
    p: count(p, 'purchase') > 0,
    value: centsOf(p, 'cart'),
  }));
  const n = (f: (s: (typeof stats)[number]) => boolean) => stats.filter(f).length;
  return {
    funnel: [
      {
        sessions: stats.length,
        viewed: n((s) => s.v),
        carted: n((s) => s.v && s.c),
        purchased: n((s) => s.v && s.c && s.p),
        with_purchase: n((s) => s.p),
        sessions_with_cart: n((s) => s.c),
        sessions_abandoned: n((s) => s.c && !s.p),
        abandoned_value: money(stats.filter((s) => s.c && !s.p).reduce((t, s) => t + s.value, 0)),
      },
    ],
  };
}

function topCategories(events: ClickEvent[], topN: number): Tables {
  const table = (slot: (e: ClickEvent) => number, extra: (slotValue: number) => Row) => {
    const out: Row[] = [];
    for (const [s, es] of [...groupBy(events, slot)].sort((a, b) => a[0] - b[0])) {
      const cats = [...groupBy(es, category)].map(([c, ces]) => ({
        category: c,
        events: ces.length,
        purchases: count(ces, 'purchase'),
      }));
      const byPurchases = sortBy([...cats], '-purchases', '-events', 'category');
      const ranked = sortBy(cats, '-events', '-purchases', 'category').map((c, i) => ({
        ...extra(s),
        ...c,
        share: round(c.events / es.length, 4),
        events_rank: i + 1,
        purchases_rank: byPurchases.indexOf(c) + 1,
      }));
      out.push(
        ...ranked.filter((r) => r.events_rank <= topN || (r.purchases_rank <= topN && r.purchases > 0)),
      );
    }
    return out;
  };
  const isodow = (e: ClickEvent) => new Date(e.event_time).getUTCDay() || 7;
  return {
    by_hour: table(
      (e) => new Date(e.event_time).getUTCHours(),
      (h) => ({ hour_utc: h }),
    ),
    by_weekday: table(isodow, (d) => ({ weekday: d, weekday_name: DAY_NAMES[d % 7] })),
  };
}

function brandsNeedingMarketing(events: ClickEvent[]): Tables {
  const MIN_VIEWS = 100;
  const brands = [...groupBy(events.filter(hasBrand), (e) => e.brand!)].map(([brand, es]) => ({
    brand,
    views: count(es, 'view'),
    carts: count(es, 'cart'),
    purchases: count(es, 'purchase'),
    revenue: centsOf(es, 'purchase'),
  }));
  const eligible = brands
    .filter((b) => b.views >= MIN_VIEWS)
    .map((b) => ({ ...b, conversion: b.purchases / b.views }));
  const cut =
    eligible.length > 0
      ? quantileCont(
          eligible.map((b) => b.views),
          0.75,
        )
      : null;
  const median =
    eligible.length > 0
      ? quantileCont(
          eligible.map((b) => b.conversion),
          0.5,
        )
      : null;
  const flagged = eligible
    .filter((b) => cut !== null && median !== null && b.views >= cut && b.conversion < median)
    .map((b) => ({
      brand: b.brand,
      views: b.views,
      carts: b.carts,
      purchases: b.purchases,
      conversion: round(b.conversion, 4),
      revenue: money(b.revenue),
      reason:
        `views ${b.views} in the top quartile (>= ${doubleText(round(cut!, 1))}); view-to-purchase ` +
        `${doubleText(round(100 * b.conversion, 2))}% below the brand median ${doubleText(round(100 * median!, 2))}%`,
    }));
  return {
    flagged: sortBy(flagged, '-views', 'brand'),
    thresholds: [
      {
        brands: brands.length,
        brands_considered: eligible.length,
        min_views: MIN_VIEWS,
        views_cut: cut,
        median_conversion: median === null ? null : round(median, 4),
      },
    ],
  };
}

function conversionFunnel(events: ClickEvent[]): Tables {
  const daily = [...groupBy(events, day)].map(([d, es]) => {
    const users = [...groupBy(es, (e) => e.user_id).values()].map((ues) => ({
      v: count(ues, 'view') > 0,
      c: count(ues, 'cart') > 0,
      b: count(ues, 'purchase') > 0,
    }));
    const n = (f: (u: (typeof users)[number]) => boolean) => users.filter(f).length;
    const [viewed, carted, purchased, buyers] = [
      n((u) => u.v),
      n((u) => u.v && u.c),
      n((u) => u.v && u.c && u.b),
      n((u) => u.b),
    ];
    return {
      day: d,
      visitors: users.length,
      viewed,
      carted,
      purchased,
      buyers,
      view_to_cart: ratio(carted, viewed),
      cart_to_purchase: ratio(purchased, carted),
      conversion: ratio(buyers, users.length),
      revenue: money(centsOf(es, 'purchase')),
    };
  });
  return { daily: sortBy(daily, 'day') };
}

function sellers(events: ClickEvent[], topN: number): Tables {
  const products = [...groupBy(events, (e) => e.product_id)].map(([id, es]) => {
    const views = count(es, 'view');
    const purchases = count(es, 'purchase');
    return {
      product_id: id,
      category: maxOf(es.map((e) => e.category_code)) ?? maxOf(es.map((e) => e.category_id)),
      brand: maxOf(es.map((e) => e.brand)),
      views,
      carts: count(es, 'cart'),
      purchases,
      revenue: money(centsOf(es, 'purchase')),
      conversion: ratio(purchases, views),
    };
  });
  return {
    top: sortBy(
      products.filter((p) => p.purchases > 0),
      '-revenue',
      '-purchases',
      'product_id',
    ).slice(0, topN),
    bottom: sortBy(
      products.filter((p) => p.views > 0),
      'purchases',
      'revenue',
      '-views',
      'product_id',
    ).slice(0, topN),
  };
}

function frequentVisitors(events: ClickEvent[], topN: number): Tables {
  const users = [...groupBy(events, (e) => e.user_id)].map(([id, es]) => ({
    user_id: id,
    visits: distinct(es.map((e) => e.user_session)),
    active_days: distinct(es.map(day)),
    events: es.length,
    views: count(es, 'view'),
    carts: count(es, 'cart'),
    purchases: count(es, 'purchase'),
    revenue: money(centsOf(es, 'purchase')),
    first_seen: new Date(Math.min(...es.map((e) => e.event_time))).toISOString(),
    last_seen: new Date(Math.max(...es.map((e) => e.event_time))).toISOString(),
  }));
  return { visitors: sortBy(users, '-visits', '-active_days', '-events', 'user_id').slice(0, topN) };
}

function revenueByCategoryBrand(events: ClickEvent[], topN: number): Tables {
  const bought = events.filter((e) => e.event_type === 'purchase');
  const total = bought.reduce((s, e) => s + cents(e), 0);
  const table = (
    rows: ClickEvent[],
    key: (e: ClickEvent) => string,
    keys: (e: ClickEvent) => Row,
    order: string[],
  ) =>
    sortBy(
      [...groupBy(rows, key).values()].map((es) => {
        const c = es.reduce((s, e) => s + cents(e), 0);
        return {
          ...keys(es[0]!),
          purchases: es.length,
          buyers: distinct(es.map((e) => e.user_id)),
          revenue: money(c),
          avg_price: round(money(c) / es.length, 2),
          share: total === 0 ? null : round(money(c) / money(total), 4),
        };
      }),
      '-revenue',
      '-purchases',
      ...order,
    ).slice(0, topN);
  const branded = bought.filter(hasBrand);
  return {
    by_category: table(bought, category, (e) => ({ category: category(e) }), ['category']),
    by_brand: table(
      branded,
      (e) => e.brand!,
      (e) => ({ brand: e.brand }),
      ['brand'],
    ),
    by_category_brand: table(
      branded,
      (e) => `${category(e)}\u0000${e.brand}`,
      (e) => ({ category: category(e), brand: e.brand }),
      ['category', 'brand'],
    ),
  };
}

/** The tables of report `name` over these events, with `topN` for the reports that rank (their default when undefined). */
export function mirrorReport(name: string, events: ClickEvent[], topN?: number): Tables {
  switch (name) {
    case 'unique_visitors':
      return uniqueVisitors(events);
    case 'cart_abandonment':
      return cartAbandonment(events);
    case 'session_funnel':
      return sessionFunnel(events);
    case 'top_categories':
      return topCategories(events, topN ?? 3);
    case 'brands_needing_marketing':
      return brandsNeedingMarketing(events);
    case 'conversion_funnel':
      return conversionFunnel(events);
    case 'sellers':
      return sellers(events, topN ?? 10);
    case 'frequent_visitors':
      return frequentVisitors(events, topN ?? 20);
    case 'revenue_by_category_brand':
      return revenueByCategoryBrand(events, topN ?? 15);
    default:
      throw new Error(`no mirror for report ${name}`);
  }
}
