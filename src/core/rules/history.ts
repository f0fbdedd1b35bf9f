/**
 * What the keyed rules remember about one key (a user or a session): its last HISTORY_EVENTS events in a
 * ring, in arrival order (several shards interleave, so not always in time order), and per rate rule a
 * ring of bucket counts. Pure data; the rules in signals.ts read it.
 */
import type { ClickEvent, EventType } from '../event.js';
import { HISTORY_EVENTS } from './spec.js';

export const VIEW = 0;
export const CART = 1;
export const REMOVE = 2;
export const PURCHASE = 3;
const TYPE_CODE: Record<EventType, number> = {
  view: VIEW,
  cart: CART,
  remove_from_cart: REMOVE,
  purchase: PURCHASE,
};
const K = HISTORY_EVENTS;

/** Sliding-window counts at bucket resolution: `size` buckets of `width` ms; `sum` is the window's total. */
export class Buckets {
  head = -Infinity;
  sum = 0;
  readonly counts: Uint32Array;
  constructor(size: number) {
    this.counts = new Uint32Array(size);
  }

  /** Counts one event in bucket `b`; returns false for a bucket already out of the window. */
  add(b: number): boolean {
    const n = this.counts.length;
    if (b > this.head) {
      const steps = Number.isFinite(this.head) ? Math.min(b - this.head, n) : n;
      for (let i = 1; i <= steps; i++) {
        const slot = (((b - steps + i) % n) + n) % n;
        this.sum -= this.counts[slot]!;
        this.counts[slot] = 0;
      }
      this.head = b;
    } else if (b <= this.head - n) return false;
    this.counts[((b % n) + n) % n]!++;
    this.sum++;
    return true;
  }
}

export class History {
  /** Events recorded so far (the ring holds the last min(n, K)). */
  n = 0;
  /** The ring starts small and doubles up to K: most keys see a handful of events. */
  private cap = 4;
  times = new Float64Array(this.cap);
  types = new Uint8Array(this.cap);
  products = new Float64Array(this.cap);
  categories: string[] = new Array<string>(this.cap).fill('');
  first: number;
  newest: number;
  /** The user of the key's latest event (a session's user). */
  user: number;
  /** Per rule slot: its bucket counts (rate rules only). */
  buckets: (Buckets | undefined)[] = [];
  /** Per rule slot: event time of its last alert for this key, and the severity level fired (1 or 2). */
  firedAt: number[] = [];
  level: number[] = [];

  constructor(t: number, user: number) {
    this.first = t;
    this.newest = t;
    this.user = user;
  }

  push(e: ClickEvent, t: number): void {
    if (this.n === this.cap && this.cap < K) this.grow(Math.min(this.cap * 2, K));
    const i = this.n % this.cap;
    this.times[i] = t;
    this.types[i] = TYPE_CODE[e.event_type];
    this.products[i] = e.product_id;
    this.categories[i] = e.category_id;
    this.n++;
    if (t < this.first) this.first = t;
    if (t > this.newest) this.newest = t;
    this.user = e.user_id;
  }

  /** Before the ring is full it has not wrapped: entries sit at 0..n-1 and copy over as they are. */
  private grow(cap: number): void {
    const times = new Float64Array(cap);
    const types = new Uint8Array(cap);
    const products = new Float64Array(cap);
    times.set(this.times);
    types.set(this.types);
    products.set(this.products);
    this.times = times;
    this.types = types;
    this.products = products;
    this.categories = [...this.categories, ...new Array<string>(cap - this.cap).fill('')];
    this.cap = cap;
  }

  /** Ring index of the i-th most recent event (0 = the latest), for i < min(n, K). */
  index(i: number): number {
    return (this.n - 1 - i) % this.cap;
  }

  get size(): number {
    return Math.min(this.n, K);
  }

  /** Up to `max` of the latest events, newest first, for an alert's evidence. */
  samples(max: number): { time: number; type: number; product_id: number; category_id: string }[] {
    const out = [];
    for (let i = 0; i < Math.min(max, this.size); i++) {
      const j = this.index(i);
      out.push({
        time: this.times[j]!,
        type: this.types[j]!,
        product_id: this.products[j]!,
        category_id: this.categories[j]!,
      });
    }
    return out;
  }

  toJSON(): unknown {
    const order = Array.from({ length: this.size }, (_, i) => this.index(this.size - 1 - i));
    return [
      this.n,
      this.first,
      this.newest,
      this.user,
      order.map((j) => [this.times[j], this.types[j], this.products[j], this.categories[j]]),
      this.buckets.map((b) => (b ? [b.head, Array.from(b.counts)] : null)),
      this.firedAt.map((x) => (Number.isFinite(x) ? x : null)),
      this.level,
    ];
  }

  static fromJSON(v: unknown): History {
    const [n, first, newest, user, events, buckets, firedAt, level] = v as [
      number,
      number,
      number,
      number,
      [number, number, number, string][],
      ([number, number[]] | null)[],
      (number | null)[],
      number[],
    ];
    const h = new History(first, user);
    // The ring as it was: the same capacity, the events oldest first at their slots.
    let cap = 4;
    while (cap < Math.min(n, K)) cap *= 2;
    if (cap > 4) h.grow(cap);
    const base = n - events.length;
    events.forEach(([t, type, product, category], k) => {
      const i = (base + k) % cap;
      h.times[i] = t;
      h.types[i] = type;
      h.products[i] = product;
      h.categories[i] = category;
    });
    h.n = n;
    h.first = first;
    h.newest = newest;
    h.buckets = buckets.map((b) => {
      if (!b) return undefined;
      const x = new Buckets(b[1].length);
      x.head = b[0];
      x.counts.set(b[1]);
      x.sum = b[1].reduce((a, c) => a + c, 0);
      return x;
    });
    h.firedAt = firedAt.map((x) => x ?? -Infinity);
    h.level = level;
    return h;
  }
}

export const TYPE_NAMES = ['view', 'cart', 'remove_from_cart', 'purchase'] as const;
