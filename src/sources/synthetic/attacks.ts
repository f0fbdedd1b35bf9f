/**
 * Attack injection: bot and DDoS traffic shaped like the four profiles a detector has to tell apart
 * from fast humans. Each attack is planned up front (deterministic for a seed) in its own time slot
 * and becomes ordinary sessions that the generator merges into the human traffic by time.
 */
import { StorepulseError } from '../../core/errors.js';
import { isoUtc } from '../../core/time.js';
import type { Catalog } from './catalog.js';
import type { ItemTarget } from './attack-kit.js';
import { eventRate } from './clock.js';
import { USER_ID_BASE, USER_ID_STRIDE } from './humans.js';
import { type PlacementItem, placeInstances } from './placement.js';
import { Rng } from './rng.js';
import { type AttackParams, type Built, type PlanContext, round2, session, towards } from './attack-kit.js';
import { CONVERGING_BUILDERS, CONVERGING_SPAN, type ConvergingProfile } from './converging.js';
import {
  CART,
  MINUTE,
  PURCHASE,
  REMOVE,
  SECOND,
  type SimSession,
  uuidOf,
  VIEW,
  wholeSecond,
} from './session.js';

export type AttackProfile = 'ddos-burst' | 'scraper' | 'cart-bot' | 'low-and-slow' | ConvergingProfile;
export const ATTACK_PROFILES: readonly AttackProfile[] = [
  'ddos-burst',
  'scraper',
  'cart-bot',
  'low-and-slow',
  'skewing',
  'item-flood',
  'distributed-hoard',
  'distributed-sweep',
];
export type { ItemTarget } from './attack-kit.js';

export interface AttackLabel {
  profile: AttackProfile;
  /** 1, 2, … within the profile, in time order. */
  instance: number;
  user_ids: number[];
  sessions: string[];
  /** user_id of each session, in the order of `sessions`. */
  session_users: number[];
  /** First and last event time of the attack, ISO-8601 UTC. */
  start: string;
  end: string;
  events: number;
  /**
   * How hard this instance pushes, 0 (gentlest) to 1 (the profile's strongest), and the parameters
   * it was drawn to: each profile spans a range, from machine speed down to where a human could be.
   */
  intensity: number;
  params: AttackParams;
  /**
   * The products, categories or brands the attack converges on (profiles aimed at an item, and the
   * cart bots' hoarded products): a key-surge alert naming one of them while the attack runs is a hit.
   */
  targets?: ItemTarget[];
  /**
   * Every product, category and brand the instance's events reached: an item alert naming one of
   * them while the instance ran is collateral (attack traffic did reach it), not a false alarm.
   */
  touched: { product: string[]; category: string[]; brand: string[] };
}

export interface AttackPlan {
  labels: AttackLabel[];
  /** All attack sessions, ordered by their first event. */
  sessions: SimSession[];
  events: number;
}

/** Attacks need room: with attacks, a data set spans at least this long (density is lowered if needed). */
export const MIN_ATTACK_SPAN = 2 * 60 * MINUTE;

/**
 * DDoS volume cap as a share of all rows, for all bursts together (each spike is shortened/lowered,
 * within 5-20×, to stay under its part; when even the lowest spikes would not fit, fewer bursts run).
 */
const DDOS_MAX_SHARE = 0.025;
/** The lowest spike a burst is lowered to: 5× the background for 30 s (and at least 8 sources). */
const DDOS_MIN_MULT = 5;
/** With several bursts, how many run is chosen so each can spike about this high (the usual 10-20×'s bottom). */
const DDOS_COUNT_MULT = 10;
const DDOS_MIN_SECONDS = 30;
const DDOS_MIN_SOURCES = 8;
const DDOS_SOURCE_RATE = 1.75;

/** Rows per attack instance by default: each profile runs max(1, ⌊events / 50,000⌋) times. */
const EVENTS_PER_ATTACK_REPEAT = 50_000;

/** Default instances per profile for a data set of this many rows (before the cap that makes them fit). */
export function defaultAttackRepeats(events: number): number {
  return Math.max(1, Math.floor(events / EVENTS_PER_ATTACK_REPEAT));
}

