/**
 * The one query over the journey rollups, shared by `storepulse live`, the dashboard and the AWS
 * handlers: a time range, a grain, a top N and which traffic (everything, people only, or only what
 * detection flagged) in; the figures marketing reads out (docs/journey.md). Reads the store through
 * its contract (stores/types.ts); the merging is pure (figuresOf).
 */
import { StorepulseError } from '../errors.js';
import { isoUtc } from '../time.js';
import { HLL_RELATIVE_BOUND, HLL_SPARSE_LIMIT } from '../sketches/hll.js';
import type { RollupStore } from '../../stores/types.js';
import { Layer, RANKED, type RankBy, type Tally } from './layer.js';
import {
  Bucket,
  type Grain,
  HOUR_MS,
  hourOf,
  MINUTE_MS,
  type RollupStats,
  type StoredBucket,
} from './rollups.js';

export const TRAFFIC = ['all', 'people', 'flagged'] as const;
export type Traffic = (typeof TRAFFIC)[number];

export interface JourneyQuery {
  /** Event-time range [from, to), epoch ms. Default: the `lastMs` up to the newest event time stored. */
  from?: number;
  to?: number;
  /** Default range length when `from` is not given (default one hour). */
  lastMs?: number;
  /** Default: minute for ranges up to six hours, hour beyond. */
  grain?: Grain;
  /** Rows per top list (default 10). */
  top?: number;
  /** Default: all. */
  traffic?: Traffic;
}

export interface TopRow {
  key: string;
  events: number;
  views: number;
  carts: number;
  purchases: number;
  revenue: number;
}

export type TopLists = Record<RankBy, TopRow[]>;

const QUANTILES = [0.5, 0.9, 0.99] as const;
type QuantileFigures = { p50: number | null; p90: number | null; p99: number | null };

export interface JourneyFigures {
  range: { from: string; to: string; grain: Grain; buckets: number; final: boolean };
  traffic: Traffic;
  totals: {
    events: number;
    view: number;
    cart: number;
    purchase: number;
    remove_from_cart: number;
    /** Sum of purchase prices. */
    revenue: number;
    users: number;
    sessions: number;
    /** Events per second of event time over the range covered by buckets. */
    eventsPerSecond: number;
  };
  /** What detection flagged in the range, whichever traffic was asked for. */
  flagged: { events: number; share: number; users: number };
  /** Sessions that ended in the range, by the stage they reached (each stage needs the earlier ones). */
  funnel: {
    sessions: number;
    viewed: number;
    carted: number;
    purchased: number;
    /** Sessions with a purchase, whatever else they did. */
    withPurchase: number;
    viewToCart: number | null;
    cartToPurchase: number | null;
    viewToPurchase: number | null;
  };
  /** Sessions that carted and then went quiet for the session gap without buying. */
  abandonment: {
    sessionsWithCart: number;
    abandoned: number;
    rate: number | null;
    value: number;
    products: { product_id: number; carts: number; value: number }[];
  };
  sessions: { ended: number; lengthSeconds: QuantileFigures; events: QuantileFigures };
  top: { categories: TopLists; brands: TopLists; products: TopLists };
  series: {
    start: string;
    events: number;
    view: number;
    cart: number;
    purchase: number;
    revenue: number;
    users: number;
  }[];
  accuracy: {
    /** Distinct users and sessions: exact up to this count, beyond within ±`distinctError` (99.7%). */
    distinctExactUpTo: number;
    distinctError: number;
    /** The most a product's figure in a top list can be under its true value (0: exact). */
    productsMaxError: { views: number; carts: number; purchases: number; revenue: number };
  };
  status: (Omit<RollupStats, 'newest'> & { newest: string; updatedAt: string }) | null;
}

const SIX_HOURS = 6 * HOUR_MS;

/** The figures over a range of the store; undefined when the store holds nothing yet. */
export async function queryJourney(
  store: RollupStore,
  q: JourneyQuery = {},
): Promise<JourneyFigures | undefined> {
  const status = await store.status();
  if (!status || status.stats.newest === null) return undefined;
  const newest = status.stats.newest;
  const to = q.to ?? newest + 1;
  const from = q.from ?? to - (q.lastMs ?? HOUR_MS);
  if (!(from < to)) throw new StorepulseError('USAGE', `the range's start must be before its end`);
  const grain = q.grain ?? (to - from <= SIX_HOURS ? 'minute' : 'hour');
  let buckets: StoredBucket[];
  if (grain === 'minute') buckets = await store.range('minute', from - mod(from, MINUTE_MS), to);
  else {
    // Hours are stored once final (rollups.ts); the ones after the last final hour are their minutes.
    const hours = await store.range('hour', from - mod(from, HOUR_MS), to);
    const done = hours.length > 0 ? hours[hours.length - 1]!.start + HOUR_MS : from - mod(from, HOUR_MS);
    buckets = [...hours, ...(await store.range('minute', done, to))];
  }
  const figures = figuresOf(buckets, { ...q, from, to, grain });
  figures.status = {
    ...status.stats,
    newest: isoUtc(newest),
    updatedAt: isoUtc(status.updatedAt),
  };
  return figures;
}

