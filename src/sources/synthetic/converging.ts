/**
 * Attacks that converge on one item while every user stays human-looking (OWASP automated threats
 * that clickstream can show beyond one fast user): skewing (OAT-016), a flood aimed at one product or
 * category (OAT-015), hoarding spread over many users (OAT-005 / OAT-021) and a category swept by
 * many users each below any per-user limit. No user stands out; the item's traffic does, so each
 * label names its `targets` (what a key-surge alert would name). Intensity 0–1 scales the traffic
 * added to the item, on a log scale, from a trickle humans hide to machine volume.
 */
import { type Built, type ItemTarget, type PlanContext, round2, session, towards } from './attack-kit.js';
import type { Catalog } from './catalog.js';
import type { Rng } from './rng.js';
import { CART, MINUTE, REMOVE, SECOND, VIEW, wholeSecond } from './session.js';

export type ConvergingProfile = 'skewing' | 'item-flood' | 'distributed-hoard' | 'distributed-sweep';

const product = (c: Catalog, p: number): ItemTarget => ({ key_type: 'product', key: String(c.productId[p]) });

/** A product of category `c` by popularity. */
function inCategory(catalog: Catalog, c: number, rng: Rng): number {
  const g = catalog.byCategory[c]!;
  const u = rng.next() * g.cum[g.cum.length - 1]!;
  let lo = 0;
  let hi = g.cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (g.cum[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return g.products[lo]!;
}

/** A human-paced gap: 5–30 s, log-uniform. */
const humanGap = (rng: Rng) => towards(5, 30, rng.next()) * SECOND;

/** Ascending whole-second times from `start`, one per gap drawn. */
function paced(rng: Rng, start: number, n: number, gap: (rng: Rng) => number): number[] {
  const times: number[] = [];
  let t = start;
  for (let i = 0; i < n; i++) {
    times.push(wholeSecond(t));
    t += gap(rng);
  }
  return times;
}

/**
 * Skewing (OAT-016): many users, each one short session at a human pace, inflating the views of one
 * product of middling popularity (2 in 3) or of one brand's products (1 in 3). The views added to the
 * target: 2 a minute at intensity 0, 40 at 1, for 10–20 minutes.
 */
function skewing(ctx: PlanContext, attack: number, at: number, slot: number, intensity: number): Built {
  const { rng, catalog } = ctx;
  const duration = Math.max(MINUTE, Math.min(rng.range(10, 20) * MINUTE, slot - 3 * MINUTE));
  const perMinute = towards(2, 40, intensity);
  const byBrand = rng.chance(1 / 3);
  let pool: number[];
  let target: ItemTarget;
  if (byBrand) {
    // A brand drawn through a product of it, uniformly over the catalog: mostly the long tail.
    let p = rng.int(catalog.size);
    for (let tries = 0; catalog.brand[p]! < 0 && tries < 1000; tries++) p = rng.int(catalog.size);
    const b = catalog.brand[p]!;
    pool = [];
    for (let q = 0; q < catalog.size; q++) if (catalog.brand[q] === b) pool.push(q);
    target = { key_type: 'brand', key: catalog.brands[b]! };
  } else {
    const p = Math.floor(catalog.size * rng.range(0.01, 0.3));
    pool = [p];
    target = product(catalog, p);
  }
  const wanted = Math.max(1, Math.round((perMinute * duration) / MINUTE));
  const out: Built = {
    users: [],
    sessions: [],
    params: { target: target.key_type, views_per_min: round2(perMinute) },
    targets: [target],
  };
  for (let views = 0; views < wanted;) {
    const user = ctx.newUser();
    const own = Math.min(wanted - views, 1 + rng.int(4));
    views += own;
    const other = 1 + rng.int(4);
    const products: number[] = [];
    for (let i = 0; i < own; i++) products.push(pool[rng.int(pool.length)]!);
    // The other views land in the target's category, shuffled in among the target's.
    for (let i = 0; i < other; i++)
      products.splice(rng.int(products.length + 1), 0, inCategory(catalog, catalog.category[pool[0]!]!, rng));
    const times = paced(rng, at + rng.next() * duration, products.length, humanGap);
    out.users.push(user);
    out.sessions.push(
      session(ctx, attack, user, times, new Array<number>(times.length).fill(VIEW), products),
    );
  }
  out.params.users = out.users.length;
  return out;
}

/**
 * Denial of service aimed at one item (OAT-015): many sources requesting one hot product (1 in 2) or
 * the products of one category, 0.5 requests a second in all at intensity 0 (0.2 per source) up to
 * 20 a second (1.5 per source) at 1, for 30–90 s.
 */
function itemFlood(ctx: PlanContext, attack: number, at: number, slot: number, intensity: number): Built {
  const { rng, catalog } = ctx;
  const duration = Math.min(rng.range(30, 90) * SECOND, slot);
  const total = towards(0.5, 20, intensity);
  const perSource = towards(0.2, 1.5, intensity);
  const sources = Math.max(3, Math.round(total / perSource));
  const onCategory = rng.chance(0.5);
  const hot = catalog.popular.sample(rng);
  let c = rng.int(catalog.categories.length);
  for (let tries = 0; catalog.byCategory[c]!.products.length === 0 && tries < 1000; tries++)
    c = rng.int(catalog.categories.length);
  const target: ItemTarget = onCategory
    ? { key_type: 'category', key: catalog.categories[c]!.id }
    : product(catalog, hot);
  const out: Built = {
    users: [],
    sessions: [],
    params: { target: target.key_type, per_s: round2(total), per_source_per_s: round2(perSource), sources },
    targets: [target],
  };
  for (let s = 0; s < sources; s++) {
    const user = ctx.newUser();
    const rate = perSource * rng.range(0.57, 1.43);
    const times: number[] = [];
    const types: number[] = [];
    const products: number[] = [];
    for (let t = at + rng.range(0, 3) * SECOND; t < at + duration; t += rng.exp(SECOND / rate)) {
      times.push(wholeSecond(t));
      types.push(rng.chance(0.95) ? VIEW : CART);
      products.push(onCategory ? inCategory(catalog, c, rng) : hot);
    }
    if (times.length === 0) continue;
    out.users.push(user);
    out.sessions.push(session(ctx, attack, user, times, types, products));
  }
  return out;
}

/**
 * Denial of inventory spread over many users (OAT-021, OAT-005): each user views one or two hot
 * products and carts them one to four times, 10–40 s apart, and never buys. Cart adds on the
 * targets: 1.5 a minute in all at intensity 0, 40 at 1, for 4–8 minutes.
 */
function distributedHoard(
  ctx: PlanContext,
  attack: number,
  at: number,
  slot: number,
  intensity: number,
): Built {
  const { rng, catalog } = ctx;
  const duration = Math.max(MINUTE, Math.min(rng.range(4, 8) * MINUTE, slot - 3 * MINUTE));
  const perMinute = towards(1.5, 40, intensity);
  const hot: number[] = [];
  const wanted = 1 + rng.int(2);
  for (let tries = 0; hot.length < wanted && tries < 1000; tries++) {
    const p = rng.int(Math.min(100, catalog.size));
    if (catalog.cents[p]! > 0 && !hot.includes(p)) hot.push(p);
  }
  const carts = Math.max(1, Math.round((perMinute * duration) / MINUTE));
  const out: Built = {
    users: [],
    sessions: [],
    params: { carts_per_min: round2(perMinute), products: hot.length },
    targets: hot.map((p) => product(catalog, p)),
  };
  for (let done = 0; done < carts;) {
    const user = ctx.newUser();
    const own = Math.min(carts - done, 1 + rng.int(4));
    done += own;
    const p = hot[rng.int(hot.length)]!;
    const products = [p];
    const types = [VIEW];
    for (let i = 0; i < own; i++) {
      products.push(p);
      types.push(CART);
      if (rng.chance(0.1)) {
        products.push(p);
        types.push(REMOVE);
      }
    }
    const times = paced(rng, at + rng.next() * duration, products.length, (r) => r.range(10, 40) * SECOND);
    out.users.push(user);
    out.sessions.push(session(ctx, attack, user, times, types, products));
  }
  out.params.users = out.users.length;
  return out;
}

/**
 * One category swept by many users (distributed scraping): each views 4–10 consecutive products of
 * the category's listing, 3–9 s apart, so no user is fast, long or orderly enough for a per-user
 * rule; together they walk the whole category. Views on it: 0.1 a second at intensity 0, 3 at 1, for
 * 5–10 minutes.
 */
function distributedSweep(
  ctx: PlanContext,
  attack: number,
  at: number,
  slot: number,
  intensity: number,
): Built {
  const { rng, catalog } = ctx;
  const duration = Math.max(MINUTE, Math.min(rng.range(5, 10) * MINUTE, slot - 2 * MINUTE));
  const perSecond = towards(0.1, 3, intensity);
  const sizable = catalog.byCategory.map((g, c) => ({ n: g.products.length, c })).filter((x) => x.n >= 30);
  const pick = sizable.length > 0 ? sizable[rng.int(sizable.length)]!.c : rng.int(catalog.categories.length);
  const listing = Array.from(catalog.byCategory[pick]!.products).sort(
    (a, b) => catalog.productId[a]! - catalog.productId[b]!,
  );
  const views = Math.max(1, Math.round((perSecond * duration) / SECOND));
  const out: Built = {
    users: [],
    sessions: [],
    params: { views_per_s: round2(perSecond), category_products: listing.length },
    targets: [{ key_type: 'category', key: catalog.categories[pick]!.id }],
  };
  let cursor = rng.int(Math.max(1, listing.length));
  for (let done = 0; done < views && listing.length > 0;) {
    const user = ctx.newUser();
    const own = Math.min(views - done, 4 + rng.int(7));
    done += own;
    const products: number[] = [];
    for (let i = 0; i < own; i++) products.push(listing[cursor++ % listing.length]!);
    const times = paced(rng, at + rng.next() * duration, own, (r) => r.range(3, 9) * SECOND);
    out.users.push(user);
    out.sessions.push(session(ctx, attack, user, times, new Array<number>(own).fill(VIEW), products));
  }
  out.params.users = out.users.length;
  return out;
}

export const CONVERGING_BUILDERS: Record<
  ConvergingProfile,
  (ctx: PlanContext, attack: number, at: number, slot: number, intensity: number) => Built
> = {
  skewing,
  'item-flood': itemFlood,
  'distributed-hoard': distributedHoard,
  'distributed-sweep': distributedSweep,
};

/** Each profile's longest span (its sessions trail its start by up to a few minutes). */
export const CONVERGING_SPAN: Record<ConvergingProfile, number> = {
  skewing: 23 * MINUTE,
  'item-flood': 95 * SECOND,
  'distributed-hoard': 11 * MINUTE,
  'distributed-sweep': 12 * MINUTE,
};
