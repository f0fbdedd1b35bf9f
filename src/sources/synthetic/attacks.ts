/**
 * Attack injection: bot and DDoS traffic shaped like the four profiles a detector has to tell apart
 * from fast humans. Each attack is planned up front (deterministic for a seed) in its own time slot
 * and becomes ordinary sessions that the generator merges into the human traffic by time.
 */
import { StorepulseError } from '../../core/errors.js';
import { isoUtc } from '../../core/time.js';
import type { Catalog } from './catalog.js';
import { eventRate } from './clock.js';
import { USER_ID_BASE, USER_ID_STRIDE } from './humans.js';
import { Rng } from './rng.js';
import {
  assignSessionId,
  CART,
  MINUTE,
  newSession,
  PURCHASE,
  REMOVE,
  SECOND,
  type SimSession,
  uuidOf,
  VIEW,
  wholeSecond,
} from './session.js';

export type AttackProfile = 'ddos-burst' | 'scraper' | 'cart-bot' | 'low-and-slow';
export const ATTACK_PROFILES: readonly AttackProfile[] = [
  'ddos-burst',
  'scraper',
  'cart-bot',
  'low-and-slow',
];

export interface AttackLabel {
  profile: AttackProfile;
  user_ids: number[];
  sessions: string[];
  /** First and last event time of the attack, ISO-8601 UTC. */
  start: string;
  end: string;
  events: number;
}

export interface AttackPlan {
  labels: AttackLabel[];
  /** All attack sessions, ordered by their first event. */
  sessions: SimSession[];
  events: number;
}

/** Attacks need room: with attacks, a data set spans at least this long (density is lowered if needed). */
export const MIN_ATTACK_SPAN = 2 * 60 * MINUTE;

/** DDoS volume cap as a share of all rows (the spike is shortened/lowered, within 5-20×, to stay under). */
const DDOS_MAX_SHARE = 0.025;

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

interface PlanContext {
  rng: Rng;
  catalog: Catalog;
  perDay: number;
  events: number;
  newUser(): number;
  sessions: SimSession[];
}

interface Built {
  users: number[];
  sessions: SimSession[];
}

function session(
  ctx: PlanContext,
  attack: number,
  user: number,
  times: number[],
  types: number[],
  products: number[],
) {
  const s = newSession(user, attack, times, types, products);
  assignSessionId(s, ctx.rng);
  ctx.sessions.push(s);
  return s;
}