export function parseAttackList(text: string): AttackProfile[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 1 && names[0] === 'all') return [...ATTACK_PROFILES];
  const out: AttackProfile[] = [];
  for (const n of names) {
    if (!(ATTACK_PROFILES as readonly string[]).includes(n)) {
      throw new StorepulseError(
        'USAGE',
        `unknown attack profile ${JSON.stringify(n)}; known: ${ATTACK_PROFILES.join(', ')} (or all)`,
      );
    }
    if (!out.includes(n as AttackProfile)) out.push(n as AttackProfile);
  }
  return out;
}

/**
 * A flood from many sources at once: 10-20× the background at intensity 1, down to 3× with slower
 * sources at 0 (each source then far below any per-user limit; only the site-wide volume shows it).
 */
function ddos(ctx: PlanContext, attack: number, at: number, slot: number, intensity: number): Built {
  const { rng, catalog } = ctx;
  const background = eventRate(at, ctx.perDay) * SECOND; // human events per second there
  let duration = Math.min(rng.range(30, 60), slot / SECOND);
  let mult = towards(3, rng.range(10, 20), intensity);
  const cap = ctx.ddosCap;
  if (mult * background * duration > cap) mult = Math.max(DDOS_MIN_MULT, cap / (background * duration));
  if (mult * background * duration > cap) duration = Math.max(DDOS_MIN_SECONDS, cap / (background * mult));
  const perSource = towards(0.3, DDOS_SOURCE_RATE, intensity); // mean of the per-source rates below
  const sources = Math.max(DDOS_MIN_SOURCES, Math.min(2000, Math.round((mult * background) / perSource)));
  const out: Built = {
    users: [],
    sessions: [],
    params: { multiplier: round2(mult), per_source_per_s: round2(perSource), sources },
  };
  for (let s = 0; s < sources; s++) {
    const user = ctx.newUser();
    const rate = perSource * rng.range(0.57, 1.43);
    const end = at + (duration - rng.range(0, 3)) * SECOND;
    const times: number[] = [];
    const types: number[] = [];
    const products: number[] = [];
    for (let t = at + rng.range(0, 3) * SECOND; t < end; t += rng.exp(SECOND / rate)) {
      times.push(wholeSecond(t));
      types.push(rng.chance(0.96) ? VIEW : CART);
      products.push(catalog.popular.sample(rng));
    }
    if (times.length === 0) continue;
    out.users.push(user);
    out.sessions.push(session(ctx, attack, user, times, types, products));
  }
  return out;
}

/**
 * Copies the catalog page by page: a view every 0.4-0.9 s at intensity 1, every 3-6 s at 0; walks
 * the listing in order or (one in three) picks pages at random; a new session every 150-400 pages at
 * intensity 1, every 13-38 at 0; timing jitter from ±3 % up to ±40 %.
 */
function scraper(ctx: PlanContext, attack: number, at: number, slot: number, intensity: number): Built {
  const { rng, catalog } = ctx;
  const users = rng.chance(0.25) ? 2 : 1;
  const duration = Math.min(rng.range(4, 8) * MINUTE, slot);
  const offset = rng.int(catalog.size);
  const ordered = rng.chance(2 / 3);
  const jitter = towards(0.4, 0.03, intensity);
  const rotate = Math.round(towards(25, 275, intensity));
  const meanPeriod = towards(4.5, 0.65, intensity) * SECOND;
  const out: Built = {
    users: [],
    sessions: [],
    params: {
      period_s: round2(meanPeriod / SECOND),
      ordered,
      jitter: round2(jitter),
      session_pages: rotate,
      users,
    },
  };
  for (let u = 0; u < users; u++) {
    const user = ctx.newUser();
    out.users.push(user);
    const period = meanPeriod * rng.range(0.65, 1.35);
    let times: number[] = [];
    let products: number[] = [];
    const nextRotation = () => Math.max(2, Math.round(rotate * rng.range(0.5, 1.5)));
    let rotateAt = nextRotation();
    const flush = () => {
      if (times.length === 0) return;
      out.sessions.push(
        session(ctx, attack, user, times, new Array<number>(times.length).fill(VIEW), products),
      );
      times = [];
      products = [];
      rotateAt = nextRotation();
    };
    const begin = at + u * rng.range(0, 5) * SECOND;
    for (let k = 0; ; k++) {
      const t = begin + k * period + rng.range(-jitter, jitter) * period;
      if (t >= at + duration) break;
      // Walks the shop in category order (several scrapers split the walk), or hops at random.
      times.push(wholeSecond(t));
      products.push(
        ordered
          ? catalog.sweepOrder[(offset + u + k * users) % catalog.size]!
          : catalog.sweepOrder[rng.int(catalog.size)]!,
      );
      if (times.length >= rotateAt) flush();
    }
    flush();
  }
  // A walk in listing order pours views into each category it crosses: those are its targets.
  if (ordered) {
    const walked = new Set<number>();
    for (const x of out.sessions) for (const p of x.products) walked.add(catalog.category[p]!);
    out.targets = [...walked].map((c) => ({ key_type: 'category' as const, key: catalog.categories[c]!.id }));
  }
  return out;
}

