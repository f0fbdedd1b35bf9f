/**
 * What `storepulse inspect` reports about a data set: event mix, time range, price range, exact
 * distinct counts. Pure: fed batches of events, no I/O.
 *
 * Distinct counts are exact, kept in Sets (see docs/reader.md for the memory this takes). V8 caps
 * a Set at 2^24 entries, so counters spill into further Sets.
 */
import { EVENT_TYPES, type ClickEvent, type EventType } from '../core/event.js';
import { isoUtc } from '../core/time.js';

const SET_CAP = 16_000_000;

const PAGE_BITS = 19; // 2^19 ids = 64 KiB of bits per page
const PAGE_MASK = (1 << PAGE_BITS) - 1;
const BITMAP_LIMIT = 2 ** 32;

/**
 * Exact distinct non-negative integer ids. Ids below 2^32 (all of the dataset's) set bits in 64 KiB
 * pages allocated on first touch: fast, and memory is bounded by the id range in use (the dataset's
 * user ids span about 4.3e8 values, 52 MiB of pages). Other numbers go to Sets.
 */
export class DistinctNumbers {
  private readonly pages: (Uint8Array | undefined)[] = [];
  private bits = 0;
  private readonly full: Set<number>[] = [];
  private last = new Set<number>();

  add(v: number): void {
    if (v >= 0 && v < BITMAP_LIMIT && Number.isInteger(v)) {
      const p = Math.floor(v / 2 ** PAGE_BITS);
      let page = this.pages[p];
      if (page === undefined) {
        while (this.pages.length < p) this.pages.push(undefined);
        page = new Uint8Array(1 << (PAGE_BITS - 3));
        this.pages[p] = page;
      }
      const i = v & PAGE_MASK;
      const byte = page[i >>> 3]!;
      const bit = 1 << (i & 7);
      if ((byte & bit) === 0) {
        page[i >>> 3] = byte | bit;
        this.bits++;
      }
      return;
    }
    if (this.full.length > 0) {
      for (const s of this.full) if (s.has(v)) return;
    }
    this.last.add(v);
    if (this.last.size >= SET_CAP) {
      this.full.push(this.last);
      this.last = new Set<number>();
    }
  }

  get size(): number {
    let n = this.bits + this.last.size;
    for (const s of this.full) n += s.size;
    return n;
  }
}

/** Exact distinct strings, each stored as a detached copy so that no input text stays pinned. */
export class DistinctStrings {
  private readonly full: Set<string>[] = [];
  private last = new Set<string>();

  add(v: string): void {
    if (this.last.has(v)) return;
    if (this.full.length > 0) {
      for (const s of this.full) if (s.has(v)) return;
    }
    this.last.add(detachString(v));
    if (this.last.size >= SET_CAP) {
      this.full.push(this.last);
      this.last = new Set<string>();
    }
  }

  get size(): number {
    let n = this.last.size;
    for (const s of this.full) n += s.size;
    return n;
  }
}

/** A 52-bit hash of a string (two 32-bit multiplicative lanes, FNV-1a and a Murmur-style mix). */
export function hash52(s: string): number {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x2f3c1d57 | 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  return (h1 >>> 0) + (h2 & 0xfffff) * 4294967296;
}

/**
 * Distinct strings of high cardinality (sessions), counted by a 52-bit hash kept in a Set of
 * numbers: about 37 bytes each instead of about 110 for the string. Two different ids count once
 * only if their hashes collide; the expected number of collisions is n^2 / 2^53 (0.02 for 14M ids).
 */
export class DistinctHashed {
  private readonly full: Set<number>[] = [];
  private last = new Set<number>();

  add(v: string): void {
    const h = hash52(v);
    if (this.full.length > 0) {
      for (const s of this.full) if (s.has(h)) return;
    }
    this.last.add(h);
    if (this.last.size >= SET_CAP) {
      this.full.push(this.last);
      this.last = new Set<number>();
    }
  }

  get size(): number {
    let n = this.last.size;
    for (const s of this.full) n += s.size;
    return n;
  }
}

/**
 * A copy of `s` that does not keep the (possibly huge) string it was cut from alive. V8 makes
 * substrings of 13 or more characters views into their parent; joining forces a flat copy.
 */
export function detachString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export interface EventMixEntry {
  count: number;
  /** Share of valid rows, 0..1. */
  share: number;
}

export interface DatasetSummary {
  events: number;
  eventMix: Record<EventType, EventMixEntry>;
  timeRange: { min: string; max: string } | null;
  price: { min: number; max: number; mean: number } | null;
  distinct: {
    users: number;
    sessions: number;
    products: number;
    categoryIds: number;
    categoryCodes: number;
    brands: number;
  };
  /** Share of valid rows with the field empty, 0..1. */
  empty: { categoryCode: number; brand: number; userSession: number };
}

export class SummaryBuilder {
  private events = 0;
  private views = 0;
  private readonly mix: Record<EventType, number> = { view: 0, cart: 0, remove_from_cart: 0, purchase: 0 };
  private minTime = Infinity;
  private maxTime = -Infinity;
  private minPrice = Infinity;
  private maxPrice = -Infinity;
  private priceSum = 0;
  private readonly users = new DistinctNumbers();
  private readonly sessions = new DistinctHashed();
  private readonly products = new DistinctNumbers();
  private readonly categoryIds = new DistinctStrings();
  private readonly categoryCodes = new DistinctStrings();
  private readonly brands = new DistinctStrings();
  private emptyCode = 0;
  private emptyBrand = 0;
  private emptySession = 0;

  add(batch: readonly ClickEvent[]): void {
    for (const e of batch) {
      this.events++;
      const type = e.event_type;
      if (type === 'view') this.views++;
      else this.mix[type]++;
      const t = e.event_time;
      if (t < this.minTime) this.minTime = t;
      if (t > this.maxTime) this.maxTime = t;
      const p = e.price;
      if (p < this.minPrice) this.minPrice = p;
      if (p > this.maxPrice) this.maxPrice = p;
      this.priceSum += p;
      this.users.add(e.user_id);
      this.products.add(e.product_id);
      if (e.user_session === null) this.emptySession++;
      else this.sessions.add(e.user_session);
      this.categoryIds.add(e.category_id);
      if (e.category_code === null) this.emptyCode++;
      else this.categoryCodes.add(e.category_code);
      if (e.brand === null) this.emptyBrand++;
      else this.brands.add(e.brand);
    }
  }

  result(): DatasetSummary {
    const n = this.events;
    const share = (k: number) => (n === 0 ? 0 : k / n);
    this.mix.view += this.views;
    this.views = 0;
    const eventMix = {} as Record<EventType, EventMixEntry>;
    for (const t of EVENT_TYPES) eventMix[t] = { count: this.mix[t], share: share(this.mix[t]) };
    return {
      events: n,
      eventMix,
      timeRange: n === 0 ? null : { min: isoUtc(this.minTime), max: isoUtc(this.maxTime) },
      price:
        n === 0
          ? null
          : { min: this.minPrice, max: this.maxPrice, mean: Math.round((this.priceSum / n) * 100) / 100 },
      distinct: {
        users: this.users.size,
        sessions: this.sessions.size,
        products: this.products.size,
        categoryIds: this.categoryIds.size,
        categoryCodes: this.categoryCodes.size,
        brands: this.brands.size,
      },
      empty: {
        categoryCode: share(this.emptyCode),
        brand: share(this.emptyBrand),
        userSession: share(this.emptySession),
      },
    };
  }
}
