/**
 * The synthetic store: ~600 category ids (19-digit strings) with realistic dotted codes, named and
 * long-tail brands, and a product catalog whose popularity, category, brand and price mix reproduce
 * the REES46 event shares. Products are indexed by popularity rank (0 = most viewed).
 */
import { buildCategories, type Category, matches, placeProducts, planCells } from './assortment.js';
import { AliasTable, Rng, searchCumulative } from './rng.js';
import {
  EVENTS_PER_PRODUCT,
  MAX_PRODUCTS,
  MIN_PRODUCTS,
  PRICE_KNOTS,
  PRICE_LEVELS,
  ZERO_PRICE_SHARE,
} from './profile.js';

export type { Category } from './assortment.js';

/**
 * Popularity by relative rank x = rank / K: a Zipf-Mandelbrot head (x + X0)^-S_HEAD, whose local
 * exponent is ~0.9 around the top 1 % (the published ~0.88) and flattens above it so that no single
 * product dominates, then a steeper S_TAIL beyond X1. That gives "top 1 % of products get ~49 % of
 * views, top 10 % get ~83 %". The shape is relative to K and K grows with the number of events, so
 * those shares hold at any size.
 */
const POP_X0 = 0.005;
const POP_S_HEAD = 1.8;
const POP_X1 = 0.025;
const POP_S_TAIL = 1.38;

export interface Catalog {
  size: number;
  productId: Int32Array;
  category: Uint16Array;
  /** Brand index, -1 for no brand. */
  brand: Int32Array;
  cents: Int32Array;
  /** Popularity (sums to 1), descending with the index. */
  mass: Float64Array;
  categories: Category[];
  brands: string[];
  /** `product_id,category_id,category_code,brand,price` of product p: bytes fragStart[p]..fragStart[p+1]. */
  fragBytes: Buffer;
  fragStart: Int32Array;
  /** The same bytes as one view per product (copying a whole view is the fast path). */
  fragViews: Uint8Array[];
  /** Draws a product by popularity. */
  popular: AliasTable;
  /** Per category: its products and their cumulative popularity, to browse within a category. */
  byCategory: { products: Int32Array; cum: Float64Array }[];
  /** Products ordered by category then product id: the order a crawler walks the shop in. */
  sweepOrder: Int32Array;
}

function catalogSize(events: number): number {
  return Math.max(MIN_PRODUCTS, Math.min(MAX_PRODUCTS, Math.round(events / EVENTS_PER_PRODUCT)));
}

/** Interpolates a quantile curve (log-linear between knots). */
function quantile(knots: ReadonlyArray<readonly [number, number]>, u: number): number {
  if (u <= knots[0]![0]) return knots[0]![1];
  for (let i = 1; i < knots.length; i++) {
    const [u1, v1] = knots[i]!;
    if (u <= u1) {
      const [u0, v0] = knots[i - 1]!;
      const f = (u - u0) / (u1 - u0);
      return Math.exp(Math.log(v0) + f * (Math.log(v1) - Math.log(v0)));
    }
  }
  return knots[knots.length - 1]![1];
}

function popularity(k: number): Float64Array {
  const mass = new Float64Array(k);
  let sum = 0;
  const knee = Math.pow(POP_X1 + POP_X0, -POP_S_HEAD);
  for (let i = 0; i < k; i++) {
    const x = (i + 1) / k;
    const w =
      x <= POP_X1
        ? Math.pow(x + POP_X0, -POP_S_HEAD)
        : knee * Math.pow((x + POP_X0) / (POP_X1 + POP_X0), -POP_S_TAIL);
    mass[i] = w;
    sum += w;
  }
  for (let i = 0; i < k; i++) mass[i] = mass[i]! / sum;
  return mass;
}

function priceLevel(code: string | null): number {
  if (code === null) return 0;
  let best = 0;
  let bestLen = -1;
  for (const [prefix, level] of PRICE_LEVELS) {
    if (matches(code, prefix) && prefix.length > bestLen) {
      best = level;
      bestLen = prefix.length;
    }
  }
  return best || 80;
}