/**
 * Hoards stock (scalping, denial of inventory): cart adds on one to five hot products, never or
 * hardly ever bought, 1.5-3.5 a second at intensity 1, one every 5-11 s at 0.
 */
function cartBot(ctx: PlanContext, attack: number, at: number, slot: number, intensity: number): Built {
  const { rng, catalog } = ctx;
  const users = rng.chance(0.3) ? 2 : 1;
  const duration = Math.min(rng.range(60, 150) * SECOND, slot);
  const hot: number[] = [];
  const wanted = 1 + rng.int(5);
  for (let tries = 0; hot.length < wanted && tries < 1000; tries++) {
    const p = rng.int(Math.min(30, catalog.size));
    if (catalog.cents[p]! > 0 && !hot.includes(p)) hot.push(p);
  }
  const meanRate = towards(0.15, 2.5, intensity);
  const out: Built = {
    users: [],
    sessions: [],
    params: { per_s: round2(meanRate), products: hot.length, users },
    targets: hot.map((p) => ({ key_type: 'product' as const, key: String(catalog.productId[p]) })),
  };
  for (let u = 0; u < users; u++) {
    const user = ctx.newUser();
    const rate = meanRate * rng.range(0.6, 1.4);
    const times: number[] = [];
    const types: number[] = [];
    const products: number[] = [];
    for (
      let t = at + rng.range(0, 2) * SECOND;
      t < at + duration;
      t += (SECOND / rate) * rng.range(0.8, 1.2)
    ) {
      const x = rng.next();
      times.push(wholeSecond(t));
      types.push(x < 0.86 ? CART : x < 0.95 ? VIEW : REMOVE);
      products.push(hot[rng.int(hot.length)]!);
    }
    // Few or no purchases.
    const buys = rng.int(3);
    for (let b = 0; b < buys && times.length > 0; b++) types[rng.int(types.length)] = PURCHASE;
    if (times.length === 0) continue;
    out.users.push(user);
    out.sessions.push(session(ctx, attack, user, times, types, products));
  }
  return out;
}

/**
 * Stays under every burst limit for a long time: a request every 2.5 s ± 0.4 s at intensity 1 (at
 * most 5 in any 10 s window), every 10 s ± 30 % at 0, for 12-20 minutes.
 */
function lowAndSlow(ctx: PlanContext, attack: number, at: number, slot: number, intensity: number): Built {
  const { rng, catalog } = ctx;
  const user = ctx.newUser();
  const duration = Math.min(rng.range(12, 20) * MINUTE, slot);
  const period = towards(10, 2.5, intensity) * SECOND;
  const jitter = towards(0.3, 0.16, intensity);
  const times: number[] = [];
  const types: number[] = [];
  const products: number[] = [];
  for (let k = 0; ; k++) {
    const t = at + k * period + rng.range(-jitter, jitter) * period;
    if (k > 0 && t >= at + duration) break;
    const x = rng.next();
    times.push(wholeSecond(Math.max(at, t)));
    types.push(x < 0.94 ? VIEW : x < 0.99 ? CART : REMOVE);
    products.push(catalog.popular.sample(rng));
  }
  return {
    users: [user],
    sessions: [session(ctx, attack, user, times, types, products)],
    params: { period_s: round2(period / SECOND), jitter: round2(jitter) },
  };
}

