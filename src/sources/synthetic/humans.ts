/**
 * Human shoppers: each session gets a user (see users.ts), a size, a browsing path, a funnel (cart,
 * remove, purchase) and a pace. Finished sessions are recycled, so steady generation allocates little.
 */
import { type Catalog, sameCategoryProduct } from './catalog.js';
import {
  BULK_MEAN_SIZE,
  BULK_SESSION_SHARE,
  COMPARISON_MEAN_SIZE,
  COMPARISON_SESSION_SHARE,
  fillBulk,
  fillComparison,
} from './lookalikes.js';
import { SESSION_SIZE_KNOTS } from './profile.js';
import { Rng } from './rng.js';
import {
  assignSessionId,
  CART,
  newSession,
  PURCHASE,
  REMOVE,
  SECOND,
  type SimSession,
  VIEW,
  wholeSecond,
} from './session.js';
import { Arrivals } from './users.js';

export { BULK_SESSION_SHARE, COMPARISON_SESSION_SHARE } from './lookalikes.js';
export { USER_ID_BASE, USER_ID_STRIDE } from './users.js';

// --- model constants (tuned against rees46-profile.md; see docs/generator.md) ---

// Humans who look a bit like bots (unlabelled: the false positives a detector has to live with);
// comparison shoppers and bulk buyers are in lookalikes.ts.
/** Share of sessions with a fast burst of 6-15 views inside 10 s (would trip `count > 5 per 10 s`). */
export const FAST_SESSION_SHARE = 0.005;
const FAST_BURST: readonly [number, number] = [6, 15];
/** Marathon browsers: 100-300 events over 20-60 minutes at an irregular human pace. */
export const MARATHON_SESSION_SHARE = 0.0005;
const MARATHON_EVENTS: readonly [number, number] = [100, 300];
const MARATHON_MINUTES: readonly [number, number] = [20, 60];

/** Browsing: revisit a product already seen in the session, stay in its category, or jump anywhere. */
const P_REVISIT = 0.3;
const P_SAME_CATEGORY = 0.4;

/** Funnel by session size n: purchase and cart probabilities grow with n towards these ceilings. */
const PURCHASE_MAX = 0.17;
const PURCHASE_SINGLE = 0.012;
const CART_GIVEN_PURCHASE = 0.55;
const CART_NO_PURCHASE_MAX = 0.125;
const CART_SINGLE = 0.012;
const FUNNEL_SCALE = 5;
const EXTRA_ITEM = 0.14;
const EXTRA_CARTS_MEAN = 1.8;
const P_REMOVE = 0.4;

/** Pace: each session has a typical gap between events (log-normal), each gap varies around it. */
const PACE_MEDIAN_S = 80;
const PACE_SIGMA = 1.0;
const PACE_MIN_S = 4;
/** Long sessions click through faster: the pace scales with (n / 2)^-PACE_SIZE_EXPONENT. */
const PACE_SIZE_EXPONENT = 1.0;
const GAP_SIGMA = 0.8;
/** Outside bursts, two events of a session are at least a second apart. */
const MIN_GAP_S = 1;
/** Now and then a shopper leaves the tab open and comes back later in the same session. */
const IDLE_CHANCE = 0.018;
/** Idle pauses last 30 min to 6 h (bounded, so a warm-up of 8 h sees every session reaching the start). */
const IDLE_S: readonly [number, number] = [1800, 21600];
const CHECKOUT_S: readonly [number, number] = [10, 90];

function sessionSizeMean(): number {
  const steps = 200_000;
  let s = 0;
  for (let i = 0; i < steps; i++) s += sizeFromU((i + 0.5) / steps);
  return s / steps;
}