function ddos(ctx: PlanContext, attack: number, at: number, slot: number): Built {
  const { rng, catalog } = ctx;
  const background = eventRate(at, ctx.perDay) * SECOND; // human events per second there
  let duration = Math.min(rng.range(30, 60), slot / SECOND);
  let mult = rng.range(10, 20);
  const cap = ctx.events * DDOS_MAX_SHARE;
  if (mult * background * duration > cap) mult = Math.max(5, cap / (background * duration));
  if (mult * background * duration > cap) duration = Math.max(30, cap / (background * mult));
  const perSource = 1.75; // mean of the per-source rates below
  const sources = Math.max(8, Math.min(500, Math.round((mult * background) / perSource)));
  const out: Built = { users: [], sessions: [] };
  for (let s = 0; s < sources; s++) {
    const user = ctx.newUser();
    const rate = rng.range(1, 2.5);
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

function scraper(ctx: PlanContext, attack: number, at: number, slot: number): Built {
  const { rng, catalog } = ctx;
  const users = rng.chance(0.25) ? 2 : 1;
  const duration = Math.min(rng.range(4, 8) * MINUTE, slot);
  const offset = rng.int(catalog.size);
  const out: Built = { users: [], sessions: [] };
  for (let u = 0; u < users; u++) {
    const user = ctx.newUser();
    out.users.push(user);
    const period = rng.range(0.4, 0.9) * SECOND;
    let times: number[] = [];
    let products: number[] = [];
    let rotateAt = rng.intIn(150, 400);
    const flush = () => {
      if (times.length === 0) return;
      out.sessions.push(
        session(ctx, attack, user, times, new Array<number>(times.length).fill(VIEW), products),
      );
      times = [];
      products = [];
      rotateAt = rng.intIn(150, 400);
    };
    const begin = at + u * rng.range(0, 5) * SECOND;
    for (let k = 0; ; k++) {
      const t = begin + k * period + rng.range(-0.03, 0.03) * period;
      if (t >= at + duration) break;
      // Walks the shop in category order; several scrapers split the walk.
      times.push(wholeSecond(t));
      products.push(catalog.sweepOrder[(offset + u + k * users) % catalog.size]!);
      if (times.length >= rotateAt) flush();
    }
    flush();
  }
  return out;
}

function cartBot(ctx: PlanContext, attack: number, at: number, slot: number): Built {
  const { rng, catalog } = ctx;
  const users = rng.chance(0.3) ? 2 : 1;
  const duration = Math.min(rng.range(60, 150) * SECOND, slot);
  const hot: number[] = [];
  const wanted = 2 + rng.int(3);
  for (let tries = 0; hot.length < wanted && tries < 1000; tries++) {
    const p = rng.int(Math.min(30, catalog.size));
    if (catalog.cents[p]! > 0 && !hot.includes(p)) hot.push(p);
  }
  const out: Built = { users: [], sessions: [] };
  for (let u = 0; u < users; u++) {
    const user = ctx.newUser();
    const rate = rng.range(1, 4);
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

function lowAndSlow(ctx: PlanContext, attack: number, at: number, slot: number): Built {
  const { rng, catalog } = ctx;
  const user = ctx.newUser();
  const duration = Math.min(rng.range(12, 20) * MINUTE, slot);
  const times: number[] = [];
  const types: number[] = [];
  const products: number[] = [];
  // One request every 2.5 s ± 0.4 s: at most 5 in any 10 s window, by construction.
  for (let k = 0; ; k++) {
    const t = at + k * 2.5 * SECOND + rng.range(-0.4, 0.4) * SECOND;
    if (k > 0 && t >= at + duration) break;
    const x = rng.next();
    times.push(wholeSecond(Math.max(at, t)));
    types.push(x < 0.94 ? VIEW : x < 0.99 ? CART : REMOVE);
    products.push(catalog.popular.sample(rng));
  }
  return { users: [user], sessions: [session(ctx, attack, user, times, types, products)] };
}

const BUILDERS: Record<AttackProfile, (ctx: PlanContext, attack: number, at: number, slot: number) => Built> =
  {
    'ddos-burst': ddos,
    scraper,
    'cart-bot': cartBot,
    'low-and-slow': lowAndSlow,
  };

/** Typical length of each profile, to place it inside its slot. */
const TYPICAL_SPAN: Record<AttackProfile, number> = {
  'ddos-burst': 65 * SECOND,
  scraper: 8 * MINUTE + 10 * SECOND,
  'cart-bot': 155 * SECOND,
  'low-and-slow': 20 * MINUTE + 5 * SECOND,
};

/**
 * Plans the attacks in [from, to): each in its own slot between 10 % and 85 % of the range, in a
 * seeded order, never overlapping.
 */
export function planAttacks(
  profiles: readonly AttackProfile[],
  catalog: Catalog,
  seed: number,
  range: { from: number; to: number; perDay: number; events: number },
): AttackPlan {
  const rng = new Rng(seed, 3);
  const usedIds = new Set<number>();
  const maxJ = Math.max(1000, Math.round(range.events / 12));
  const ctx: PlanContext = {
    rng,
    catalog,
    perDay: range.perDay,
    events: range.events,
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
  const labels: AttackLabel[] = [];
  if (profiles.length === 0) return { labels, sessions: [], events: 0 };
  const span = range.to - range.from;
  const lo = range.from + 0.1 * span;
  const slotLen = (0.75 * span) / profiles.length;
  const order = rng.shuffle(profiles.map((_, i) => i));
  const built: Built[] = new Array(profiles.length);
  order.forEach((attack, slotIndex) => {
    const profile = profiles[attack]!;
    const room = 0.9 * slotLen;
    const slack = Math.max(0, room - TYPICAL_SPAN[profile]);
    const at = wholeSecond(lo + slotIndex * slotLen + rng.next() * slack);
    built[attack] = BUILDERS[profile](ctx, attack, at, room);
  });
  let events = 0;
  profiles.forEach((profile, attack) => {
    const b = built[attack]!;
    let first = Infinity;
    let last = -Infinity;
    let count = 0;
    for (const s of b.sessions) {
      first = Math.min(first, s.times[0]!);
      last = Math.max(last, s.times[s.times.length - 1]!);
      count += s.times.length;
    }
    events += count;
    labels.push({
      profile,
      user_ids: b.users,
      sessions: b.sessions.map(uuidOf),
      start: isoUtc(first),
      end: isoUtc(last),
      events: count,
    });
  });
  const sessions = ctx.sessions.map((s, i) => ({ s, i }));
  sessions.sort((a, b) => a.s.times[0]! - b.s.times[0]! || a.i - b.i);
  return { labels, sessions: sessions.map((x) => x.s), events };
}