const BUILDERS: Record<
  AttackProfile,
  (ctx: PlanContext, attack: number, at: number, slot: number, intensity: number) => Built
> = {
  'ddos-burst': ddos,
  scraper,
  'cart-bot': cartBot,
  'low-and-slow': lowAndSlow,
  ...CONVERGING_BUILDERS,
};

/** Typical length of each profile, to place it inside its slot. */
const TYPICAL_SPAN: Record<AttackProfile, number> = {
  'ddos-burst': 65 * SECOND,
  scraper: 8 * MINUTE + 10 * SECOND,
  'cart-bot': 155 * SECOND,
  'low-and-slow': 20 * MINUTE + 5 * SECOND,
  ...CONVERGING_SPAN,
};

/** Each instance is followed by at least this much time before the next one in its lane. */
const INSTANCE_GAP = 60 * SECOND;

export interface AttackRange {
  from: number;
  to: number;
  perDay: number;
  events: number;
  /** Instances per profile wanted (default: defaultAttackRepeats(events)); capped so they fit. */
  repeats?: number;
  /** The intensities drawn, [min, max] within [0, 1] (default the whole range). */
  intensity?: readonly [number, number];
}

/** Rows of the lowest spike a burst starting at `at` can be lowered to. */
function ddosFloor(at: number, perDay: number): number {
  const background = eventRate(at, perDay) * SECOND;
  return DDOS_MIN_SECONDS * Math.max(DDOS_MIN_MULT * background, DDOS_MIN_SOURCES * DDOS_SOURCE_RATE);
}

/**
 * Plans `repeats` instances of each profile in [from, to), between 10 % and 85 % of the range: one
 * after another in a seeded order when they fit, else in a few parallel lanes (DDoS bursts never
 * overlap each other). The repeats are capped so every instance has room (at least one each); DDoS
 * bursts share one volume cap, and fewer of them run when even their lowest spikes would exceed it.
 */
