/**
 * The journey figures of one class of traffic (people, or what detection flagged) in one time
 * bucket: what the live rollups add up per minute and per hour (rollups.ts) and what the query
 * merges over a range (query.ts). Counts and money are exact (money in integer cents, so sums do not
 * depend on the order of addition); distinct users and sessions are HyperLogLog sketches (exact up to
 * 4096); session length and events per session are DDSketches. See docs/journey.md.
 */
import type { ClickEvent } from '../event.js';
import { HyperLogLog } from '../sketches/hll.js';
import { Quantiles } from '../sketches/quantiles.js';

/** Per category, brand or product: [events, views, carts, purchases, revenue in cents]. */
export type Tally = [number, number, number, number, number];
/** The measures a top list ranks by (index into Tally). */
export const RANKED = { views: 1, carts: 2, purchases: 3, revenue: 4 } as const;
export type RankBy = keyof typeof RANKED;

/** A session as the rollups see it when it ends (quiet for the session gap). */
export interface ClosedSession {
  first: number;
  last: number;
  events: number;
  viewed: boolean;
  /** Cart events: [product_id, price in cents] each. */
  carts: [number, number][];
  purchased: boolean;
}

export interface LayerJSON {
  t: [number, number, number, number];
  rev: number;
  u: string;
  s: string;
  /** Tallies flattened: key, then its values, for each key (one array: far cheaper to write and read). */
  cat: (string | number)[];
  br: (string | number)[];
  pr: number[];
  /** Products left out by a top-K cut: the largest value of each measure they could have. */
  prCut?: Tally;
  f: [number, number, number, number, number, number, number, number];
  ap: number[];
  apCut?: [number, number];
  sl: string;
  se: string;
}

export const cents = (price: number) => Math.round(price * 100);

/** The category a report groups by: the code, or the id when the code is empty (top_categories.sql). */
const categoryOf = (e: ClickEvent) => (e.category_code ? e.category_code : e.category_id);

function bump<K>(map: Map<K, Tally>, key: K, type: number, money: number): void {
  let t = map.get(key);
  if (!t) map.set(key, (t = [0, 0, 0, 0, 0]));
  t[0]++;
  if (type < 4) t[type] = t[type]! + 1;
  t[4] += money;
}

const TYPE_INDEX = { view: 1, cart: 2, purchase: 3, remove_from_cart: 4 } as const;

export class Layer {
  /** Events by type: view, cart, purchase, remove_from_cart (TYPE_INDEX − 1). */
  readonly types: [number, number, number, number] = [0, 0, 0, 0];
  /** Revenue: the price of purchase events, in cents. */
  revenue = 0;
  users = new HyperLogLog();
  sessions = new HyperLogLog();
  categories = new Map<string, Tally>();
  brands = new Map<string, Tally>();
  products = new Map<number, Tally>();
  productsCut: Tally | undefined;
  // Sessions that ended in this bucket (attributed to the bucket of their last event).
  /** [ended, viewed, viewed+carted, viewed+carted+purchased, any purchase, with a cart, abandoned, abandoned cents] */
  readonly funnel: [number, number, number, number, number, number, number, number] = [
    0, 0, 0, 0, 0, 0, 0, 0,
  ];
  /** Cart events of abandoned sessions per product: [carts, cents]. */
  abandoned = new Map<number, [number, number]>();
  abandonedCut: [number, number] | undefined;
  sessionSeconds = new Quantiles();
  sessionEvents = new Quantiles();

  addEvent(e: ClickEvent): void {
    const type = TYPE_INDEX[e.event_type];
    const money = type === 3 ? cents(e.price) : 0;
    this.types[type - 1] = this.types[type - 1]! + 1;
    this.revenue += money;
    this.users.addNumber(e.user_id);
    if (e.user_session) this.sessions.addString(e.user_session);
    bump(this.categories, categoryOf(e), type, money);
    if (e.brand) bump(this.brands, e.brand, type, money);
    bump(this.products, e.product_id, type, money);
  }

  addSession(s: ClosedSession): void {
    const f = this.funnel;
    f[0]++;
    if (s.viewed) {
      f[1]++;
      if (s.carts.length > 0) {
        f[2]++;
        if (s.purchased) f[3]++;
      }
    }
    if (s.purchased) f[4]++;
    if (s.carts.length > 0) {
      f[5]++;
      if (!s.purchased) {
        f[6]++;
        for (const [product, money] of s.carts) {
          f[7] += money;
          let a = this.abandoned.get(product);
          if (!a) this.abandoned.set(product, (a = [0, 0]));
          a[0]++;
          a[1] += money;
        }
      }
    }
    this.sessionSeconds.add((s.last - s.first) / 1000);
    this.sessionEvents.add(s.events);
  }