function sizeFromKnots(u: number): number {
  const knots = SESSION_SIZE_KNOTS;
  if (u < knots[0]![0]) return 1;
  for (let i = 1; i < knots.length; i++) {
    const [u1, v1] = knots[i]!;
    if (u <= u1) {
      const [u0, v0] = knots[i - 1]!;
      // Power law in the survival 1 - u; the last piece (to u = 1) is log-linear in u instead.
      const f = u1 < 1 ? Math.log((1 - u0) / (1 - u)) / Math.log((1 - u0) / (1 - u1)) : (u - u0) / (u1 - u0);
      return Math.max(1, Math.floor(v0 * Math.pow(v1 / v0, f)));
    }
  }
  return Math.floor(knots[knots.length - 1]![1]);
}

/** Session sizes below the 99th percentile come from a table (exact at the table's resolution). */
const SIZE_TABLE_BITS = 14;
const SIZE_TABLE_LIMIT = 0.99;
const SIZE_TABLE = Int32Array.from({ length: 1 << SIZE_TABLE_BITS }, (_, i) =>
  sizeFromKnots(((i + 0.5) / (1 << SIZE_TABLE_BITS)) * SIZE_TABLE_LIMIT),
);

function sizeFromU(u: number): number {
  if (u >= SIZE_TABLE_LIMIT) return sizeFromKnots(u);
  return SIZE_TABLE[Math.floor((u / SIZE_TABLE_LIMIT) * (1 << SIZE_TABLE_BITS))]!;
}

/** Mean events per human session: the size distribution, with the special kinds in their shares. */
const MEAN_SESSION_SIZE =
  sessionSizeMean() *
    (1 - FAST_SESSION_SHARE - COMPARISON_SESSION_SHARE - BULK_SESSION_SHARE - MARATHON_SESSION_SHARE) +
  FAST_SESSION_SHARE * ((FAST_BURST[0] + FAST_BURST[1]) / 2 + 1.5) +
  COMPARISON_SESSION_SHARE * COMPARISON_MEAN_SIZE +
  BULK_SESSION_SHARE * BULK_MEAN_SIZE +
  MARATHON_SESSION_SHARE * ((MARATHON_EVENTS[0] + MARATHON_EVENTS[1]) / 2 + 3);

/** Mean of lognormal(1, GAP_SIGMA), to scale gaps to a wanted total. */
const GAP_MEAN = Math.exp((GAP_SIGMA * GAP_SIGMA) / 2);

export interface HumanOptions {
  /** When the first session may start (before the data set's start: a warm-up). */
  from: number;
  /** Expected events per day. */
  perDay: number;
  /** Sessions starting before this instant are only built when they have an idle pause. */
  skipBefore?: number;
}

export class HumanTraffic {
  private readonly rng: Rng;
  private readonly arrivals: Arrivals;
  private readonly pool: SimSession[] = [];
  private readonly carted: number[] = [];
  private readonly bought: number[] = [];
  private readonly idle: number[] = [];
  private readonly skipBefore: number;
  sessions = 0;

  constructor(
    private readonly catalog: Catalog,
    seed: number,
    opts: HumanOptions,
  ) {
    this.rng = new Rng(seed, 2);
    this.skipBefore = opts.skipBefore ?? -Infinity;
    this.arrivals = new Arrivals(this.rng, opts.from, opts.perDay, MEAN_SESSION_SIZE);
  }

  /** Start of the next session, epoch ms (not rounded). */
  get nextStart(): number {
    return this.arrivals.nextStart;
  }

  /** Distinct human users so far. */
  get users(): number {
    return this.arrivals.users;
  }

  /**
   * Builds the session starting at `nextStart` and draws the start of the one after. Returns null for a
   * warm-up session that cannot reach the data set's start (only sessions with idle pauses can).
   */
  take(): SimSession | null {
    const start = this.arrivals.nextStart;
    const userId = this.arrivals.userFor(start);
    const s = this.pool.pop() ?? newSession(0, -1, [], [], []);
    const built = this.fill(s, start);
    this.arrivals.advance();
    if (!built) {
      this.pool.push(s);
      return null;
    }
    s.userId = userId;
    assignSessionId(s, this.rng);
    s.i = 0;
    s.seen = false;
    this.sessions++;
    return s;
  }

