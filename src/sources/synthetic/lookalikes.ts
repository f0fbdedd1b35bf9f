/**
 * Human shoppers who look a bit like bots (see humans.ts for their shares and the other kinds):
 * comparison shoppers and bulk buyers. Unlabelled: the false positives a detector has to live with.
 */
import type { Catalog } from './catalog.js';
import { sameCategoryProduct } from './catalog.js';
import type { Rng } from './rng.js';
import { CART, PURCHASE, SECOND, type SimSession, VIEW, wholeSecond } from './session.js';

/** Comparison shoppers: 10-30 views of distinct products of one category, 2-8 s apart (irregular). */
export const COMPARISON_SESSION_SHARE = 0.004;
const COMPARISON_VIEWS: readonly [number, number] = [10, 30];
const COMPARISON_GAP_S: readonly [number, number] = [2, 8];
/** …of whom some cart one of the products at the end. */
const COMPARISON_CART = 0.2;
/** Bulk buyers: 4-10 cart adds (each after a view of the product) within 1-3 minutes, then a purchase. */
export const BULK_SESSION_SHARE = 0.001;
const BULK_CARTS: readonly [number, number] = [4, 10];
const BULK_SPAN_S: readonly [number, number] = [60, 180];
/** Bulk buyers' gaps between items (log-normal σ, as human gaps) and checkout time, seconds. */
const BULK_GAP_SIGMA = 0.8;
const BULK_CHECKOUT_S: readonly [number, number] = [10, 90];

/** Mean events of each kind's session (for the arrival rate). */
export const COMPARISON_MEAN_SIZE = (COMPARISON_VIEWS[0] + COMPARISON_VIEWS[1]) / 2 + COMPARISON_CART;
export const BULK_MEAN_SIZE = 3 * ((BULK_CARTS[0] + BULK_CARTS[1]) / 2);

/** A comparison shopper: distinct products of one category, viewed 2-8 s apart; maybe a cart at the end. */
export function fillComparison(s: SimSession, start: number, rng: Rng, cat: Catalog, skip: boolean): boolean {
  let n = rng.intIn(COMPARISON_VIEWS[0], COMPARISON_VIEWS[1]);
  const cartAtEnd = rng.chance(COMPARISON_CART);
  if (skip) return false;
  let first = cat.popular.sample(rng);
  for (let tries = 0; tries < 20 && cat.byCategory[cat.category[first]!]!.products.length < n; tries++)
    first = cat.popular.sample(rng);
  const group = cat.byCategory[cat.category[first]!]!.products;
  n = Math.min(n, group.length);
  const seen = new Set<number>([first]);
  const { types, products, times } = s;
  let len = 0;
  let t = start;
  let p = first;
  for (let v = 0; v < n; v++) {
    if (v > 0) {
      p = sameCategoryProduct(cat, first, rng);
      for (let tries = 0; seen.has(p) && tries < 20; tries++) p = sameCategoryProduct(cat, first, rng);
      for (let k = 0; seen.has(p) && k < group.length; k++) p = group[k]!;
      seen.add(p);
      t += rng.range(COMPARISON_GAP_S[0], COMPARISON_GAP_S[1]) * SECOND;
    }
    types[len] = VIEW;
    products[len] = p;
    times[len++] = wholeSecond(t);
  }
  if (cartAtEnd) {
    const chosen = products[rng.int(len)]!;
    if (cat.cents[chosen]! > 0) {
      t += rng.range(5, 30) * SECOND;
      types[len] = CART;
      products[len] = chosen;
      times[len++] = wholeSecond(t);
    }
  }
  s.len = len;
  return true;
}

/** A bulk buyer: 4-10 products viewed and carted within 1-3 minutes, then bought together. */
export function fillBulk(s: SimSession, start: number, rng: Rng, cat: Catalog, skip: boolean): boolean {
  const k = rng.intIn(BULK_CARTS[0], BULK_CARTS[1]);
  if (skip) return false;
  const { types, products, times } = s;
  const items: number[] = [];
  for (let tries = 0; items.length < k && tries < 50 * k; tries++) {
    const p = cat.popular.sample(rng);
    if (cat.cents[p]! > 0 && !items.includes(p)) items.push(p);
  }
  // View → cart 2-8 s; the rest of the 1-3 minutes is spread irregularly between the items.
  const viewToCart = items.map(() => rng.range(2, 8) * SECOND);
  const between = items.slice(1).map(() => rng.lognormal(1, BULK_GAP_SIGMA));
  const rest = Math.max(
    0,
    rng.range(BULK_SPAN_S[0], BULK_SPAN_S[1]) * SECOND - viewToCart.reduce((a, b) => a + b, 0),
  );
  const weight = between.reduce((a, b) => a + b, 0) || 1;
  let len = 0;
  let t = start;
  items.forEach((p, i) => {
    if (i > 0) t += Math.max(SECOND, (rest * between[i - 1]!) / weight);
    types[len] = VIEW;
    products[len] = p;
    times[len++] = wholeSecond(t);
    t += viewToCart[i]!;
    types[len] = CART;
    products[len] = p;
    times[len++] = wholeSecond(t);
  });
  t += rng.range(BULK_CHECKOUT_S[0], BULK_CHECKOUT_S[1]) * SECOND;
  for (const p of items) {
    types[len] = PURCHASE;
    products[len] = p;
    times[len++] = wholeSecond(t);
    t += rng.range(1, 4) * SECOND;
  }
  s.len = len;
  return true;
}
