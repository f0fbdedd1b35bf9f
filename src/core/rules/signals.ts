/**
 * The keyed signals: each looks at one key's History after an event was added and says whether the
 * rule's threshold is crossed now (early firing). Cooldown, ids and the alert itself are the
 * detector's job (detector.ts).
 */
import { HISTORY_EVENTS, type RuleSpec } from './spec.js';
import { Buckets, CART, type History, PURCHASE, VIEW } from './history.js';

export interface Hit {
  /** The figure compared with the threshold (events, distinct products, gaps…). */
  count: number;
  score: number;
  /** Earliest event time the signal covered. */
  from: number;
  evidence: Record<string, unknown>;
}

export type KeyedSpec = Exclude<
  RuleSpec,
  { type: 'traffic-spike' } | { type: 'spike-participant' } | { type: 'key-surge' }
>;

export interface KeyedSignal {
  /** Longest event-time span the signal looks back over (ms): histories older than this may go. */
  readonly horizonMs: number;
  check(h: History, t: number, slot: number): Hit | null;
}

export function keyedSignal(spec: KeyedSpec): KeyedSignal {
  switch (spec.type) {
    case 'rate':
      return rate(spec);
    case 'regular-timing':
      return regularTiming(spec);
    case 'view-sweep':
      return viewSweep(spec);
    case 'cart-stuffing':
      return cartStuffing(spec);
  }
}

/** Bucket width for a sliding window: whole seconds up to a minute, then 60 buckets. */
function bucketMs(windowSeconds: number): number {
  return windowSeconds <= 60 ? 1000 : Math.ceil((windowSeconds * 1000) / 60);
}

function rate(spec: Extract<RuleSpec, { type: 'rate' }>): KeyedSignal {
  const width = bucketMs(spec.windowSeconds);
  const size = Math.ceil((spec.windowSeconds * 1000) / width);
  return {
    horizonMs: spec.windowSeconds * 1000,
    check(h, t, slot) {
      let b = h.buckets[slot];
      if (!b) {
        // Most keys never come near a threshold: their counts start only once they could, from the
        // ring, which still holds every event of the key at that point (n <= HISTORY_EVENTS).
        if (h.n < Math.min(spec.threshold + 1, HISTORY_EVENTS)) return null;
        b = new Buckets(size);
        h.buckets[slot] = b;
        for (let i = h.size - 1; i >= 1; i--) b.add(Math.floor(h.times[h.index(i)]! / width));
      }
      if (!b.add(Math.floor(t / width))) return null;
      if (b.sum <= spec.threshold) return null;
      return {
        count: b.sum,
        score: b.sum / spec.threshold,
        from: (b.head - size + 1) * width,
        evidence: { events_in_window: b.sum },
      };
    },
  };
}

/** Events of the ring in (t - windowMs, t], scanned whole since shards may interleave out of order. */
function inWindow(h: History, t: number, windowMs: number, visit: (j: number) => void): number {
  let from = t;
  for (let i = 0; i < h.size; i++) {
    const j = h.index(i);
    const x = h.times[j]!;
    if (x > t - windowMs && x <= t) {
      visit(j);
      if (x < from) from = x;
    }
  }
  return from;
}

function viewSweep(spec: Extract<RuleSpec, { type: 'view-sweep' }>): KeyedSignal {
  const windowMs = spec.windowSeconds * 1000;
  return {
    horizonMs: windowMs,
    check(h, t) {
      if (h.size <= spec.threshold) return null;
      const products = new Set<number>();
      const categories = new Set<string>();
      let other = 0;
      const from = inWindow(h, t, windowMs, (j) => {
        if (h.types[j] !== VIEW) other++;
        products.add(h.products[j]!);
        categories.add(h.categories[j]!);
      });
      if (other > 0 || products.size <= spec.threshold || categories.size < spec.minCategories) return null;
      const ordered = catalogWalk(h, t, windowMs);
      if (ordered < spec.minOrdered) return null;
      return {
        count: products.size,
        score: products.size / spec.threshold,
        from,
        evidence: { distinct_products: products.size, categories: categories.size, ordered_steps: ordered },
      };
    },
  };
}

/**
 * Steps up minus steps down through product ids between consecutive views of the same category, in
 * arrival order (a category's events share a shard, so they arrive in order), as an absolute value.
 */
function catalogWalk(h: History, t: number, windowMs: number): number {
  const last = new Map<string, number>();
  let net = 0;
  for (let i = h.size - 1; i >= 0; i--) {
    const j = h.index(i);
    const x = h.times[j]!;
    if (x <= t - windowMs || x > t) continue;
    const c = h.categories[j]!;
    const p = h.products[j]!;
    const before = last.get(c);
    if (before !== undefined) net += Math.sign(p - before);
    last.set(c, p);
  }
  return Math.abs(net);
}

function cartStuffing(spec: Extract<RuleSpec, { type: 'cart-stuffing' }>): KeyedSignal {
  const windowMs = spec.windowSeconds * 1000;
  return {
    horizonMs: windowMs,
    check(h, t) {
      if (h.types[h.index(0)] !== CART || h.size <= spec.threshold) return null;
      let carts = 0;
      let purchases = 0;
      const products = new Set<number>();
      const from = inWindow(h, t, windowMs, (j) => {
        if (h.types[j] === CART) {
          carts++;
          products.add(h.products[j]!);
        } else if (h.types[j] === PURCHASE) purchases++;
      });
      if (carts <= spec.threshold || purchases > 0) return null;
      return {
        count: carts,
        score: carts / spec.threshold,
        from,
        evidence: { cart_adds: carts, distinct_products: products.size, purchases: 0 },
      };
    },
  };
}

function regularTiming(spec: Extract<RuleSpec, { type: 'regular-timing' }>): KeyedSignal {
  const gaps = spec.threshold;
  const times = new Float64Array(gaps + 1);
  const maxMean = spec.windowSeconds * 1000;
  return {
    horizonMs: maxMean * gaps,
    check(h) {
      if (h.size <= gaps) return null;
      for (let i = 0; i <= gaps; i++) times[i] = h.times[h.index(i)]!;
      times.sort();
      const span = times[gaps]! - times[0]!;
      const mean = span / gaps;
      if (mean <= 0 || mean > maxMean) return null;
      let sq = 0;
      for (let i = 1; i <= gaps; i++) {
        const d = times[i]! - times[i - 1]! - mean;
        sq += d * d;
      }
      const cv = Math.sqrt(sq / gaps) / mean;
      if (cv > spec.maxVariation) return null;
      return {
        count: gaps + 1,
        score: spec.maxVariation / Math.max(cv, 0.01),
        from: times[0]!,
        evidence: {
          mean_gap_seconds: Math.round(mean) / 1000,
          variation: Math.round(cv * 1000) / 1000,
          gaps,
        },
      };
    },
  };
}