  /** Hands back a finished session for reuse (after its last row has been consumed). */
  recycle(s: SimSession): void {
    this.pool.push(s);
  }

  private positive(p: number): number {
    const c = this.catalog;
    for (let tries = 0; c.cents[p] === 0 && tries < 50; tries++) p = c.popular.sample(this.rng);
    return p;
  }

  private fill(s: SimSession, start: number): boolean {
    const rng = this.rng;
    const cat = this.catalog;
    let n = sizeFromU(rng.next());
    // The kind of shopper: one draw, so ordinary sessions use the random stream as they always did.
    let kind = rng.next();
    const fast = kind < FAST_SESSION_SHARE;
    kind -= FAST_SESSION_SHARE;
    const skip = start < this.skipBefore;
    if (kind >= 0 && kind < COMPARISON_SESSION_SHARE) return fillComparison(s, start, rng, cat, skip);
    kind -= COMPARISON_SESSION_SHARE;
    if (kind >= 0 && kind < BULK_SESSION_SHARE) return fillBulk(s, start, rng, cat, skip);
    kind -= BULK_SESSION_SHARE;
    const marathon = kind >= 0 && kind < MARATHON_SESSION_SHARE;
    const burst = fast ? rng.intIn(FAST_BURST[0], FAST_BURST[1]) : 0;
    if (fast) n = Math.max(n, burst + rng.int(3));
    if (marathon) n = rng.intIn(MARATHON_EVENTS[0], MARATHON_EVENTS[1]);
    // Idle pauses first: a warm-up session without one ends before the data set starts.
    const idle = this.idle;
    if (idle.length > 0) idle.length = 0;
    if (!marathon) for (let g = 1; g < n; g++) if (rng.next() < IDLE_CHANCE) idle.push(g);
    if (start < this.skipBefore && idle.length === 0) return false;

    // Funnel: bigger sessions convert more.
    const grow = 1 - Math.exp(-(n - 1) / FUNNEL_SCALE);
    const purchase = rng.chance(n === 1 ? PURCHASE_SINGLE : PURCHASE_MAX * grow);
    const cart =
      n > 1 && purchase
        ? rng.chance(CART_GIVEN_PURCHASE)
        : rng.chance(n === 1 ? CART_SINGLE : CART_NO_PURCHASE_MAX * grow);
    let P = purchase ? 1 + (rng.chance(EXTRA_ITEM) ? 1 + (rng.chance(0.2) ? 1 : 0) : 0) : 0;
    let C = cart ? (purchase ? P : 1) + Math.floor(rng.exp(EXTRA_CARTS_MEAN)) : 0;
    let R = cart ? (rng.chance(P_REMOVE) ? 1 : 0) + (rng.chance(0.05) ? 1 : 0) : 0;
    if (n === 1) {
      P = purchase ? 1 : 0;
      C = !purchase && cart ? 1 : 0;
      R = 0;
    }
    while (C + R + P > n) {
      if (R > 0) R--;
      else if (C > Math.max(P, 1)) C--;
      else if (P > 1) P--;
      else C--;
    }
    if (C > 0 && C < P) P = C;
    const V = n - C - R - P;

    const { types, products, times } = s;
    // Views: a browsing path.
    let len = 0;
    let prev = -1;
    for (let v = 0; v < V; v++) {
      let p: number;
      const u = rng.next();
      if (prev < 0 || u >= P_REVISIT + P_SAME_CATEGORY) p = cat.popular.sample(rng);
      else if (u < P_REVISIT) p = v < burst ? sameCategoryProduct(cat, prev, rng) : products[rng.int(v)]!;
      else p = sameCategoryProduct(cat, prev, rng);
      // No two identical views in the same second of a burst (exact duplicates are modelled apart).
      if (v < burst && p === prev) p = cat.popular.sample(rng);
      types[len] = VIEW;
      products[len++] = p;
      prev = p;
    }
    const insert = (at: number, type: number, p: number) => {
      for (let j = len; j > at; j--) {
        types[j] = types[j - 1]!;
        products[j] = products[j - 1]!;
      }
      types[at] = type;
      products[at] = p;
      len++;
    };
    // Carts right after viewing the product (a priced one), in the later part of the session.
    const carted = this.carted;
    if (carted.length > 0) carted.length = 0;
    for (let c = 0; c < C; c++) {
      let at: number;
      let p: number;
      if (V > 0) {
        const vi = Math.floor(V / 2 + rng.next() * (V - V / 2));
        at = nthIndex(types, len, VIEW, Math.min(V - 1, vi));
        p = this.positive(products[at]!);
        products[at] = p;
        at++;
      } else {
        at = len;
        p = this.positive(cat.popular.sample(rng));
      }
      insert(at, CART, p);
      carted.push(p);
    }
    // Purchases at the end: the carted products, or a product viewed.
    const bought = this.bought;
    if (bought.length > 0) bought.length = 0;
    for (let k = 0; k < P; k++) {
      let p: number;
      if (carted.length > k) p = carted[k]!;
      else if (V > 0) p = this.positive(products[rng.int(len)]!);
      else p = this.positive(cat.popular.sample(rng));
      bought.push(p);
    }
    // Removals of carted products not bought, some time after the cart.
    for (let r = 0; r < R; r++) {
      const choices = carted.filter((p, i) => i >= P || !bought.includes(p));
      const p = choices.length > 0 ? choices[rng.int(choices.length)]! : carted[rng.int(carted.length)]!;
      let cartAt = len - 1;
      while (cartAt > 0 && products[cartAt] !== p) cartAt--;
      insert(cartAt + 1 + rng.int(len - cartAt), REMOVE, p);
    }
    for (const p of bought) {
      types[len] = PURCHASE;
      products[len++] = p;
    }
    s.len = len;

    // Times: a per-session pace, gaps around it; checkout takes a while; fast sessions burst first.
    const pace = marathon
      ? (rng.range(MARATHON_MINUTES[0], MARATHON_MINUTES[1]) * 60 * SECOND) / (n - 1) / GAP_MEAN
      : Math.max(
          PACE_MIN_S,
          rng.lognormal(PACE_MEDIAN_S * Math.pow(n / 2, -PACE_SIZE_EXPONENT), PACE_SIGMA),
        ) * SECOND;
    let t = start;
    times[0] = wholeSecond(t);
    const burstGap = burst > 1 ? (9 * SECOND) / (burst - 1) : 0;
    let nextIdle = 0;
    for (let i = 1; i < len; i++) {
      const pause = nextIdle < idle.length && idle[nextIdle] === i;
      if (pause) nextIdle++;
      if (i < burst) t += burstGap * rng.range(0.5, 1);
      else if (types[i] === PURCHASE && types[i - 1] !== PURCHASE)
        t += rng.range(CHECKOUT_S[0], CHECKOUT_S[1]) * SECOND;
      else if (types[i] === PURCHASE) t += rng.range(MIN_GAP_S, 4) * SECOND;
      else if (pause) t += rng.range(IDLE_S[0], IDLE_S[1]) * SECOND;
      else t += Math.max(MIN_GAP_S * SECOND, pace * rng.lognormal(1, GAP_SIGMA));
      times[i] = wholeSecond(t);
    }
    return true;
  }
}

function nthIndex(types: number[], len: number, type: number, nth: number): number {
  let seen = 0;
  for (let i = 0; i < len; i++) {
    if (types[i] === type) {
      if (seen === nth) return i;
      seen++;
    }
  }
  return len - 1;
}
