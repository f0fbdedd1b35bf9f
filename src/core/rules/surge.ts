/**
 * Key surge: traffic converging on one product, category or brand (skewing, a flood aimed at one
 * item, distributed hoarding or sweeping), where no single user stands out. The per-key analogue of
 * TrafficSpike (spike.ts): each key's recent count of the counted events against that key's own
 * baseline, and against a floor every key must pass (`minEvents`, from the store's distribution of
 * per-key figures: storepulse calibrate).
 *
 * A key's surge has to come from many users: an event by the same user as the key's previous counted
 * event is not counted (one user's repeats on a key, and duplicate rows, are the per-user rules'
 * business), so a shopper revisiting a product, or a cart row written 40 times, does not look like a crowd.
 *
 * Per key, three numbers, updated in O(1) per event with no per-key buckets (most of a store's 200k
 * products see a handful of events an hour):
 * - recent: the key's events weighted by exp(-age / windowSeconds) (a steady rate r gives r × window);
 * - slow: the same with baselineSeconds, so baseline per window = slow × window / baselineSeconds,
 *   corrected for a rule younger than baselineSeconds;
 * - firedAt: the cooldown.
 * An event feeds the baseline whole while the recent count is within the key's noise band (baseline +
 * 2·√baseline + 1), and in proportion (band / recent) above it, so a surge hardly teaches the key that
 * surges are normal while a key new to the store still learns its level. The relative
 * limit does not depend on minEvents, so a rule with floor m fires on exactly the keys whose figure
 * (the highest recent count over the relative limit: KeySurgeMeter) is above m.
 *
 * Memory: one entry per key with an event in the last ~1.25 × baselineSeconds (evict()).
 */
import type { ItemKeyType } from '../alert.js';
import type { ClickEvent } from '../event.js';
import type { RuleSpec } from './spec.js';

export type SurgeSpec = Extract<RuleSpec, { type: 'key-surge' }>;
export type ItemKey = number | string;

/** Per-key state, one row of STRIDE doubles in one typed array (the Map holds the row number). */
const FIRST = 0;
const LAST = 1;
const RECENT = 2;
const SLOW = 3;
const FIRED = 4;
/** The user of the key's last counted event: a run of one user's events on a key counts once. */
const USER = 5;
/** Highest recent count over the relative limit (measuring only). */
const PEAK = 6;
const STRIDE = 7;

export interface SurgeHit {
  key: ItemKey;
  count: number;
  baseline: number;
  limit: number;
  first: number;
  /** Inside the cooldown of an earlier alert on this key. */
  cooling: boolean;
}

/** The key an event counts for, or null (no brand). */
export function itemKeyOf(type: ItemKeyType, e: ClickEvent): ItemKey | null {
  return type === 'product' ? e.product_id : type === 'category' ? e.category_id : e.brand;
}

/** exp(-s / tau) for whole seconds s (timestamps are whole seconds in the data sets), else Math.exp. */
function decayTable(tauMs: number, seconds: number): Float64Array {
  const t = new Float64Array(seconds + 1);
  for (let s = 0; s <= seconds; s++) t[s] = Math.exp((-s * 1000) / tauMs);
  return t;
}

export class KeySurge {
  readonly keyType: ItemKeyType;
  private readonly keys = new Map<ItemKey, number>();
  /** Rows of state (STRIDE doubles each); rows of forgotten keys are reused. */
  private st = new Float64Array(STRIDE * 64);
  private rows = 0;
  private readonly free: number[] = [];
  private readonly counted: Record<string, boolean> = {};
  private readonly windowMs: number;
  private readonly baselineMs: number;
  private readonly fastTable: Float64Array;
  private readonly slowTable: Float64Array;
  private start = Infinity;
  /** Baseline per window = slow × perSlow, as of event time filledAt. */
  private filledAt = NaN;
  private perSlow = 0;
  /** Figures of keys evicted while measuring (the rest are read from the live keys). */
  private readonly done = new Map<ItemKey, number>();

  constructor(
    readonly spec: SurgeSpec,
    /** Measuring: keep each key's figure (peak) and never fire. */
    private readonly measuring = false,
  ) {
    this.keyType = spec.key;
    for (const t of spec.events) this.counted[t] = true;
    this.windowMs = spec.windowSeconds * 1000;
    this.baselineMs = spec.baselineSeconds * 1000;
    const span = Math.ceil(1.25 * spec.baselineSeconds);
    this.fastTable = decayTable(this.windowMs, span);
    this.slowTable = decayTable(this.baselineMs, span);
  }

  private static decay(dt: number, table: Float64Array, tau: number): number {
    const s = dt / 1000;
    return s === Math.floor(s) && s < table.length ? table[s]! : Math.exp(-dt / tau);
  }