  merge(o: Layer): void {
    for (let i = 0; i < 4; i++) this.types[i]! += o.types[i]!;
    this.revenue += o.revenue;
    this.users.merge(o.users);
    this.sessions.merge(o.sessions);
    mergeTallies(this.categories, o.categories);
    mergeTallies(this.brands, o.brands);
    mergeTallies(this.products, o.products);
    this.productsCut = addCuts(this.productsCut, o.productsCut);
    for (let i = 0; i < 8; i++) this.funnel[i]! += o.funnel[i]!;
    for (const [k, v] of o.abandoned) {
      const a = this.abandoned.get(k);
      if (a) {
        a[0] += v[0];
        a[1] += v[1];
      } else this.abandoned.set(k, [v[0], v[1]]);
    }
    this.abandonedCut = addCuts(this.abandonedCut, o.abandonedCut);
    this.sessionSeconds.merge(o.sessionSeconds);
    this.sessionEvents.merge(o.sessionEvents);
  }

  get events(): number {
    return this.types[0] + this.types[1] + this.types[2] + this.types[3];
  }

  /**
   * The layer as a JSON value. With `topK`, products (and abandoned products) keep only the top K by each
   * measure, exact, and the cut records the largest value a left-out product can have: a bucket's
   * stored top lists are exact, a top list over many buckets is off by at most the sum of their cuts.
   */
  toJSON(topK?: number): LayerJSON {
    const pr = topOf(this.products, topK, [1, 2, 3, 4]);
    const ap = topOf(this.abandoned, topK, [0, 1]);
    return {
      t: [...this.types],
      rev: this.revenue,
      u: this.users.toJSON(),
      s: this.sessions.toJSON(),
      cat: flat(this.categories),
      br: flat(this.brands),
      pr: flat(pr.kept),
      prCut: addCuts(this.productsCut, pr.cut as Tally | undefined),
      f: [...this.funnel],
      ap: flat(ap.kept),
      apCut: addCuts(this.abandonedCut, ap.cut as [number, number] | undefined),
      sl: this.sessionSeconds.toJSON(),
      se: this.sessionEvents.toJSON(),
    };
  }

  static fromJSON(j: LayerJSON): Layer {
    const l = new Layer();
    for (let i = 0; i < 4; i++) l.types[i] = j.t[i]!;
    l.revenue = j.rev;
    l.users = HyperLogLog.fromJSON(j.u);
    l.sessions = HyperLogLog.fromJSON(j.s);
    l.categories = unflat(j.cat, 5) as Map<string, Tally>;
    l.brands = unflat(j.br, 5) as Map<string, Tally>;
    l.products = unflat(j.pr, 5) as Map<number, Tally>;
    l.productsCut = j.prCut;
    for (let i = 0; i < 8; i++) l.funnel[i] = j.f[i]!;
    l.abandoned = unflat(j.ap, 2) as Map<number, [number, number]>;
    l.abandonedCut = j.apCut;
    l.sessionSeconds = Quantiles.fromJSON(j.sl);
    l.sessionEvents = Quantiles.fromJSON(j.se);
    return l;
  }
}

function flat<K extends string | number>(entries: Iterable<[K, number[]]>): (K | number)[] {
  const out: (K | number)[] = [];
  for (const [k, v] of entries) out.push(k, ...v);
  return out;
}

function unflat<K extends string | number>(a: readonly (K | number)[], width: number): Map<K, number[]> {
  const m = new Map<K, number[]>();
  for (let i = 0; i < a.length; i += width + 1) m.set(a[i] as K, a.slice(i + 1, i + 1 + width) as number[]);
  return m;
}

function mergeTallies<K>(into: Map<K, Tally>, from: Map<K, Tally>): void {
  for (const [k, v] of from) {
    const t = into.get(k);
    if (t) for (let i = 0; i < 5; i++) t[i]! += v[i]!;
    else into.set(k, [v[0], v[1], v[2], v[3], v[4]]);
  }
}

function addCuts<T extends number[]>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b && (b.slice() as T);
  if (!b) return a.slice() as T;
  return a.map((x, i) => x + b[i]!) as T;
}

/**
 * The entries among the top `k` by any of the measures at `by` (ties broken by key), and per measure
 * the largest value among the entries left out (no cut when nothing is left out).
 */
function topOf<K extends number | string, V extends number[]>(
  map: Map<K, V>,
  k: number | undefined,
  by: readonly number[],
): { kept: Iterable<[K, V]>; cut: number[] | undefined } {
  if (k === undefined || map.size <= k) return { kept: map, cut: undefined };
  const entries = [...map];
  const keep = new Set<K>();
  const width = entries[0]![1].length;
  const cut = new Array<number>(width).fill(0);
  for (const i of by) {
    entries.sort((a, b) => b[1][i]! - a[1][i]! || (a[0] < b[0] ? -1 : 1));
    for (let n = 0; n < k; n++) keep.add(entries[n]![0]);
  }
  const kept: [K, V][] = [];
  for (const [key, v] of entries) {
    if (keep.has(key)) kept.push([key, v]);
    else for (let i = 0; i < width; i++) cut[i] = Math.max(cut[i]!, v[i]!);
  }
  return { kept, cut };
}