export function planAttacks(
  profiles: readonly AttackProfile[],
  catalog: Catalog,
  seed: number,
  range: AttackRange,
): AttackPlan {
  const rng = new Rng(seed, 3);
  const usedIds = new Set<number>();
  const maxJ = Math.max(1000, Math.round(range.events / 12));
  const ctx: PlanContext = {
    rng,
    catalog,
    perDay: range.perDay,
    events: range.events,
    ddosCap: range.events * DDOS_MAX_SHARE,
    sessions: [],
    newUser: () => {
      for (;;) {
        const id = USER_ID_BASE + USER_ID_STRIDE * rng.int(maxJ) + (USER_ID_STRIDE - 1);
        if (!usedIds.has(id)) {
          usedIds.add(id);
          return id;
        }
      }
    },
  };
  if (profiles.length === 0) return { labels: [], sessions: [], events: 0 };
  const span = range.to - range.from;
  const lo = range.from + 0.1 * span;
  const width = 0.75 * span;
  const longest = Math.max(...profiles.map((p) => TYPICAL_SPAN[p] + INSTANCE_GAP));
  const repeats = Math.max(
    1,
    Math.min(range.repeats ?? defaultAttackRepeats(range.events), Math.floor(width / longest)),
  );
  // DDoS bursts: as many as the shared cap allows with spikes at the bottom of their usual range
  // (10× the average background for 30 s); busier hours lower theirs towards 5× (refined below).
  const cap = range.events * DDOS_MAX_SHARE;
  const averageFloor =
    DDOS_MIN_SECONDS *
    Math.max((DDOS_COUNT_MULT * range.perDay) / 86_400, DDOS_MIN_SOURCES * DDOS_SOURCE_RATE);
  const ddosCount = Math.max(1, Math.min(repeats, Math.floor(cap / averageFloor)));

  interface Instance {
    profile: number;
    at: number;
    room: number;
    floor: number;
    intensity: number;
  }
  let instances: Instance[] = [];
  const items: PlacementItem[] = [];
  const groups: number[] = [];
  const [iMin, iMax] = range.intensity ?? [0, 1];
  profiles.forEach((p, pi) => {
    const count = p === 'ddos-burst' ? ddosCount : repeats;
    // Stratified: each profile's instances cover the intensity range evenly, in a seeded order.
    const strata = rng.shuffle(Array.from({ length: count }, (_, k) => (k + rng.next()) / count));
    for (let k = 0; k < count; k++) {
      instances.push({ profile: pi, at: 0, room: 0, floor: 0, intensity: iMin + (iMax - iMin) * strata[k]! });
      items.push({ span: TYPICAL_SPAN[p], exclusive: p === 'ddos-burst' });
      groups.push(pi);
    }
  });
  placeInstances(items, groups, lo, width, INSTANCE_GAP, rng).forEach((pl, i) => {
    const x = instances[i]!;
    x.at = wholeSecond(pl.at);
    x.room = pl.room;
  });

  // The bursts' lowest spikes depend on the hour: drop the busiest bursts until they fit the cap,
  // then share the cap in proportion to those floors (a single burst gets all of it, as before).
  const isDdos = (x: Instance) => profiles[x.profile] === 'ddos-burst';
  for (const x of instances) if (isDdos(x)) x.floor = ddosFloor(x.at, range.perDay);
  const bursts = instances.filter(isDdos).sort((a, b) => a.floor - b.floor || a.at - b.at);
  let floorTotal = bursts.reduce((a, x) => a + x.floor, 0);
  const dropped = new Set<Instance>();
  while (bursts.length - dropped.size > 1 && floorTotal > cap) {
    const x = bursts[bursts.length - 1 - dropped.size]!;
    dropped.add(x);
    floorTotal -= x.floor;
  }
  instances = instances.filter((x) => !dropped.has(x));

  // Label order: by profile as listed, then instance in time order; rows are built in time order.
  instances.sort((a, b) => a.profile - b.profile || a.at - b.at);
  const built: Built[] = new Array(instances.length);
  const byTime = instances.map((x, i) => ({ x, i })).sort((a, b) => a.x.at - b.x.at || a.i - b.i);
  for (const { x, i } of byTime) {
    const profile = profiles[x.profile]!;
    if (profile === 'ddos-burst') ctx.ddosCap = (cap * x.floor) / Math.max(floorTotal, 1e-9);
    built[i] = BUILDERS[profile](ctx, i, x.at, x.room, x.intensity);
  }

  const labels: AttackLabel[] = [];
  const seen = new Map<number, number>();
  let events = 0;
  instances.forEach((x, i) => {
    const b = built[i]!;
    let first = Infinity;
    let last = -Infinity;
    let count = 0;
    for (const s of b.sessions) {
      first = Math.min(first, s.times[0]!);
      last = Math.max(last, s.times[s.times.length - 1]!);
      count += s.times.length;
    }
    events += count;
    const instance = (seen.get(x.profile) ?? 0) + 1;
    seen.set(x.profile, instance);
    const touched = { product: new Set<string>(), category: new Set<string>(), brand: new Set<string>() };
    for (const s of b.sessions) {
      for (const p of s.products) {
        touched.product.add(String(catalog.productId[p]));
        touched.category.add(catalog.categories[catalog.category[p]!]!.id);
        const brand = catalog.brand[p]!;
        if (brand >= 0) touched.brand.add(catalog.brands[brand]!);
      }
    }
    labels.push({
      profile: profiles[x.profile]!,
      instance,
      user_ids: b.users,
      sessions: b.sessions.map(uuidOf),
      session_users: b.sessions.map((x) => x.userId),
      start: isoUtc(first),
      end: isoUtc(last),
      events: count,
      intensity: round2(x.intensity),
      params: b.params,
      ...(b.targets ? { targets: b.targets } : {}),
      touched: { product: [...touched.product], category: [...touched.category], brand: [...touched.brand] },
    });
  });
  const sessions = ctx.sessions.map((s, i) => ({ s, i }));
  sessions.sort((a, b) => a.s.times[0]! - b.s.times[0]! || a.i - b.i);
  return { labels, sessions: sessions.map((x) => x.s), events };
}