/** Prices whose popularity-weighted distribution is the published one, ordered by category level. */
function assignPrices(rng: Rng, mass: Float64Array, category: Uint16Array, cats: Category[]): Int32Array {
  const k = mass.length;
  const levels = cats.map((c) => priceLevel(c.code) || rng.lognormal(60, 0.8));
  const raw = new Float64Array(k);
  for (let p = 0; p < k; p++) raw[p] = levels[category[p]!]! * rng.lognormal(1, 0.7);
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => raw[a]! - raw[b]! || a - b);
  const cents = new Int32Array(k);
  let cum = 0;
  for (const p of order) {
    const u = cum + mass[p]! / 2;
    cum += mass[p]!;
    cents[p] = Math.max(1, Math.round(quantile(PRICE_KNOTS, u) * 100));
  }
  // A few products (outside the head) show price 0; they are never carted or bought.
  let zeroMass = 0;
  const headEnd = Math.ceil(k * 0.02);
  for (let tries = 0; zeroMass < ZERO_PRICE_SHARE && tries < k * 4; tries++) {
    const p = headEnd + rng.int(k - headEnd);
    if (cents[p] === 0 || mass[p]! > ZERO_PRICE_SHARE - zeroMass + 1e-4) continue;
    cents[p] = 0;
    zeroMass += mass[p]!;
  }
  return cents;
}

function newProductIds(rng: Rng, k: number): Int32Array {
  const ids = new Int32Array(k);
  const seen = new Set<number>();
  for (let p = 0; p < k; p++) {
    let id: number;
    do id = 1_000_000 + rng.int(99_000_000);
    while (seen.has(id));
    seen.add(id);
    ids[p] = id;
  }
  return ids;
}

export function buildCatalog(seed: number, events: number): Catalog {
  const rng = new Rng(seed, 1);
  const k = catalogSize(events);
  const categories = buildCategories(rng);
  const mass = popularity(k);
  const cells = planCells(rng, categories, k);
  const { category, brand } = placeProducts(rng, mass, categories, cells);
  const brandNames = cells.brands;
  const cents = assignPrices(rng, mass, category, categories);
  const productId = newProductIds(rng, k);

  const fragStart = new Int32Array(k + 1);
  const parts: string[] = new Array(k);
  for (let p = 0; p < k; p++) {
    const c = categories[category[p]!]!;
    const b = brand[p]!;
    parts[p] =
      `${productId[p]},${c.id},${c.code ?? ''},${b < 0 ? '' : brandNames[b]},${(cents[p]! / 100).toFixed(2)}`;
    fragStart[p + 1] = fragStart[p]! + parts[p]!.length;
  }
  const fragBytes = Buffer.from(parts.join(''), 'latin1');
  const fragViews = Array.from({ length: k }, (_, p) => fragBytes.subarray(fragStart[p]!, fragStart[p + 1]!));

  const members: number[][] = categories.map(() => []);
  for (let p = 0; p < k; p++) members[category[p]!]!.push(p);
  const byCategory = members.map((list) => {
    const cum = new Float64Array(list.length);
    let s = 0;
    list.forEach((p, i) => {
      s += mass[p]!;
      cum[i] = s;
    });
    return { products: Int32Array.from(list), cum };
  });
  const sweepOrder = Int32Array.from(
    Array.from({ length: k }, (_, i) => i).sort(
      (a, b) => category[a]! - category[b]! || productId[a]! - productId[b]!,
    ),
  );

  return {
    size: k,
    productId,
    category,
    brand,
    cents,
    mass,
    categories,
    brands: brandNames,
    fragBytes,
    fragStart,
    fragViews,
    popular: new AliasTable(mass),
    byCategory,
    sweepOrder,
  };
}

/** A product of the same category, by popularity. */
export function sameCategoryProduct(catalog: Catalog, product: number, rng: Rng): number {
  const group = catalog.byCategory[catalog.category[product]!]!;
  const total = group.cum[group.cum.length - 1]!;
  return group.products[searchCumulative(group.cum, rng.next() * total)]!;
}
