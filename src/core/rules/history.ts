/**
 * What the keyed rules remember about one key (a user or a session): its last HISTORY_EVENTS events in a
 * ring, in arrival order (several shards interleave, so not always in time order), and per rate rule a
 * ring of bucket counts. Pure data; the rules in signals.ts read it.
 */
import os from 'node:os';
import type { ClickEvent, EventType } from '../event.js';
import { HISTORY_EVENTS } from './spec.js';

export const VIEW = 0;
export const CART = 1;
const REMOVE = 2;
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

  /**
   * Appends this key's state to `out` as numbers, categories as codes into `categories` (shared by
   * every key of a snapshot): a checkpoint holds thousands of keys and is taken while events wait,
   * and numbers into one Float64Array cost a fraction of nested JSON arrays.
   */
  writeTo(out: Floats, categories: Map<string, number>): void {
    const size = this.size;
    out.push(this.n);
    out.push(this.first);
    out.push(this.newest);
    out.push(this.user);
    out.push(size);
    for (let k = size - 1; k >= 0; k--) {
      const j = this.index(k);
      const c = this.categories[j]!;
      let code = categories.get(c);
      if (code === undefined) categories.set(c, (code = categories.size));
      out.push(this.times[j]!);
      out.push(this.types[j]!);
      out.push(this.products[j]!);
      out.push(code);
    }
    out.push(this.buckets.length);
    for (const b of this.buckets) {
      if (!b) out.push(-1);
      else {
        out.push(b.counts.length);
        out.push(b.head);
        for (const c of b.counts) out.push(c);
      }
    }
    out.push(this.firedAt.length);
    for (let i = 0; i < this.firedAt.length; i++) out.push(this.firedAt[i] ?? -Infinity);
    out.push(this.level.length);
    for (let i = 0; i < this.level.length; i++) out.push(this.level[i] ?? 0);
  }

  /** Reads back what writeTo wrote. */
  static readFrom(r: FloatReader, categories: readonly string[]): History {
    const n = r.next();
    const first = r.next();
    const newest = r.next();
    const h = new History(first, r.next());
    const size = r.next();
    // The ring as it was: the same capacity, the events oldest first at their slots.
    let cap = 4;
    while (cap < Math.min(n, K)) cap *= 2;
    if (cap > 4) h.grow(cap);
    const base = n - size;
    for (let k = 0; k < size; k++) {
      const i = (base + k) % cap;
      h.times[i] = r.next();
      h.types[i] = r.next();
      h.products[i] = r.next();
      h.categories[i] = categories[r.next()]!;
    }
    h.n = n;
    h.newest = newest;
    h.buckets = Array.from({ length: r.next() }, () => {
      const length = r.next();
      if (length < 0) return undefined;
      const b = new Buckets(length);
      b.head = r.next();
      for (let i = 0; i < length; i++) b.sum += b.counts[i] = r.next();
      return b;
    });
    h.firedAt = Array.from({ length: r.next() }, () => r.next());
    h.level = Array.from({ length: r.next() }, () => r.next());
    return h;
  }
}

/** A growing array of float64s, sent as base64 (little-endian on every platform). */
export class Floats {
  private data = new Float64Array(1 << 16);
  private length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  toBase64(): string {
    const bytes = Buffer.from(this.data.buffer, 0, this.length * 8);
    return (os.endianness() === 'LE' ? bytes : Buffer.from(bytes).swap64()).toString('base64');
  }
}

export class FloatReader {
  private readonly data: Float64Array;
  private at = 0;

  constructor(base64: string) {
    const bytes = Buffer.from(base64, 'base64');
    if (os.endianness() === 'BE') bytes.swap64();
    // A copy at offset 0: Buffer.from may return a slice of a pool at an unaligned offset.
    this.data = new Float64Array(new Uint8Array(bytes).buffer);
  }

  next(): number {
    if (this.at >= this.data.length) throw new Error('detector snapshot ends early');
    return this.data[this.at++]!;
  }

  get done(): boolean {
    return this.at === this.data.length;
  }
}

export const TYPE_NAMES = ['view', 'cart', 'remove_from_cart', 'purchase'] as const;