/** Merges stored buckets into the figures (pure); minutes count in their hour at the hour grain. */
export function figuresOf(
  buckets: readonly StoredBucket[],
  q: { from: number; to: number; grain: Grain; top?: number; traffic?: Traffic },
): JourneyFigures {
  const traffic = q.traffic ?? 'all';
  const top = q.top ?? 10;
  const total = new Layer();
  const flagged = new Layer();
  const perBucket = new Map<number, Layer>();
  let allEvents = 0;
  for (const stored of buckets) {
    const b = Bucket.fromJSON(stored.grain, stored.start, stored.data);
    const l = pick(b, traffic);
    total.merge(l);
    allEvents += b.human.events;
    if (b.flagged) {
      flagged.merge(b.flagged);
      allEvents += b.flagged.events;
    }
    const key = q.grain === 'hour' ? hourOf(stored.start) : stored.start;
    const into = perBucket.get(key);
    if (into) into.merge(l);
    else perBucket.set(key, l);
  }
  const series: JourneyFigures['series'] = [...perBucket]
    .sort((a, b) => a[0] - b[0])
    .map(([start, l]) => ({
      start: isoUtc(start),
      events: l.events,
      view: l.types[0],
      cart: l.types[1],
      purchase: l.types[2],
      revenue: l.revenue / 100,
      users: l.users.count(),
    }));
  const [view, cart, purchase, removeFromCart] = total.types;
  const f = total.funnel;
  const size = q.grain === 'minute' ? MINUTE_MS : HOUR_MS;
  const covered = (series.length * size) / 1000;
  const cut = total.productsCut;
  return {
    range: {
      from: isoUtc(q.from),
      to: isoUtc(q.to),
      grain: q.grain,
      buckets: series.length,
      final: buckets.every((b) => b.final),
    },
    traffic,
    totals: {
      events: total.events,
      view,
      cart,
      purchase,
      remove_from_cart: removeFromCart,
      revenue: total.revenue / 100,
      users: total.users.count(),
      sessions: total.sessions.count(),
      eventsPerSecond: covered > 0 ? total.events / covered : 0,
    },
    flagged: {
      events: flagged.events,
      share: allEvents > 0 ? flagged.events / allEvents : 0,
      users: flagged.users.count(),
    },
    funnel: {
      sessions: f[0],
      viewed: f[1],
      carted: f[2],
      purchased: f[3],
      withPurchase: f[4],
      viewToCart: ratio(f[2], f[1]),
      cartToPurchase: ratio(f[3], f[2]),
      viewToPurchase: ratio(f[3], f[1]),
    },
    abandonment: {
      sessionsWithCart: f[5],
      abandoned: f[6],
      rate: ratio(f[6], f[5]),
      value: f[7] / 100,
      products: [...total.abandoned]
        .sort((a, b) => b[1][0] - a[1][0] || b[1][1] - a[1][1] || a[0] - b[0])
        .slice(0, top)
        .map(([product_id, [carts, value]]) => ({ product_id, carts, value: value / 100 })),
    },
    sessions: {
      ended: f[0],
      lengthSeconds: quantiles(total.sessionSeconds),
      events: quantiles(total.sessionEvents),
    },
    top: {
      categories: topLists(total.categories, top),
      brands: topLists(total.brands, top),
      products: topLists(total.products, top),
    },
    series,
    accuracy: {
      distinctExactUpTo: HLL_SPARSE_LIMIT,
      distinctError: HLL_RELATIVE_BOUND,
      productsMaxError: {
        views: cut?.[1] ?? 0,
        carts: cut?.[2] ?? 0,
        purchases: cut?.[3] ?? 0,
        revenue: (cut?.[4] ?? 0) / 100,
      },
    },
    status: null,
  };
}

function pick(b: Bucket, traffic: Traffic): Layer {
  if (traffic === 'people') return b.human;
  if (traffic === 'flagged') return b.flagged ?? new Layer();
  if (!b.flagged) return b.human;
  const both = new Layer();
  both.merge(b.human);
  both.merge(b.flagged);
  return both;
}

function topLists<K extends string | number>(map: Map<K, Tally>, n: number): TopLists {
  const rows = [...map];
  const out = {} as TopLists;
  for (const [name, i] of Object.entries(RANKED) as [RankBy, number][]) {
    out[name] = rows
      .filter(([, t]) => t[i]! > 0)
      .sort((a, b) => b[1][i]! - a[1][i]! || b[1][0] - a[1][0] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([key, t]) => ({
        key: String(key),
        events: t[0],
        views: t[1],
        carts: t[2],
        purchases: t[3],
        revenue: t[4] / 100,
      }));
  }
  return out;
}

/** Rounded to whole seconds and whole events: the sketch is within 1% anyway. */
function quantiles(s: Layer['sessionSeconds']): QuantileFigures {
  const [p50, p90, p99] = QUANTILES.map((q) => (s.count > 0 ? Math.round(s.quantile(q)) : null));
  return { p50: p50 ?? null, p90: p90 ?? null, p99: p99 ?? null };
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const mod = (t: number, size: number) => ((t % size) + size) % size;