  /**
   * Counts one event; returns a hit when the key's recent count is over its limit now (measuring:
   * whenever it is over its relative limit, `count` being the figure now).
   */
  add(e: ClickEvent, t: number): SurgeHit | null {
    if (this.counted[e.event_type] !== true) return null;
    const key = itemKeyOf(this.keyType, e);
    if (key === null) return null;
    if (t < this.start) this.start = t;
    let r = this.keys.get(key);
    let st = this.st;
    if (r === undefined) {
      r = this.row();
      st = this.st;
      this.keys.set(key, r);
      st[r + FIRST] = t;
      st[r + LAST] = t;
      st[r + RECENT] = 0;
      st[r + SLOW] = 0;
      st[r + FIRED] = -Infinity;
      st[r + PEAK] = 0;
    } else if (st[r + USER] === e.user_id) return null;
    st[r + USER] = e.user_id;
    const dt = t - st[r + LAST]!;
    // An event older than the key's last (shards interleave) counts as if at the last time.
    let recent = st[r + RECENT]!;
    let slow = st[r + SLOW]!;
    if (dt > 0) {
      recent *= KeySurge.decay(dt, this.fastTable, this.windowMs);
      slow *= KeySurge.decay(dt, this.slowTable, this.baselineMs);
      st[r + LAST] = t;
    }
    recent += 1;
    st[r + RECENT] = recent;
    const spec = this.spec;
    const age = t - this.start;
    // The baseline sum covers min(age, ~baseline): correct it while the rule is young (per second).
    if (t !== this.filledAt) {
      this.filledAt = t;
      const filled = age >= 5 * this.baselineMs ? 1 : 1 - Math.exp(-Math.max(age, 1000) / this.baselineMs);
      this.perSlow = this.windowMs / (this.baselineMs * filled);
    }
    const base = slow * this.perSlow;
    const root = Math.sqrt(base);
    // Within its noise band (baseline + 2 sd) an event counts whole towards the baseline; above it, in
    // proportion, so the baseline learns at most at its own pace: a key new to the store still learns
    // its level, a surge hardly teaches it that surges are normal.
    const band = base + 2 * root + 1;
    st[r + SLOW] = slow + (recent <= band ? 1 : band / recent);
    const relative = Math.max(spec.threshold * base, base + spec.zScore * root);
    if (recent <= relative) return null;
    if (age < spec.warmupSeconds * 1000) return null;
    const first = st[r + FIRST]!;
    if (this.measuring) {
      if (recent > st[r + PEAK]!) st[r + PEAK] = recent;
      // The figure now, for a caller watching this key at this time.
      return { key, count: recent, baseline: base, limit: relative, first, cooling: true };
    }
    const limit = Math.max(relative, spec.minEvents);
    if (recent <= limit) return null;
    const cooling = t < st[r + FIRED]! + spec.cooldownSeconds * 1000;
    if (!cooling) st[r + FIRED] = t;
    return { key, count: recent, baseline: base, limit, first, cooling };
  }

  /** A free row (its offset), growing the state array when full. */
  private row(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const r = this.rows * STRIDE;
    if (r + STRIDE > this.st.length) {
      const bigger = new Float64Array(this.st.length * 2);
      bigger.set(this.st);
      this.st = bigger;
    }
    this.rows++;
    return r;
  }

  /** Forgets keys with no counted event since `before` (event time). */
  evict(before: number): void {
    const st = this.st;
    for (const [k, r] of this.keys) {
      if (st[r + LAST]! >= before) continue;
      const peak = st[r + PEAK]!;
      if (this.measuring && peak > 0) this.done.set(k, Math.max(peak, this.done.get(k) ?? 0));
      this.keys.delete(k);
      this.free.push(r);
    }
  }

  /** How long a quiet key is kept: its baseline has decayed to a fraction by then. */
  get horizonMs(): number {
    return this.baselineMs;
  }

  get size(): number {
    return this.keys.size;
  }

  /** Measuring: each key's figure, the highest recent count over its relative limit (keys never over it are absent). */
  figures(): Map<ItemKey, number> {
    const out = new Map(this.done);
    for (const [k, r] of this.keys) {
      const peak = this.st[r + PEAK]!;
      if (peak > 0) out.set(k, Math.max(peak, out.get(k) ?? 0));
    }
    return out;
  }

  toJSON(): unknown {
    const keys: (ItemKey | number)[][] = [];
    const st = this.st;
    for (const [k, r] of this.keys)
      keys.push([
        k,
        st[r + FIRST]!,
        st[r + LAST]!,
        st[r + RECENT]!,
        st[r + SLOW]!,
        st[r + FIRED]!,
        st[r + USER]!,
      ]);
    return { start: Number.isFinite(this.start) ? this.start : null, keys };
  }

  restore(v: unknown): void {
    const x = v as {
      start: number | null;
      keys: [ItemKey, number, number, number, number, number | null, number][];
    };
    this.start = x.start ?? Infinity;
    for (const [k, first, last, recent, slow, firedAt, user] of x.keys) {
      const r = this.row();
      this.st.set([first, last, recent, slow, firedAt ?? -Infinity, user, 0], r);
      this.keys.set(k, r);
    }
  }
}
